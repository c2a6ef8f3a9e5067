#include "node_agent/ops/file_edit.h"

#include "absl/strings/str_cat.h"
#include "common/unified_diff.h"

namespace sparkfleet {
namespace {

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

bool OwnerOrModeDiffers(const FileInfo& info, const WriteOptions& options) {
  if ((info.mode & 07777) != (options.mode & 07777)) return true;
  if (options.uid && info.uid != *options.uid) return true;
  return options.gid && info.gid != *options.gid;
}

std::string RedactedDiff(const std::string& path, bool existed) {
  return absl::StrCat("--- ", existed ? path : "/dev/null", "\n+++ ", path,
                      "\n@@ content not shown @@\n-<redacted>\n+<redacted>\n");
}

}  // namespace

absl::StatusOr<v1::ChangeReport> ApplyFileEdit(Env& env, const FileEdit& edit, bool dry_run) {
  const std::string parent = ParentOf(edit.path);
  absl::StatusOr<FileInfo> dir = env.Stat(parent);
  if (!dir.ok() || !dir->is_dir) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", edit.path, ": directory ", parent, " does not exist"));
  }
  absl::StatusOr<std::string> old = env.ReadFile(edit.path);
  if (!old.ok() && !absl::IsNotFound(old.status())) return old.status();
  const bool existed = old.ok();
  const std::string old_text = existed ? *old : "";

  v1::ChangeReport report;
  report.set_path(edit.path);
  bool differs = !existed || old_text != edit.content;
  if (differs) {
    report.set_diff(edit.redact_diff ? RedactedDiff(edit.path, existed)
                                     : UnifiedDiff(old_text, edit.content,
                                                   existed ? edit.path : "/dev/null", edit.path));
  }
  if (existed && !differs) {
    absl::StatusOr<FileInfo> info = env.Stat(edit.path);
    if (!info.ok()) return info.status();
    differs = OwnerOrModeDiffers(*info, edit.options);
  }
  report.set_changed(differs);
  if (!differs || dry_run) return report;
  absl::StatusOr<std::string> backup = env.WriteFileAtomic(edit.path, edit.content, edit.options);
  if (!backup.ok()) return backup.status();
  report.set_backup_path(*backup);
  return report;
}

absl::StatusOr<FileSnapshot> TakeSnapshot(Env& env, const std::string& path) {
  FileSnapshot snapshot;
  snapshot.path = path;
  absl::StatusOr<std::string> content = env.ReadFile(path);
  if (absl::IsNotFound(content.status())) return snapshot;
  if (!content.ok()) return content.status();
  absl::StatusOr<FileInfo> info = env.Stat(path);
  if (!info.ok()) return info.status();
  snapshot.content = *std::move(content);
  snapshot.info = *info;
  return snapshot;
}

absl::Status RestoreSnapshot(Env& env, const FileSnapshot& snapshot) {
  if (!snapshot.content) return env.RemoveFile(snapshot.path);
  WriteOptions options;
  options.mode = snapshot.info.mode & 07777;
  options.uid = snapshot.info.uid;
  options.gid = snapshot.info.gid;
  options.backup = false;
  absl::StatusOr<std::string> written =
      env.WriteFileAtomic(snapshot.path, *snapshot.content, options);
  return written.status();
}

}  // namespace sparkfleet
