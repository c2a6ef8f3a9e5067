#include "node_agent/ops/nfs_share.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/managed_block.h"
#include "common/unified_diff.h"
#include "node_agent/ops/file_edit.h"

namespace sparkfleet {
namespace {

constexpr absl::Duration kExportfsTimeout = absl::Seconds(60);
// A mount of an unreachable server retries for minutes; give up before the caller's
// deadline and say so.
constexpr absl::Duration kMountTimeout = absl::Seconds(90);
constexpr size_t kMaxStderrBytes = 1000;

using Cancelled = std::function<bool()>;

std::string ReadOrEmpty(Env& env, absl::string_view path) {
  return env.ReadFile(path).value_or("");
}

// Runs `argv`; OK, or what failed with the end of its stderr.
absl::Status RunTool(ProcessRunner& runner, const std::vector<std::string>& argv,
                     absl::Duration timeout, const Cancelled& cancelled) {
  ProcessOptions options;
  options.timeout = timeout;
  if (cancelled) options.cancelled = cancelled;
  const std::string shown = absl::StrJoin(argv, " ");
  absl::StatusOr<ProcessResult> result = runner.Run(argv, options);
  if (!result.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("`", shown, "` could not start: ", result.status().message()));
  }
  if (result->ok()) return absl::OkStatus();
  std::string what = absl::StrCat("`", shown, "` failed (", result->Describe(), ")");
  absl::string_view err = absl::StripAsciiWhitespace(result->stderr_text);
  if (err.size() > kMaxStderrBytes) err = err.substr(err.size() - kMaxStderrBytes);
  if (!err.empty()) absl::StrAppend(&what, ": ", err);
  if (result->cancelled) return absl::CancelledError(what);
  return result->timed_out ? absl::UnavailableError(what) : absl::FailedPreconditionError(what);
}

absl::Status Installed(ProcessRunner& runner, const std::string& program,
                       absl::string_view package) {
  if (runner.Find(program).ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("ConfigureNfs: `", program, "` is not on the agent's PATH; install ", package));
}

// Makes `dir` (0755) unless it is there; reports a directory made (or that would be).
absl::StatusOr<std::optional<v1::ChangeReport>> EnsureDirectory(Env& env, const std::string& dir,
                                                                bool dry_run) {
  absl::StatusOr<FileInfo> info = env.Stat(dir);
  if (info.ok() && info->is_dir) return std::optional<v1::ChangeReport>();
  if (info.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("ConfigureNfs: ", dir, " exists and is not a directory"));
  }
  if (!absl::IsNotFound(info.status())) return info.status();
  if (!dry_run) {
    if (absl::Status made = env.MakeDirs(dir, 0755); !made.ok()) return made;
  }
  v1::ChangeReport made;
  made.set_path(dir);
  made.set_changed(true);
  return std::optional<v1::ChangeReport>(std::move(made));
}

// ApplyFileEdit, making the parent directory (0755) when it is missing.
absl::StatusOr<v1::ChangeReport> EditMakingParent(Env& env, const FileEdit& edit, bool dry_run) {
  const std::string parent = edit.path.substr(0, edit.path.rfind('/'));
  if (!env.Exists(parent)) {
    if (dry_run) {
      v1::ChangeReport report;
      report.set_path(edit.path);
      report.set_changed(true);
      report.set_diff(UnifiedDiff("", edit.content, "/dev/null", edit.path));
      return report;
    }
    if (absl::Status made = env.MakeDirs(parent, 0755); !made.ok()) return made;
  }
  return ApplyFileEdit(env, edit, dry_run);
}

// After a failed `exportfs -ra`: puts the previous exports file back (or removes ours)
// and re-exports; says how that went.
std::string RestoreExports(Env& env, ProcessRunner& runner, const FileSnapshot& before) {
  const std::string undone =
      before.content ? absl::StrCat("the previous ", kNfsExportsPath, " was put back")
                     : absl::StrCat(kNfsExportsPath, " was removed (there was none before)");
  if (absl::Status restored = RestoreSnapshot(env, before); !restored.ok()) {
    return absl::StrCat("; putting the previous ", kNfsExportsPath,
                        " back FAILED: ", restored.message());
  }
  absl::Status again = RunTool(runner, {"exportfs", "-ra"}, kExportfsTimeout, nullptr);
  return again.ok()
             ? absl::StrCat("; ", undone, " and `exportfs -ra` ran again")
             : absl::StrCat("; ", undone, ", but `exportfs -ra` failed again: ", again.message());
}

