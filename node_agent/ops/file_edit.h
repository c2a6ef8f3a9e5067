// FileEdit: how every mutating operation of the agent changes one file, so that each
// reports the same ChangeReport (path, changed, diff, backup) and behaves the same on a
// dry run: compare the wanted content, owner and mode with what is there; write only
// when something differs, atomically, keeping the previous version as a backup.
//
//   FileEdit edit;
//   edit.path = "/etc/hosts";
//   edit.content = new_text;
//   absl::StatusOr<v1::ChangeReport> change = ApplyFileEdit(env, edit, request.dry_run());
//
// A FileSnapshot taken before a risky change (sshd drop-in, netplan file) restores the
// file exactly as it was, or removes it when it did not exist, when the change must be
// rolled back.
#ifndef SPARKFLEET_NODE_AGENT_OPS_FILE_EDIT_H_
#define SPARKFLEET_NODE_AGENT_OPS_FILE_EDIT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/env.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

struct FileEdit {
  std::string path;     // node path, e.g. "/etc/hosts"
  std::string content;  // the whole wanted content
  // Mode and, when set, owner the file must have; `backup` keeps the old version.
  WriteOptions options;
  // The diff shows "<redacted>" instead of the lines (private keys, auth keys).
  bool redact_diff = false;
};

// Compares and, unless `dry_run` or nothing differs, writes. The report's diff is set
// whenever the content differs (also on dry runs); `changed` is also true when only the
// mode or owner differ. FAILED_PRECONDITION when the parent directory is missing; other
// errors are the Env's.
[[nodiscard]] absl::StatusOr<v1::ChangeReport> ApplyFileEdit(Env& env, const FileEdit& edit,
                                                             bool dry_run);

// A file as it was: content and mode/owner, or absent.
struct FileSnapshot {
  std::string path;
  std::optional<std::string> content;  // nullopt: the file did not exist
  FileInfo info;
};

[[nodiscard]] absl::StatusOr<FileSnapshot> TakeSnapshot(Env& env, const std::string& path);

// Puts the file back as the snapshot saw it (no backup of the state being undone), or
// removes it when it did not exist.
[[nodiscard]] absl::Status RestoreSnapshot(Env& env, const FileSnapshot& snapshot);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_FILE_EDIT_H_
