#include "common/env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// A fresh directory under the test temp dir, removed with everything in it.
class TempRoot {
 public:
  TempRoot() {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-env-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;
  ~TempRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }

  // Writes `contents` at node path `node_path` (creating parents), bypassing the Env.
  void Put(absl::string_view node_path, absl::string_view contents) const {
    std::filesystem::path host = path_ + std::string(node_path);
    std::filesystem::create_directories(host.parent_path());
    std::ofstream(host, std::ios::binary) << contents;
  }

  // Makes node path `node_path` a symlink holding `target` verbatim.
  void Link(absl::string_view node_path, absl::string_view target) const {
    std::filesystem::path host = path_ + std::string(node_path);
    std::filesystem::create_directories(host.parent_path());
    ASSERT_EQ(symlink(std::string(target).c_str(), host.c_str()), 0) << host;
  }

 private:
  std::string path_;
};

TEST(RootedEnv, WritesAndReadsUnderTheRoot) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  ASSERT_TRUE(env->MakeDirs("/etc", 0755).ok());

  ASSERT_TRUE(env->WriteFileAtomic("/etc/nccl.conf", "NCCL_DEBUG=INFO\n", WriteOptions()).ok());

  EXPECT_TRUE(std::filesystem::exists(root.path() + "/etc/nccl.conf"));
  EXPECT_EQ(*env->ReadFile("/etc/nccl.conf"), "NCCL_DEBUG=INFO\n");
  EXPECT_EQ(env->HostPath("/etc/nccl.conf"), root.path() + "/etc/nccl.conf");
  EXPECT_EQ(env->root(), root.path());
}

TEST(RootedEnv, TrailingSlashOnRootIsIgnored) {
  TempRoot root;
  root.Put("/etc/hostname", "spark-001\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path() + "/");

  EXPECT_EQ(env->root(), root.path());
  EXPECT_EQ(*env->ReadFile("/etc/hostname"), "spark-001\n");
}

TEST(RootedEnv, AbsoluteSymlinkTargetResolvesInsideRoot) {
  TempRoot root;
  // The host has its own /etc/hostname; the link must never reach it.
  root.Put("/etc/hostname", "fixture-host\n");
  root.Link("/etc/alias", "/etc/hostname");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_EQ(*env->ReadFile("/etc/alias"), "fixture-host\n");
  EXPECT_EQ(*env->RealPath("/etc/alias"), "/etc/hostname");
  EXPECT_EQ(env->HostPath("/etc/alias"), root.path() + "/etc/hostname");
}

TEST(RootedEnv, AbsoluteSymlinkToFileMissingFromRootIsNotFound) {
  TempRoot root;
  // /etc/passwd exists on every host; it does not exist in this root.
  root.Link("/etc/users", "/etc/passwd");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  absl::StatusOr<std::string> text = env->ReadFile("/etc/users");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(env->Exists("/etc/users"));
}

TEST(RootedEnv, WriteThroughSymlinkNeverTouchesAFileOutsideRoot) {
  TempRoot root;
  TempRoot outside;
  outside.Put("/victim", "host content\n");
  const std::string victim = outside.path() + "/victim";
  // One link names the host path absolutely, the other climbs out with "..".
  root.Link("/etc/absolute.conf", victim);
  root.Link("/etc/relative.conf", "../../../../../../../../.." + victim);
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  for (const char* path : {"/etc/absolute.conf", "/etc/relative.conf"}) {
    (void)env->WriteFileAtomic(path, "written by sparkfleet\n", WriteOptions());
    (void)env->RemoveFile(path);
  }

  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "host content\n");
}

TEST(RootedEnv, WriteThroughSymlinkUpdatesItsTargetAndKeepsTheLink) {
  TempRoot root;
  root.Put("/run/resolve/resolv.conf", "nameserver 1.1.1.1\n");
  root.Link("/etc/resolv.conf", "../run/resolve/resolv.conf");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  ASSERT_TRUE(
      env->WriteFileAtomic("/etc/resolv.conf", "nameserver 9.9.9.9\n", WriteOptions()).ok());
  absl::StatusOr<FileInfo> link = env->Lstat("/etc/resolv.conf");
  ASSERT_TRUE(link.ok());
  EXPECT_TRUE(link->is_symlink);
  EXPECT_EQ(*env->ReadFile("/run/resolve/resolv.conf"), "nameserver 9.9.9.9\n");
}

