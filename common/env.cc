#include "common/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"

namespace sparkfleet {
namespace {

constexpr int kMaxSymlinks = 40;

std::vector<std::string> SplitPath(absl::string_view path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

std::string JoinNodePath(const std::vector<std::string>& parts) {
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

FileInfo FromStat(const struct stat& st) {
  FileInfo info;
  info.is_dir = S_ISDIR(st.st_mode);
  info.is_symlink = S_ISLNK(st.st_mode);
  info.mode = st.st_mode & 07777;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.size_bytes = st.st_size;
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  info.inode = st.st_ino;
  return info;
}

// Closes a descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Writes all of `data`; 0, or the errno of the write that failed (ENOSPC part way
// through on a full disk).
int WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// The step of replacing a file that failed, for FileWriteError.
struct StepFailure {
  std::string step;
  int errno_value = 0;
};

constexpr char kTempMarker[] = ".sparkfleet-tmp.";

// ".sparkfleet-tmp.PID.RANDOM": the writer's PID tells a later writer whether the file
// can still be renamed into place or was left by a writer that died.
std::string TempSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrCat(kTempMarker, getpid(), ".", rng() % 1000000000ULL);
}

// Removes the temp files of `base` in the directory `dir_fd` that a writer killed between
// creating and renaming them (kill -9, OOM, power loss) left behind: those whose PID is
// no longer running. Temps of this process or of a running one are kept. Best effort: a
// temp that stays is clutter, never a wrong file.
void RemoveStaleTemps(int dir_fd, const std::string& base) {
  int fd = dup(dir_fd);
  if (fd < 0) return;
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return;
  }
  rewinddir(dir);
  const std::string prefix = base + kTempMarker;
  std::vector<std::string> stale;
  while (struct dirent* entry = readdir(dir)) {
    absl::string_view name = entry->d_name;
    if (!absl::ConsumePrefix(&name, prefix)) continue;
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name.substr(0, name.find('.')), &pid) || pid <= 0) continue;
    if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;
    stale.emplace_back(entry->d_name);
  }
  closedir(dir);
  for (const std::string& name : stale) unlinkat(dir_fd, name.c_str(), 0);
}

// The parent directory and last component of a node path ("/etc/hosts" -> "/etc",
// "hosts"); the root's parent is itself.
std::pair<std::string, std::string> SplitParent(absl::string_view path) {
  std::vector<std::string> parts = SplitPath(path);
  if (parts.empty()) return {"/", "."};
  std::string base = parts.back();
  parts.pop_back();
  return {JoinNodePath(parts), base};
}

