#include "common/fault_env.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kConf[] = "/etc/conf";

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/fault_env_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/etc");
    std::filesystem::create_directories(root_ + "/var");
    base_ = NewRootedEnv(root_);
    ASSERT_TRUE(base_->WriteFileAtomic(kConf, "old\n", {}).ok());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::vector<std::string> Etc() {
    return base_->ListDir("/etc").value_or(std::vector<std::string>{"<error>"});
  }

  std::string root_;
  std::unique_ptr<Env> base_;
};

TEST_F(FaultEnvTest, WithoutRulesEveryCallIsForwarded) {
  FaultEnv env(*base_);
  absl::StatusOr<std::string> backup = env.WriteFileAtomic(kConf, "new\n", {});
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(*backup, "/etc/conf.sparkfleet.bak");
  EXPECT_EQ(env.ReadFile(kConf).value_or(""), "new\n");
  EXPECT_EQ(env.ReadFile(*backup).value_or(""), "old\n");
  EXPECT_TRUE(env.MakeDirs("/var/lib/x", 0755).ok());
  EXPECT_TRUE(env.RemoveFile(*backup).ok());
  EXPECT_THAT(Etc(), ElementsAre("conf"));
  EXPECT_EQ(env.HostPath(kConf), root_ + kConf);
  EXPECT_EQ(env.calls(FaultEnv::Op::kRename), 2);  // the backup, then the file
}

TEST_F(FaultEnvTest, AFullDiskFailsTheBackupFirstAndLeavesEverythingAsItWas) {
  FaultEnv env(*base_);
  env.SetFreeBytes(0);
  absl::StatusOr<std::string> written = env.WriteFileAtomic(kConf, "new\n", {});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(written.status().message(),
            "cannot write /etc/conf (keeping the backup /etc/conf.sparkfleet.bak: writing: No "
            "space left on device); /etc/conf is unchanged; free space on the filesystem "
            "holding /etc and retry");
  EXPECT_EQ(base_->ReadFile(kConf).value_or(""), "old\n");
  EXPECT_THAT(Etc(), ElementsAre("conf"));
}

TEST_F(FaultEnvTest, ADiskThatFillsAfterTheBackupKeepsTheOldFileAndItsBackup) {
  FaultEnv env(*base_);
  env.SetFreeBytes(4);  // room for the backup of "old\n" only
  absl::StatusOr<std::string> written = env.WriteFileAtomic(kConf, "a longer new file\n", {});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(written.status().message(),
              HasSubstr("cannot write /etc/conf (writing: No space left on device)"));
  EXPECT_EQ(base_->ReadFile(kConf).value_or(""), "old\n");
  EXPECT_EQ(base_->ReadFile(BackupPathFor(kConf)).value_or(""), "old\n");
  EXPECT_THAT(Etc(), ElementsAre("conf", "conf.sparkfleet.bak"));

  env.ClearFaults();
  EXPECT_TRUE(env.WriteFileAtomic(kConf, "a longer new file\n", {}).ok());
}

