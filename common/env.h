// Env is the one seam through which sparkfleet touches the node's filesystem.
//
// Every path handed to an Env is the path as seen on the node ("/sys/class/net",
// "/etc/nccl.conf"). A rooted Env maps it under a sandbox directory (`--root`), and
// resolves symlinks inside that directory, so a fixture tree shaped like a DGX Spark's
// /sys stands in for the real machine and nothing outside the root is ever read or
// written. Modelled on leveldb's Env: tests substitute fakes or fault-injecting wrappers.
//
// Thread-safety: implementations are safe for concurrent use.
#ifndef SPARKFLEET_COMMON_ENV_H_
#define SPARKFLEET_COMMON_ENV_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

struct FileInfo {
  bool is_dir = false;
  bool is_symlink = false;  // only from Lstat()
  mode_t mode = 0;          // permission bits
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t size_bytes = 0;
  int64_t mtime_ns = 0;  // last modification, nanoseconds since the epoch
  // st_ino: a file replaced by rename has a new one even when its size and mtime (which
  // has only clock-tick resolution) are unchanged.
  uint64_t inode = 0;
};

// How WriteFileAtomic replaces a file.
struct WriteOptions {
  mode_t mode = 0644;
  std::optional<uid_t> uid;  // chown when set
  std::optional<gid_t> gid;
  // Keep the previous content at "<path>.sparkfleet.bak" (written atomically itself).
  bool backup = true;
};

class Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // Returns the whole content of `path`. NOT_FOUND when it does not exist,
  // PERMISSION_DENIED / INTERNAL (with errno text) for other failures.
  [[nodiscard]] virtual absl::StatusOr<std::string> ReadFile(absl::string_view path) = 0;

  // Replaces `path` atomically: temp file in the same directory, fsync, rename, fsync of
  // the directory. Readers see the old or the new content, never a mix. When
  // options.backup is set and the file existed, the old content is kept first; the
  // backup's path is returned (empty when there was nothing to back up).
  // REQUIRES: the parent directory exists.
  [[nodiscard]] virtual absl::StatusOr<std::string> WriteFileAtomic(
      absl::string_view path, absl::string_view contents, const WriteOptions& options) = 0;

  // Names in a directory, sorted, without "." and "..".
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> ListDir(
      absl::string_view path) = 0;

  // The raw target of a symlink, as stored.
  [[nodiscard]] virtual absl::StatusOr<std::string> ReadLink(absl::string_view path) = 0;

  // `path` with every symlink resolved, as a node path (symlinks never leave the root).
  [[nodiscard]] virtual absl::StatusOr<std::string> RealPath(absl::string_view path) = 0;

  // Follows symlinks.
  [[nodiscard]] virtual absl::StatusOr<FileInfo> Stat(absl::string_view path) = 0;
  // Does not follow a final symlink.
  [[nodiscard]] virtual absl::StatusOr<FileInfo> Lstat(absl::string_view path) = 0;

  bool Exists(absl::string_view path) { return Stat(path).ok(); }

  // Creates `path` and missing parents with `mode`. OK when it already is a directory.
  [[nodiscard]] virtual absl::Status MakeDirs(absl::string_view path, mode_t mode) = 0;

  // Removes a file (not a directory). OK when it did not exist.
  [[nodiscard]] virtual absl::Status RemoveFile(absl::string_view path) = 0;

  // Sets the permission bits of a regular file or directory and, when given, its owner
  // and group (files a program made, a directory MakeDirs made). Does not follow a final
  // symlink: FAILED_PRECONDITION when `path` is one, or is not a file or directory, since
  // an agent running as root must never chown through a link a user planted in a
  // directory the user owns (~/.ssh/id_ed25519 -> /etc/shadow).
  [[nodiscard]] virtual absl::Status SetOwnerAndMode(absl::string_view path, mode_t mode,
                                                     std::optional<uid_t> uid,
                                                     std::optional<gid_t> gid) = 0;

  // The path on the machine running this process for node path `path`: what is
  // handed to programs the agent starts (their argv), so they act inside the root too.
  virtual std::string HostPath(absl::string_view path) const = 0;

  // The root directory ("/" on a production node).
  virtual const std::string& root() const = 0;
};

// An Env over the real filesystem under `root` (an absolute directory; "/" for the
// machine itself). Symlinks are resolved inside the root: "/x" in a link target means
// root + "/x", and ".." stops at the root.
std::unique_ptr<Env> NewRootedEnv(std::string root);

// `path` made absolute against this process's working directory (for paths from flags).
std::string AbsolutePath(absl::string_view path);

// The backup path WriteFileAtomic uses for `path`.
std::string BackupPathFor(absl::string_view path);

// The error WriteFileAtomic returns when one step of replacing `path` fails with
// `errno_value`: `step` says which ("writing", "keeping the backup X: creating a temp
// file"). ErrnoStatus's code; the message names the file, says it is unchanged and, for a
// full or read-only filesystem, what to do:
//   cannot write /etc/nccl.conf (writing: No space left on device); /etc/nccl.conf is
//   unchanged; free space on the filesystem holding /etc and retry
// Fault-injecting Envs (common/fault_env.h) return the same.
absl::Status FileWriteError(absl::string_view path, absl::string_view step, int errno_value);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_ENV_H_
