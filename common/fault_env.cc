#include "common/fault_env.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"

namespace sparkfleet {
namespace {

// "/etc/ssh/x" is at or under "/etc/ssh" and "/"; "/etc/sshd" is not under "/etc/ssh".
bool AtOrUnder(absl::string_view path, absl::string_view dir) {
  if (dir == "/") return true;
  return path == dir || (absl::StartsWith(path, dir) && path[dir.size()] == '/');
}

}  // namespace

FaultEnv::FaultEnv(Env& base) : base_(base) {}

void FaultEnv::SetFreeBytes(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  free_bytes_ = bytes;
}

void FaultEnv::SetReadOnly(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  absl::MutexLock lock(&mu_);
  read_only_.push_back(std::move(dir));
}

void FaultEnv::FailNth(Op op, int nth, int errno_value) {
  absl::MutexLock lock(&mu_);
  pending_[{op, calls_[op] + nth}] = errno_value;
}

void FaultEnv::ClearFaults() {
  absl::MutexLock lock(&mu_);
  free_bytes_ = -1;
  read_only_.clear();
  pending_.clear();
}

int FaultEnv::calls(Op op) const {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

int FaultEnv::Check(Op op, absl::string_view path, bool mutates) {
  absl::MutexLock lock(&mu_);
  const int call = ++calls_[op];
  if (auto it = pending_.find({op, call}); it != pending_.end()) {
    const int errno_value = it->second;
    pending_.erase(it);
    return errno_value;
  }
  if (!mutates) return 0;
  for (const std::string& dir : read_only_) {
    if (AtOrUnder(path, dir)) return EROFS;
  }
  return 0;
}

bool FaultEnv::ReadOnly(absl::string_view path) const {
  absl::MutexLock lock(&mu_);
  for (const std::string& dir : read_only_) {
    if (AtOrUnder(path, dir)) return true;
  }
  return false;
}

bool FaultEnv::HasRoom(int64_t bytes) const {
  absl::MutexLock lock(&mu_);
  return free_bytes_ < 0 || bytes <= free_bytes_;
}

void FaultEnv::Use(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (free_bytes_ >= 0) free_bytes_ = std::max<int64_t>(0, free_bytes_ - bytes);
}

absl::StatusOr<std::string> FaultEnv::ReadFile(absl::string_view path) {
  if (int error = Check(Op::kRead, path, /*mutates=*/false); error != 0) {
    return ErrnoStatus(error, absl::StrCat("open ", path));
  }
  return base_.ReadFile(path);
}

absl::StatusOr<std::string> FaultEnv::WriteFileAtomic(absl::string_view path,
                                                      absl::string_view contents,
                                                      const WriteOptions& options) {
  // As the real Env: a symlinked file is replaced where it points.
  absl::StatusOr<FileInfo> link = base_.Lstat(path);
  if (link.ok() && link->is_symlink) {
    absl::StatusOr<std::string> target = base_.RealPath(path);
    if (target.ok() && *target != path) return WriteFileAtomic(*target, contents, options);
  }
  WriteOptions plain = options;
  plain.backup = false;
  std::string backup;
  if (options.backup) {
    absl::StatusOr<std::string> old = ReadFile(path);
    if (old.ok()) {
      backup = BackupPathFor(path);
      absl::Status kept =
          Replace(path, backup, absl::StrCat("keeping the backup ", backup, ": "), *old, plain);
      if (!kept.ok()) return kept;
    } else if (!absl::IsNotFound(old.status())) {
      return absl::Status(old.status().code(),
                          absl::StrCat("cannot write ", path, " (reading it to keep a backup: ",
                                       old.status().message(), "); ", path, " is unchanged"));
    }
  }
  absl::Status written = Replace(path, path, "", contents, plain);
  if (!written.ok()) return written;
  return backup;
}

absl::Status FaultEnv::Replace(absl::string_view path, absl::string_view target,
                               absl::string_view step_prefix, absl::string_view contents,
                               const WriteOptions& options) {
  auto failed = [&](absl::string_view step, int errno_value) {
    return FileWriteError(path, absl::StrCat(step_prefix, step), errno_value);
  };
  const int64_t size = static_cast<int64_t>(contents.size());
  if (int error = Check(Op::kCreate, target, /*mutates=*/true); error != 0) {
    return failed("creating a temp file", error);
  }
  if (int error = Check(Op::kWrite, target, /*mutates=*/false); error != 0) {
    return failed("writing", error);
  }
  if (!HasRoom(size)) return failed("writing", ENOSPC);
  if (int error = Check(Op::kSync, target, /*mutates=*/false); error != 0) {
    return failed("fsync", error);
  }
  if (int error = Check(Op::kRename, target, /*mutates=*/true); error != 0) {
    return failed("renaming the temp file into place", error);
  }
  // The real Env renames over the name, so a link planted there is replaced, not
  // followed; the base's WriteFileAtomic would follow it.
  absl::StatusOr<FileInfo> existing = base_.Lstat(target);
  if (target != path && existing.ok() && existing->is_symlink) {
    if (absl::Status removed = base_.RemoveFile(target); !removed.ok()) return removed;
  }
  absl::StatusOr<std::string> replaced = base_.WriteFileAtomic(target, contents, options);
  if (!replaced.ok()) return replaced.status();
  Use(size);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultEnv::ListDir(absl::string_view path) {
  return base_.ListDir(path);
}

absl::StatusOr<std::string> FaultEnv::ReadLink(absl::string_view path) {
  return base_.ReadLink(path);
}

absl::StatusOr<std::string> FaultEnv::RealPath(absl::string_view path) {
  return base_.RealPath(path);
}

absl::StatusOr<FileInfo> FaultEnv::Stat(absl::string_view path) { return base_.Stat(path); }

absl::StatusOr<FileInfo> FaultEnv::Lstat(absl::string_view path) { return base_.Lstat(path); }

absl::Status FaultEnv::MakeDirs(absl::string_view path, mode_t mode) {
  if (int error = Check(Op::kMakeDirs, path, /*mutates=*/false); error != 0) {
    return ErrnoStatus(error, absl::StrCat("mkdir ", path));
  }
  // mkdir(2) says EEXIST before EROFS: only a missing directory makes it fail.
  std::string node;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&node, "/", part);
    if (ReadOnly(node) && !base_.Lstat(node).ok()) {
      return ErrnoStatus(EROFS, absl::StrCat("mkdir ", node));
    }
  }
  return base_.MakeDirs(path, mode);
}

absl::Status FaultEnv::RemoveFile(absl::string_view path) {
  if (int error = Check(Op::kRemove, path, /*mutates=*/false); error != 0) {
    return ErrnoStatus(error, absl::StrCat("remove ", path));
  }
  // unlink(2) of a name that does not exist says ENOENT (which is OK) before EROFS.
  if (ReadOnly(path) && base_.Lstat(path).ok()) {
    return ErrnoStatus(EROFS, absl::StrCat("remove ", path));
  }
  return base_.RemoveFile(path);
}

absl::Status FaultEnv::SetOwnerAndMode(absl::string_view path, mode_t mode,
                                       std::optional<uid_t> uid, std::optional<gid_t> gid) {
  int error = Check(Op::kSetOwnerAndMode, path, /*mutates=*/false);
  if (error == 0 && ReadOnly(path)) {
    // The real Env refuses a missing file or a link before it changes anything.
    absl::StatusOr<FileInfo> info = base_.Lstat(path);
    if (!info.ok() || info->is_symlink) return base_.SetOwnerAndMode(path, mode, uid, gid);
    error = EROFS;
  }
  if (error != 0) {
    return ErrnoStatus(error, absl::StrCat(uid || gid ? "chown " : "chmod ", path));
  }
  return base_.SetOwnerAndMode(path, mode, uid, gid);
}

std::string FaultEnv::HostPath(absl::string_view path) const { return base_.HostPath(path); }

const std::string& FaultEnv::root() const { return base_.root(); }

}  // namespace sparkfleet