TEST(RootedEnv, DotDotCannotEscapeRoot) {
  TempRoot root;
  root.Put("/etc/passwd", "fixture:x:1000:1000::/home/fixture:/bin/sh\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_EQ(*env->ReadFile("/../../../../etc/passwd"),
            "fixture:x:1000:1000::/home/fixture:/bin/sh\n");
  EXPECT_EQ(*env->RealPath("/../../etc/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(env->HostPath("/../../../etc/passwd"), root.path() + "/etc/passwd");
}

TEST(RootedEnv, RelativeSymlinkWithTooManyDotDotsStopsAtRoot) {
  TempRoot root;
  root.Link("/var/lib/escape", "../../../../../../../../etc/shadow");
  root.Put("/etc/shadow", "fixture shadow\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_EQ(*env->RealPath("/var/lib/escape"), "/etc/shadow");
  EXPECT_EQ(*env->ReadFile("/var/lib/escape"), "fixture shadow\n");
}

TEST(RootedEnv, SysfsRelativeLinksResolve) {
  TempRoot root;
  const std::string device = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
  const std::string netdev = device + "/net/enp1s0f0np0";
  root.Put(netdev + "/address", "4c:bb:47:2e:11:02\n");
  root.Put(netdev + "/mtu", "9000\n");
  root.Put(device + "/vendor", "0x15b3\n");
  root.Link(netdev + "/device", "../../../0000:01:00.0");
  root.Link("/sys/class/net/enp1s0f0np0",
            "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/net/enp1s0f0np0");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_EQ(*env->ReadFile("/sys/class/net/enp1s0f0np0/address"), "4c:bb:47:2e:11:02\n");
  EXPECT_EQ(*env->ReadFile("/sys/class/net/enp1s0f0np0/device/vendor"), "0x15b3\n");
  EXPECT_EQ(*env->RealPath("/sys/class/net/enp1s0f0np0"), netdev);
  EXPECT_EQ(*env->RealPath("/sys/class/net/enp1s0f0np0/device"), device);
  EXPECT_EQ(*env->ReadLink("/sys/class/net/enp1s0f0np0"),
            "../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/net/enp1s0f0np0");
  EXPECT_THAT(*env->ListDir("/sys/class/net/enp1s0f0np0"), ElementsAre("address", "device", "mtu"));
}

TEST(RootedEnv, LstatSeesTheLinkAndStatSeesTheTarget) {
  TempRoot root;
  root.Put("/sys/devices/virtual/net/lo/mtu", "65536\n");
  root.Link("/sys/class/net/lo", "../../devices/virtual/net/lo");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  absl::StatusOr<FileInfo> link = env->Lstat("/sys/class/net/lo");
  absl::StatusOr<FileInfo> target = env->Stat("/sys/class/net/lo");
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE(target.ok());
  EXPECT_TRUE(link->is_symlink);
  EXPECT_FALSE(target->is_symlink);
  EXPECT_TRUE(target->is_dir);
}

TEST(RootedEnv, SymlinkLoopIsAnErrorNotAHang) {
  TempRoot root;
  root.Link("/etc/a", "b");
  root.Link("/etc/b", "a");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_FALSE(env->RealPath("/etc/a").ok());
  EXPECT_FALSE(env->ReadFile("/etc/a").ok());
}

TEST(RootedEnv, WriteFileAtomicReturnsEmptyBackupPathForANewFile) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  ASSERT_TRUE(env->MakeDirs("/etc", 0755).ok());

  absl::StatusOr<std::string> backup = env->WriteFileAtomic("/etc/new.conf", "x\n", WriteOptions());

  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(*backup, "");
  EXPECT_FALSE(env->Exists(BackupPathFor("/etc/new.conf")));
}

TEST(RootedEnv, WriteFileAtomicKeepsOldContentAtBackupPath) {
  TempRoot root;
  root.Put("/etc/hosts", "127.0.0.1 localhost\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  absl::StatusOr<std::string> backup = env->WriteFileAtomic(
      "/etc/hosts", "127.0.0.1 localhost\n10.0.0.2 spark-002\n", WriteOptions());

  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(*backup, BackupPathFor("/etc/hosts"));
  EXPECT_EQ(*backup, "/etc/hosts.sparkfleet.bak");
  EXPECT_EQ(*env->ReadFile(*backup), "127.0.0.1 localhost\n");
  EXPECT_EQ(*env->ReadFile("/etc/hosts"), "127.0.0.1 localhost\n10.0.0.2 spark-002\n");
}

TEST(RootedEnv, WriteFileAtomicWithoutBackupKeepsNoCopy) {
  TempRoot root;
  root.Put("/etc/hosts", "old\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  WriteOptions options;
  options.backup = false;

  absl::StatusOr<std::string> backup = env->WriteFileAtomic("/etc/hosts", "new\n", options);

  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(*backup, "");
  EXPECT_FALSE(env->Exists(BackupPathFor("/etc/hosts")));
  EXPECT_EQ(*env->ReadFile("/etc/hosts"), "new\n");
}

TEST(RootedEnv, WriteFileAtomicSetsTheMode) {
  TempRoot root;
  root.Put("/home/nvidia/.ssh/authorized_keys", "old key\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  WriteOptions options;
  options.mode = 0600;

  ASSERT_TRUE(
      env->WriteFileAtomic("/home/nvidia/.ssh/authorized_keys", "ssh-ed25519 AAAA\n", options)
          .ok());

  EXPECT_EQ(env->Stat("/home/nvidia/.ssh/authorized_keys")->mode, 0600u);
  options.mode = 0640;
  ASSERT_TRUE(
      env->WriteFileAtomic("/home/nvidia/.ssh/authorized_keys", "ssh-ed25519 BBBB\n", options)
          .ok());
  EXPECT_EQ(env->Stat("/home/nvidia/.ssh/authorized_keys")->mode, 0640u);
}

TEST(RootedEnv, WriteFileAtomicLeavesNoTempFilesBehind) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  ASSERT_TRUE(env->MakeDirs("/etc", 0755).ok());

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(env->WriteFileAtomic("/etc/nccl.conf", absl::StrCat("v", i), WriteOptions()).ok());
  }

  EXPECT_THAT(*env->ListDir("/etc"), ElementsAre("nccl.conf", "nccl.conf.sparkfleet.bak"));
  EXPECT_EQ(*env->ReadFile("/etc/nccl.conf"), "v2");
  EXPECT_EQ(*env->ReadFile("/etc/nccl.conf.sparkfleet.bak"), "v1");
}

// The PID of a process that has exited and been reaped.
pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

TEST(RootedEnv, WriteFileAtomicRemovesTempsAWriterThatDiedLeft) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());
  const pid_t dead = DeadPid();
  const std::string left = absl::StrCat("hosts.sparkfleet-tmp.", dead, ".42");
  const std::string left_backup = absl::StrCat("hosts.sparkfleet.bak.sparkfleet-tmp.", dead, ".7");
  const std::string running = "hosts.sparkfleet-tmp.1.5";  // init never dies
  const std::string ours = absl::StrCat("hosts.sparkfleet-tmp.", getpid(), ".9");
  const std::string other_file = absl::StrCat("fstab.sparkfleet-tmp.", dead, ".3");
  for (const std::string& name : {left, left_backup, running, ours, other_file}) {
    root.Put("/etc/" + name, "half a file");
  }
  root.Put("/etc/hosts", "old\n");

  ASSERT_TRUE(env->WriteFileAtomic("/etc/hosts", "new\n", WriteOptions()).ok());

  EXPECT_THAT(*env->ListDir("/etc"),
              UnorderedElementsAre(other_file, "hosts", ours, running, "hosts.sparkfleet.bak"));
  EXPECT_EQ(*env->ReadFile("/etc/hosts"), "new\n");
}