absl::StatusOr<v1::ConfigureNfsReply> Export(Env& env, ProcessRunner& runner,
                                             const v1::ConfigureNfsRequest& request) {
  const bool dry_run = request.dry_run();
  FileEdit edit;
  edit.path = kNfsExportsPath;
  edit.content = RenderNfsExports(request);
  absl::StatusOr<FileSnapshot> before = TakeSnapshot(env, kNfsExportsPath);
  if (!before.ok()) return before.status();
  const bool file_differs = before->content != edit.content;
  const bool exported = EtabListsExport(ReadOrEmpty(env, kNfsEtabPath), request.export_path());
  const bool run = !dry_run && (file_differs || !exported);
  if (run) {
    if (absl::Status s = Installed(runner, "exportfs", "nfs-kernel-server"); !s.ok()) return s;
  }
  auto directory = EnsureDirectory(env, request.export_path(), dry_run);
  if (!directory.ok()) return directory.status();
  absl::StatusOr<v1::ChangeReport> change = EditMakingParent(env, edit, dry_run);
  if (!change.ok()) return change.status();
  v1::ConfigureNfsReply reply;
  *reply.add_changes() = *std::move(change);
  if (*directory) *reply.add_changes() = **directory;
  reply.set_active(exported);
  if (!run) return reply;

  absl::Status done = RunTool(runner, {"exportfs", "-ra"}, kExportfsTimeout, nullptr);
  if (!done.ok()) {
    std::string outcome;
    if (file_differs) outcome = RestoreExports(env, runner, *before);
    absl::Status failed(done.code(), absl::StrCat("ConfigureNfs: ", done.message(), outcome));
    LogWarning(failed.message());
    return failed;
  }
  reply.set_active(EtabListsExport(ReadOrEmpty(env, kNfsEtabPath), request.export_path()));
  return reply;
}

// The number of the first fstab line in `text` (outside our block) that mounts
// `mount_point`, or 0.
int FstabLineMounting(absl::string_view text, absl::string_view mount_point) {
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() >= 2 && fields[1] == mount_point) return number;
  }
  return 0;
}

// The wanted /etc/fstab, or why the mount point is taken.
absl::StatusOr<FileEdit> FstabEdit(const FileSnapshot& before,
                                   const v1::ConfigureNfsRequest& request) {
  const std::string old = before.content.value_or("");
  absl::StatusOr<std::string> others = ReplaceManagedBlock(old, "");
  if (!others.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("ConfigureNfs: ", kFstabPath, ": ", others.status().message()));
  }
  if (int line = FstabLineMounting(*others, request.mount_point()); line != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ConfigureNfs: ", request.mount_point(), " is already mounted by an ", kFstabPath,
        " line of its own (line ", line, " outside the sparkfleet block); remove that line"));
  }
  absl::StatusOr<std::string> text = ReplaceManagedBlock(old, RenderNfsFstabLine(request));
  if (!text.ok()) return text.status();
  FileEdit edit;
  edit.path = kFstabPath;
  edit.content = *std::move(text);
  if (before.content) {  // keep the file's own mode and owner
    edit.options.mode = before.info.mode & 07777;
    edit.options.uid = before.info.uid;
    edit.options.gid = before.info.gid;
  }
  return edit;
}

absl::StatusOr<v1::ConfigureNfsReply> Mount(Env& env, ProcessRunner& runner,
                                            const v1::ConfigureNfsRequest& request,
                                            const Cancelled& cancelled) {
  const bool dry_run = request.dry_run();
  const std::string& mount_point = request.mount_point();
  // A root without /proc/mounts (a sandbox) has nothing mounted.
  std::optional<std::string> mounted = MountedFrom(ReadOrEmpty(env, kProcMountsPath), mount_point);
  if (mounted && *mounted != NfsMountSource(request)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ConfigureNfs: ", mount_point, " is mounted from ", *mounted, ", not ",
        NfsMountSource(request), "; unmount it (umount ", mount_point, ") and run again"));
  }
  absl::StatusOr<FileSnapshot> before = TakeSnapshot(env, kFstabPath);
  if (!before.ok()) return before.status();
  absl::StatusOr<FileEdit> edit = FstabEdit(*before, request);
  if (!edit.ok()) return edit.status();
  const bool run = !dry_run && !mounted;
  if (run) {
    if (absl::Status s = Installed(runner, "mount", "nfs-common (mount.nfs)"); !s.ok()) return s;
  }
  auto directory = EnsureDirectory(env, mount_point, dry_run);
  if (!directory.ok()) return directory.status();
  absl::StatusOr<v1::ChangeReport> change = ApplyFileEdit(env, *edit, dry_run);
  if (!change.ok()) return change.status();
  v1::ConfigureNfsReply reply;
  *reply.add_changes() = *std::move(change);
  if (*directory) *reply.add_changes() = **directory;
  reply.set_active(mounted.has_value());
  if (!run) return reply;

  absl::Status done = RunTool(runner, {"mount", mount_point}, kMountTimeout, cancelled);
  if (!done.ok()) {
    std::string outcome;
    if (before->content != edit->content) {  // leave no entry that fails at the next boot
      absl::Status restored = RestoreSnapshot(env, *before);
      outcome = restored.ok()
                    ? absl::StrCat("; ", kFstabPath, " was put back as it was")
                    : absl::StrCat("; putting ", kFstabPath, " back FAILED: ", restored.message());
    }
    absl::Status failed(done.code(), absl::StrCat("ConfigureNfs: ", done.message(), outcome));
    LogWarning(failed.message());
    return failed;
  }
  reply.set_active(true);
  return reply;
}

}  // namespace

absl::StatusOr<v1::ConfigureNfsReply> ConfigureNfs(Env& env, ProcessRunner& runner,
                                                   const v1::ConfigureNfsRequest& request,
                                                   const std::function<bool()>& cancelled) {
  if (request.role() == v1::NFS_ROLE_SERVER) return Export(env, runner, request);
  return Mount(env, runner, request, cancelled);
}

}  // namespace sparkfleet