TEST_F(FaultEnvTest, WritesUseUpTheFreeSpace) {
  FaultEnv env(*base_);
  env.SetFreeBytes(10);
  EXPECT_TRUE(env.WriteFileAtomic("/var/a", "123456", {}).ok());
  absl::StatusOr<std::string> second = env.WriteFileAtomic("/var/b", "123456", {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(env.Exists("/var/b"));
  EXPECT_TRUE(env.WriteFileAtomic("/var/c", "1234", {}).ok());
}

TEST_F(FaultEnvTest, AReadOnlyDirectoryRefusesEveryChangeAsTheKernelDoes) {
  FaultEnv env(*base_);
  env.SetReadOnly("/etc");
  absl::StatusOr<std::string> written = env.WriteFileAtomic(kConf, "new\n", {});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(written.status().message(),
            "cannot write /etc/conf (keeping the backup /etc/conf.sparkfleet.bak: creating a "
            "temp file: Read-only file system); /etc/conf is unchanged; /etc is on a read-only "
            "filesystem: remount it read-write and retry");
  written = env.WriteFileAtomic("/etc/new", "x", {});
  EXPECT_THAT(written.status().message(), HasSubstr("(creating a temp file: Read-only file"));
  EXPECT_TRUE(env.MakeDirs("/etc", 0755).ok());  // exists: mkdir says EEXIST first
  EXPECT_EQ(env.MakeDirs("/etc/a/b", 0755).message(), "mkdir /etc/a: Read-only file system");
  EXPECT_EQ(env.RemoveFile(kConf).message(), "remove /etc/conf: Read-only file system");
  EXPECT_TRUE(env.RemoveFile("/etc/missing").ok());
  EXPECT_EQ(env.SetOwnerAndMode(kConf, 0600, std::nullopt, std::nullopt).message(),
            "chmod /etc/conf: Read-only file system");
  EXPECT_EQ(env.SetOwnerAndMode(kConf, 0600, getuid(), std::nullopt).message(),
            "chown /etc/conf: Read-only file system");
  EXPECT_EQ(env.ReadFile(kConf).value_or(""), "old\n");
  EXPECT_THAT(Etc(), ElementsAre("conf"));
  // Elsewhere, and "/etcetera", are writable.
  EXPECT_TRUE(env.WriteFileAtomic("/var/x", "x", {}).ok());
  EXPECT_TRUE(env.MakeDirs("/etcetera", 0755).ok());
}

TEST_F(FaultEnvTest, TheNthCallOfAnOperationFails) {
  FaultEnv env(*base_);
  env.FailNth(FaultEnv::Op::kRename, 2, EIO);  // the file's rename, after the backup's
  absl::StatusOr<std::string> written = env.WriteFileAtomic(kConf, "new\n", {});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(written.status().message(),
            "cannot write /etc/conf (renaming the temp file into place: Input/output error); "
            "/etc/conf is unchanged");
  EXPECT_EQ(base_->ReadFile(kConf).value_or(""), "old\n");
  EXPECT_TRUE(env.WriteFileAtomic(kConf, "new\n", {}).ok());  // only that one call
  EXPECT_EQ(env.calls(FaultEnv::Op::kRename), 4);

  env.FailNth(FaultEnv::Op::kRead, 1, EACCES);
  absl::StatusOr<std::string> read = env.ReadFile(kConf);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(read.status().message(), "open /etc/conf: Permission denied");
  env.FailNth(FaultEnv::Op::kSync, 1, EIO);
  EXPECT_THAT(env.WriteFileAtomic(kConf, "newer\n", {}).status().message(),
              HasSubstr("(keeping the backup /etc/conf.sparkfleet.bak: fsync: Input/output"));
  env.FailNth(FaultEnv::Op::kMakeDirs, 1, ENOSPC);
  EXPECT_EQ(env.MakeDirs("/var/new", 0755).code(), absl::StatusCode::kResourceExhausted);
}

// The agent runs as root in directories users own: a link planted at the backup's name
// must be replaced, never written through (it would have put the old authorized_keys,
// owned by the user, in place of /etc/shadow).
TEST_F(FaultEnvTest, ALinkAtTheBackupsNameIsReplacedNotFollowed) {
  std::ofstream(root_ + "/etc/shadow") << "root:*:1::::::\n";
  for (bool through_fault_env : {false, true}) {
    std::filesystem::remove(root_ + "/etc/conf.sparkfleet.bak");
    std::filesystem::create_symlink("/etc/shadow", root_ + "/etc/conf.sparkfleet.bak");
    FaultEnv fault_env(*base_);
    Env& env = through_fault_env ? static_cast<Env&>(fault_env) : *base_;
    ASSERT_TRUE(env.WriteFileAtomic(kConf, through_fault_env ? "b\n" : "a\n", {}).ok());
    EXPECT_EQ(base_->ReadFile("/etc/shadow").value_or(""), "root:*:1::::::\n");
    EXPECT_FALSE(base_->Lstat("/etc/conf.sparkfleet.bak")->is_symlink);
    EXPECT_EQ(base_->ReadFile("/etc/conf.sparkfleet.bak").value_or(""),
              through_fault_env ? "a\n" : "old\n");
  }
}

// What the real Env returned on a real full / read-only filesystem, one "code|message"
// line per case, from a child in its own mount namespace over a 64 KiB tmpfs at `root`.
// Exits 77 where the test may not mount (not root, no user namespaces).
[[noreturn]] void KernelCases(const std::string& root, int out) {
  alarm(30);
  if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      mount("tmpfs", root.c_str(), "tmpfs", 0, "size=64k") != 0) {
    _exit(77);
  }
  std::unique_ptr<Env> env = NewRootedEnv(root);
  std::string lines;
  auto report = [&](const absl::Status& status) {
    absl::StrAppend(&lines, static_cast<int>(status.code()), "|", status.message(), "\n");
  };
  auto listing = [&] {
    absl::StrAppend(&lines,
                    absl::StrJoin(env->ListDir("/etc").value_or(std::vector<std::string>{}), ","),
                    "\n");
  };
  if (!env->MakeDirs("/etc", 0755).ok() || !env->WriteFileAtomic(kConf, "old\n", {}).ok()) {
    _exit(1);
  }
  // 1: the file does not fit (the backup does); the partial temp file is removed.
  report(env->WriteFileAtomic(kConf, std::string(256 << 10, 'x'), {}).status());
  listing();
  // 2: not one byte left, not even for the backup.
  int filler = open((root + "/filler").c_str(), O_WRONLY | O_CREAT, 0600);
  std::string block(4096, 'f');
  while (write(filler, block.data(), block.size()) > 0) {
  }
  close(filler);
  report(env->WriteFileAtomic(kConf, "new\n", {}).status());
  listing();
  unlink((root + "/filler").c_str());
  // 3..7: mounted read-only.
  if (mount("tmpfs", root.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) _exit(1);
  report(env->WriteFileAtomic(kConf, "new\n", {}).status());
  report(env->MakeDirs("/etc/a/b", 0755));
  report(env->RemoveFile(kConf));
  report(env->SetOwnerAndMode(kConf, 0600, std::nullopt, std::nullopt));
  report(env->SetOwnerAndMode(kConf, 0600, getuid(), std::nullopt));
  lines += "end\n";
  (void)!write(out, lines.data(), lines.size());
  _exit(0);
}

TEST_F(FaultEnvTest, GivesTheStatusesARealFullAndReadOnlyFilesystemGive) {
  std::string pattern = ::testing::TempDir() + "/fault_env_kernel.XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string kernel_root = pattern;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    KernelCases(kernel_root, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) text.append(buf, n);
  close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  std::filesystem::remove(kernel_root);  // the tmpfs went with the child's namespace
  ASSERT_TRUE(WIFEXITED(status)) << status;
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::vector<std::string> kernel = absl::StrSplit(text, '\n');

  // The same calls through a FaultEnv over an ordinary directory.
  FaultEnv env(*base_);
  std::vector<std::string> ours;
  auto report = [&](const absl::Status& status) {
    ours.push_back(absl::StrCat(static_cast<int>(status.code()), "|", status.message()));
  };
  auto listing = [&] { ours.push_back(absl::StrJoin(Etc(), ",")); };
  env.SetFreeBytes(4);
  report(env.WriteFileAtomic(kConf, std::string(256 << 10, 'x'), {}).status());
  listing();
  env.SetFreeBytes(0);
  report(env.WriteFileAtomic(kConf, "new\n", {}).status());
  listing();
  env.ClearFaults();
  env.SetReadOnly("/");
  report(env.WriteFileAtomic(kConf, "new\n", {}).status());
  report(env.MakeDirs("/etc/a/b", 0755));
  report(env.RemoveFile(kConf));
  report(env.SetOwnerAndMode(kConf, 0600, std::nullopt, std::nullopt));
  report(env.SetOwnerAndMode(kConf, 0600, getuid(), std::nullopt));
  ours.push_back("end");
  ours.push_back("");
  EXPECT_EQ(ours, kernel);
  EXPECT_EQ(kernel[1], "conf,conf.sparkfleet.bak");  // no temp file left by the full disk
}

}  // namespace
}  // namespace sparkfleet