TEST(RootedEnv, WriteFileAtomicIntoMissingDirectoryFailsAndLeavesNothing) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  absl::StatusOr<std::string> backup =
      env->WriteFileAtomic("/etc/missing/nccl.conf", "x", WriteOptions());

  EXPECT_EQ(backup.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(backup.status().message(), HasSubstr("/etc/missing/nccl.conf"));
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
}

TEST(RootedEnv, ListDirIsSortedWithoutDots) {
  TempRoot root;
  root.Put("/sys/class/net/wlP9s9/mtu", "1500\n");
  root.Put("/sys/class/net/enp1s0f1np1/mtu", "9000\n");
  root.Put("/sys/class/net/enP7s7/mtu", "1500\n");
  root.Put("/sys/class/net/lo/mtu", "65536\n");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_THAT(*env->ListDir("/sys/class/net"),
              ElementsAre("enP7s7", "enp1s0f1np1", "lo", "wlP9s9"));
}

TEST(RootedEnv, ListDirOfMissingDirectoryIsNotFound) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_EQ(env->ListDir("/sys/class/infiniband").status().code(), absl::StatusCode::kNotFound);
}

TEST(RootedEnv, MakeDirsCreatesParentsAndIsIdempotent) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  ASSERT_TRUE(env->MakeDirs("/home/nvidia/.ssh", 0700).ok());
  ASSERT_TRUE(env->MakeDirs("/home/nvidia/.ssh", 0700).ok());

  absl::StatusOr<FileInfo> info = env->Stat("/home/nvidia/.ssh");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->is_dir);
  EXPECT_TRUE(std::filesystem::is_directory(root.path() + "/home/nvidia/.ssh"));
}

