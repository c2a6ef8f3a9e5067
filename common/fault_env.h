// FaultEnv: an Env that forwards to another one and makes chosen calls fail the way a full
// disk, a read-only filesystem or a failing system call would, so that tests can show what
// an operation does then (a clear error, the old file intact) without such a machine.
// Modelled on leveldb's fault-injection test Envs.
//
//   std::unique_ptr<Env> base = NewRootedEnv(root);
//   FaultEnv env(*base);
//   env.SetFreeBytes(0);                           // the disk is full
//   env.SetReadOnly("/etc");                       // /etc is mounted read-only
//   env.FailNth(FaultEnv::Op::kRename, 2, EIO);    // the second rename from now fails
//   absl::StatusOr<v1::ConfigureHostsReply> r = ConfigureHosts(env, request);
//
// WriteFileAtomic is carried out in the real Env's steps, each checked against the rules:
// read the old file and keep it as the backup, then for the backup and for the file
// itself create a temp file, write, fsync, rename. A step that fails returns what the
// real Env returns for that errno (FileWriteError, ErrnoStatus) and leaves the tree as
// the real Env leaves it: the file and its backup each old or new, no temp file (a real
// full disk leaves a partial temp file, which the real Env removes). Steps that pass are
// done by the base Env. fault_env_test.cc checks the statuses against the kernel's (a
// full and a read-only tmpfs) where the test may mount one.
//
// Thread-safety: safe for concurrent use, like every Env; rules may change between calls.
#ifndef SPARKFLEET_COMMON_FAULT_ENV_H_
#define SPARKFLEET_COMMON_FAULT_ENV_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/env.h"

namespace sparkfleet {

class FaultEnv final : public Env {
 public:
  // The calls a rule can make fail. Each WriteFileAtomic step counts as one call: a write
  // with a backup is kRead, then kCreate, kWrite, kSync, kRename for the backup, then the
  // same four for the file.
  enum class Op { kRead, kCreate, kWrite, kSync, kRename, kMakeDirs, kRemove, kSetOwnerAndMode };

  // `base` must outlive this Env. No rules at first: every call is forwarded.
  explicit FaultEnv(Env& base);

  // A disk with `bytes` free: each write uses its content's size (space freed by the file
  // it replaces is not given back), and a write that does not fit fails with ENOSPC.
  // Negative: unlimited (the default).
  void SetFreeBytes(int64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // Puts `dir` (a node path; "/" for everything) on a read-only mount: every call that
  // would create, replace, remove or chmod something at or under it fails with EROFS as the
  // kernel fails it (MakeDirs of a directory that exists, RemoveFile of a missing file
  // still succeed). Reads are unaffected.
  void SetReadOnly(std::string dir) ABSL_LOCKS_EXCLUDED(mu_);

  // The `nth` call of `op` from now (1 = the next) fails with `errno_value`; earlier and
  // later calls pass. Several rules may be pending, also for the same op.
  void FailNth(Op op, int nth, int errno_value) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops every rule: the disk has room again, nothing is read-only, nothing pending.
  void ClearFaults() ABSL_LOCKS_EXCLUDED(mu_);

  // How many calls of `op` were made (failed ones included) since construction.
  int calls(Op op) const ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<std::string> ReadFile(absl::string_view path) override;
  absl::StatusOr<std::string> WriteFileAtomic(absl::string_view path, absl::string_view contents,
                                              const WriteOptions& options) override;
  absl::StatusOr<std::vector<std::string>> ListDir(absl::string_view path) override;
  absl::StatusOr<std::string> ReadLink(absl::string_view path) override;
  absl::StatusOr<std::string> RealPath(absl::string_view path) override;
  absl::StatusOr<FileInfo> Stat(absl::string_view path) override;
  absl::StatusOr<FileInfo> Lstat(absl::string_view path) override;
  absl::Status MakeDirs(absl::string_view path, mode_t mode) override;
  absl::Status RemoveFile(absl::string_view path) override;
  absl::Status SetOwnerAndMode(absl::string_view path, mode_t mode, std::optional<uid_t> uid,
                               std::optional<gid_t> gid) override;
  std::string HostPath(absl::string_view path) const override;
  const std::string& root() const override;

 private:
  // Counts a call of `op` on `path`; the errno it must fail with, or 0. `mutates` makes
  // the read-only rule apply.
  int Check(Op op, absl::string_view path, bool mutates) ABSL_LOCKS_EXCLUDED(mu_);
  bool ReadOnly(absl::string_view path) const ABSL_LOCKS_EXCLUDED(mu_);
  bool HasRoom(int64_t bytes) const ABSL_LOCKS_EXCLUDED(mu_);
  void Use(int64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);
  // Create, write, fsync and rename of `target` (`path` itself or its backup), each step
  // checked; the base Env does the replacing. Failures are reported for `path`, their
  // step prefixed with `step_prefix`.
  absl::Status Replace(absl::string_view path, absl::string_view target,
                       absl::string_view step_prefix, absl::string_view contents,
                       const WriteOptions& options);

  Env& base_;
  mutable absl::Mutex mu_;
  int64_t free_bytes_ ABSL_GUARDED_BY(mu_) = -1;
  std::vector<std::string> read_only_ ABSL_GUARDED_BY(mu_);
  std::map<Op, int> calls_ ABSL_GUARDED_BY(mu_);
  // (op, call number at which it fails) -> errno.
  std::map<std::pair<Op, int>, int> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_FAULT_ENV_H_