// Paths are resolved by the kernel with openat2(RESOLVE_IN_ROOT): symlinks and ".." are
// scoped to the root directory in one system call, the way a chroot would see them.
// Where openat2 is missing (Linux < 5.6) the same walk is done in user space.
class RootedEnv final : public Env {
 public:
  explicit RootedEnv(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    if (root_ != "/") root_fd_ = open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  ~RootedEnv() override {
    if (root_fd_ >= 0) close(root_fd_);
  }

  absl::StatusOr<std::string> ReadFile(absl::string_view path) override {
    FdCloser fd(OpenInRoot(path, O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus(errno, absl::StrCat("open ", path));
    std::string out;
    char buf[16384];
    while (true) {
      ssize_t n = read(fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, absl::StrCat("read ", path));
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  absl::StatusOr<std::string> WriteFileAtomic(absl::string_view path, absl::string_view contents,
                                              const WriteOptions& options) override {
    // A symlinked config file (/etc/resolv.conf -> ../run/...) is updated where it points,
    // inside the root, and stays a link.
    absl::StatusOr<FileInfo> link = Lstat(path);
    if (link.ok() && link->is_symlink) {
      absl::StatusOr<std::string> target = RealPath(path);
      if (target.ok() && *target != path) return WriteFileAtomic(*target, contents, options);
    }
    std::string backup;
    if (options.backup) {
      absl::StatusOr<std::string> old = ReadFile(path);
      if (old.ok()) {
        WriteOptions backup_options = options;
        backup_options.backup = false;
        backup = BackupPathFor(path);
        // Replaced like the file itself, never written through: a link planted at the
        // backup's name (~/.ssh/authorized_keys.sparkfleet.bak -> /etc/shadow) is
        // replaced by a regular file, not followed.
        if (std::optional<StepFailure> failed = Replace(backup, *old, backup_options)) {
          return FileWriteError(path,
                                absl::StrCat("keeping the backup ", backup, ": ", failed->step),
                                failed->errno_value);
        }
      } else if (!absl::IsNotFound(old.status())) {
        return absl::Status(old.status().code(),
                            absl::StrCat("cannot write ", path, " (reading it to keep a backup: ",
                                         old.status().message(), "); ", path, " is unchanged"));
      }
    }
    if (std::optional<StepFailure> failed = Replace(path, contents, options)) {
      return FileWriteError(path, failed->step, failed->errno_value);
    }
    return backup;
  }

  absl::StatusOr<std::vector<std::string>> ListDir(absl::string_view path) override {
    int fd = OpenInRoot(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, absl::StrCat("list ", path));
    DIR* dir = fdopendir(fd);
    if (dir == nullptr) {
      absl::Status s = ErrnoStatus(errno, absl::StrCat("list ", path));
      close(fd);
      return s;
    }
    std::vector<std::string> names;
    while (struct dirent* entry = readdir(dir)) {
      absl::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::StatusOr<std::string> ReadLink(absl::string_view path) override {
    auto [parent, base] = SplitParent(path);
    FdCloser dir(OpenInRoot(parent, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return ErrnoStatus(errno, absl::StrCat("readlink ", path));
    char buf[4096];
    ssize_t n = readlinkat(dir.get(), base.c_str(), buf, sizeof buf);
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("readlink ", path));
    return std::string(buf, static_cast<size_t>(n));
  }

  absl::StatusOr<std::string> RealPath(absl::string_view path) override {
    if (root_fd_ < 0 && root_ != "/") return Resolve(path, /*follow_last=*/true);
    FdCloser fd(OpenInRoot(path, O_PATH | O_CLOEXEC));
    if (fd.get() < 0) return Resolve(path, /*follow_last=*/true);
    char buf[4096];
    std::string proc = absl::StrCat("/proc/self/fd/", fd.get());
    ssize_t n = readlink(proc.c_str(), buf, sizeof buf);
    if (n < 0) return Resolve(path, /*follow_last=*/true);
    std::string host(buf, static_cast<size_t>(n));
    if (root_ == "/") return host;
    if (host == root_) return std::string("/");
    if (!absl::StartsWith(host, root_ + "/")) return Resolve(path, /*follow_last=*/true);
    return host.substr(root_.size());
  }

  absl::StatusOr<FileInfo> Stat(absl::string_view path) override {
    FdCloser fd(OpenInRoot(path, O_PATH | O_CLOEXEC));
    struct stat st;
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0) {
      return ErrnoStatus(errno, absl::StrCat("stat ", path));
    }
    return FromStat(st);
  }

  absl::StatusOr<FileInfo> Lstat(absl::string_view path) override {
    auto [parent, base] = SplitParent(path);
    FdCloser dir(OpenInRoot(parent, O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat st;
    if (dir.get() < 0 || fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, absl::StrCat("lstat ", path));
    }
    return FromStat(st);
  }

  absl::Status MakeDirs(absl::string_view path, mode_t mode) override {
    std::string node;
    for (const std::string& part : SplitPath(path)) {
      FdCloser dir(OpenInRoot(node.empty() ? "/" : node, O_PATH | O_DIRECTORY | O_CLOEXEC));
      node += "/" + part;
      if (dir.get() < 0) return ErrnoStatus(errno, absl::StrCat("mkdir ", node));
      if (mkdirat(dir.get(), part.c_str(), mode) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, absl::StrCat("mkdir ", node));
      }
    }
    absl::StatusOr<FileInfo> info = Stat(path);
    if (!info.ok()) return info.status();
    if (!info->is_dir) {
      return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }

  absl::Status RemoveFile(absl::string_view path) override {
    auto [parent, base] = SplitParent(path);
    FdCloser dir(OpenInRoot(parent, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) {
      if (errno == ENOENT) return absl::OkStatus();
      return ErrnoStatus(errno, absl::StrCat("remove ", path));
    }
    if (unlinkat(dir.get(), base.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("remove ", path));
    }
    return absl::OkStatus();
  }

  absl::Status SetOwnerAndMode(absl::string_view path, mode_t mode, std::optional<uid_t> uid,
                               std::optional<gid_t> gid) override {
    // Lstat first: where openat2 is missing OpenInRoot resolves the final link itself.
    absl::StatusOr<FileInfo> link = Lstat(path);
    if (!link.ok()) return link.status();
    FdCloser fd(OpenInRoot(path, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0) {
      return ErrnoStatus(errno, absl::StrCat("open ", path));
    }
    if (link->is_symlink || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
      return absl::FailedPreconditionError(
          absl::StrCat(path,
                       " is a symlink or a special file; refusing to change its owner or "
                       "mode; replace it with a regular file or directory"));
    }
    if ((uid || gid) && fchownat(fd.get(), "", uid.value_or(static_cast<uid_t>(-1)),
                                 gid.value_or(static_cast<gid_t>(-1)), AT_EMPTY_PATH) != 0) {
      return ErrnoStatus(errno, absl::StrCat("chown ", path));
    }
    // fchmod refuses an O_PATH descriptor; its /proc link does not (glibc's fchmodat
    // fallback does the same).
    std::string proc = absl::StrCat("/proc/self/fd/", fd.get());
    if (chmod(proc.c_str(), mode & 07777) != 0) {
      return ErrnoStatus(errno, absl::StrCat("chmod ", path));
    }
    return absl::OkStatus();
  }

  std::string HostPath(absl::string_view path) const override {
    // Resolution failures (a symlink loop) fall back to the lexical path; the program
    // given it then reports the problem.
    absl::StatusOr<std::string> node = Resolve(path, /*follow_last=*/true);
    std::string node_path = node.ok() ? *node : JoinNodePath(SplitPath(path));
    return root_ == "/" ? node_path : root_ + (node_path == "/" ? "" : node_path);
  }

  const std::string& root() const override { return root_; }

 private:
  // Temp file in the same directory, fsync, rename over `path`, fsync of the directory.
  // On failure the temp file is removed (also the part a full disk let through) and
  // `path` is untouched.
  std::optional<StepFailure> Replace(absl::string_view path, absl::string_view contents,
                                     const WriteOptions& options) {
    auto [parent, base] = SplitParent(path);
    FdCloser dir(OpenInRoot(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return StepFailure{"opening its directory", errno};
    std::string tmp = base + TempSuffix();
    FdCloser fd(
        openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode));
    if (fd.get() < 0) return StepFailure{"creating a temp file", errno};
    std::optional<StepFailure> failed;
    if (int error = WriteAll(fd.get(), contents); error != 0) {
      failed = StepFailure{"writing", error};
    } else if (fchmod(fd.get(), options.mode) != 0) {
      failed = StepFailure{"chmod", errno};
    } else if ((options.uid || options.gid) &&
               fchown(fd.get(), options.uid.value_or(-1), options.gid.value_or(-1)) != 0) {
      failed = StepFailure{"chown", errno};
    } else if (fsync(fd.get()) != 0) {
      failed = StepFailure{"fsync", errno};
    } else if (close(fd.release()) != 0) {
      failed = StepFailure{"close", errno};
    } else if (renameat(dir.get(), tmp.c_str(), dir.get(), base.c_str()) != 0) {
      failed = StepFailure{"renaming the temp file into place", errno};
    }
    if (failed) {
      unlinkat(dir.get(), tmp.c_str(), 0);
      return failed;
    }
    fsync(dir.get());
    RemoveStaleTemps(dir.get(), base);
    return std::nullopt;
  }

  // open(2) of a node path, resolved inside the root. Returns the fd or -1 with errno.
  int OpenInRoot(absl::string_view path, int flags, mode_t mode = 0) const {
    if (root_ == "/") return open(JoinNodePath(SplitPath(path)).c_str(), flags, mode);
    if (root_fd_ < 0) {
      errno = ENOENT;
      return -1;
    }
    std::string relative = absl::StrJoin(SplitPath(path), "/");
    if (relative.empty()) relative = ".";
    if (openat2_available_) {
      struct open_how how = {};
      how.flags = static_cast<uint64_t>(flags);
      how.mode = (flags & O_CREAT) ? mode : 0;
      how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
      long fd = syscall(SYS_openat2, root_fd_, relative.c_str(), &how, sizeof how);
      if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
      openat2_available_ = false;
    }
    absl::StatusOr<std::string> node = Resolve(path, /*follow_last=*/true);
    if (!node.ok()) {
      errno = ELOOP;
      return -1;
    }
    return open((root_ + *node).c_str(), flags, mode);
  }

  std::string RawHost(const std::vector<std::string>& parts) const {
    std::string node = JoinNodePath(parts);
    return root_ == "/" ? node : root_ + (parts.empty() ? "" : node);
  }

  // Walks `path` component by component, following symlinks inside the root. A
  // component that does not exist ends the walk; the rest is appended lexically.
  absl::StatusOr<std::string> Resolve(absl::string_view path, bool follow_last) const {
    std::deque<std::string> pending;
    for (std::string& part : SplitPath(path)) pending.push_back(std::move(part));
    std::vector<std::string> resolved;
    int links = 0;
    bool missing = false;
    while (!pending.empty()) {
      std::string part = std::move(pending.front());
      pending.pop_front();
      if (part == ".") continue;
      if (part == "..") {
        if (!resolved.empty()) resolved.pop_back();
        continue;
      }
      resolved.push_back(part);
      if (missing || (pending.empty() && !follow_last)) continue;
      std::string host = RawHost(resolved);
      struct stat st;
      if (lstat(host.c_str(), &st) != 0) {
        missing = true;
        continue;
      }
      if (!S_ISLNK(st.st_mode)) continue;
      if (++links > kMaxSymlinks) {
        return absl::FailedPreconditionError(absl::StrCat("too many symlinks in ", path));
      }
      char buf[4096];
      ssize_t n = readlink(host.c_str(), buf, sizeof buf);
      if (n < 0) return ErrnoStatus(errno, absl::StrCat("readlink ", JoinNodePath(resolved)));
      absl::string_view target(buf, static_cast<size_t>(n));
      resolved.pop_back();
      if (!target.empty() && target.front() == '/') resolved.clear();
      std::vector<std::string> target_parts = SplitPath(target);
      pending.insert(pending.begin(), target_parts.begin(), target_parts.end());
    }
    return JoinNodePath(resolved);
  }

  std::string root_;
  int root_fd_ = -1;
  mutable std::atomic<bool> openat2_available_{true};
};

}  // namespace

std::string AbsolutePath(absl::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == nullptr) return std::string(path);
  return absl::StrCat(cwd, "/", path);
}

std::string BackupPathFor(absl::string_view path) { return absl::StrCat(path, ".sparkfleet.bak"); }

absl::Status FileWriteError(absl::string_view path, absl::string_view step, int errno_value) {
  absl::Status cause = ErrnoStatus(errno_value, step);
  std::string message =
      absl::StrCat("cannot write ", path, " (", cause.message(), "); ", path, " is unchanged");
  const std::string dir = SplitParent(path).first;
  if (errno_value == ENOSPC || errno_value == EDQUOT) {
    absl::StrAppend(&message, "; free space on the filesystem holding ", dir, " and retry");
  } else if (errno_value == EROFS) {
    absl::StrAppend(&message, "; ", dir,
                    " is on a read-only filesystem: remount it read-write and retry");
  }
  return absl::Status(cause.code(), message);
}

std::unique_ptr<Env> NewRootedEnv(std::string root) {
  return std::make_unique<RootedEnv>(std::move(root));
}

}  // namespace sparkfleet