TEST(RootedEnv, MakeDirsOverAFileFails) {
  TempRoot root;
  root.Put("/etc/nccl.conf", "x");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  absl::Status status = env->MakeDirs("/etc/nccl.conf", 0755);

  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("/etc/nccl.conf"));
}

TEST(RootedEnv, RemoveFileOfMissingFileIsOk) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  EXPECT_TRUE(env->RemoveFile("/etc/never-there").ok());
}

TEST(RootedEnv, RemoveFileRemovesTheLinkNotItsTarget) {
  TempRoot root;
  root.Put("/run/systemd/resolve/stub-resolv.conf", "nameserver 127.0.0.53\n");
  root.Link("/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  ASSERT_TRUE(env->RemoveFile("/etc/resolv.conf").ok());

  EXPECT_FALSE(env->Lstat("/etc/resolv.conf").ok());
  EXPECT_TRUE(env->Exists("/run/systemd/resolve/stub-resolv.conf"));
}

TEST(RootedEnv, SetOwnerAndModeChangesFilesAndDirectoriesButNotThroughLinks) {
  TempRoot root;
  root.Put("/home/nvidia/.ssh/id_ed25519", "key");
  root.Put("/etc/shadow", "secret");
  root.Link("/home/nvidia/.ssh/planted", "/etc/shadow");
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  ASSERT_TRUE(env->SetOwnerAndMode("/home/nvidia/.ssh", 0700, getuid(), getgid()).ok());
  ASSERT_TRUE(env->SetOwnerAndMode("/home/nvidia/.ssh/id_ed25519", 0600, getuid(), {}).ok());
  absl::Status planted = env->SetOwnerAndMode("/home/nvidia/.ssh/planted", 0666, {}, {});

  EXPECT_EQ(env->Stat("/home/nvidia/.ssh")->mode & 07777, 0700u);
  EXPECT_EQ(env->Stat("/home/nvidia/.ssh/id_ed25519")->mode & 07777, 0600u);
  EXPECT_EQ(planted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(env->Stat("/etc/shadow")->mode & 07777, 0666u);
}

TEST(RootedEnv, MissingFileIsNotFoundAndNamed) {
  TempRoot root;
  std::unique_ptr<Env> env = NewRootedEnv(root.path());

  absl::StatusOr<std::string> text = env->ReadFile("/etc/os-release");

  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(text.status().message(), HasSubstr("/etc/os-release"));
  EXPECT_THAT(text.status().message(), Not(HasSubstr(root.path())));
  EXPECT_EQ(env->Stat("/etc/os-release").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(env->Exists("/etc/os-release"));
}

TEST(BackupPathFor, AppendsSparkfleetBak) {
  EXPECT_EQ(BackupPathFor("/etc/nccl.conf"), "/etc/nccl.conf.sparkfleet.bak");
}

}  // namespace
}  // namespace sparkfleet
