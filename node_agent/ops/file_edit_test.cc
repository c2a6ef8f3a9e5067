#include "node_agent/ops/file_edit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

FileEdit Edit(const std::string& path, const std::string& content) {
  FileEdit edit;
  edit.path = path;
  edit.content = content;
  return edit;
}

class FileEditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/file_edit_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/etc");
    env_ = NewRootedEnv(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::unique_ptr<Env> env_;
};

TEST_F(FileEditTest, DryRunShowsTheDiffAndWritesNothing) {
  ASSERT_TRUE(env_->WriteFileAtomic("/etc/hosts", "a\n", {}).ok());
  absl::StatusOr<v1::ChangeReport> r = ApplyFileEdit(*env_, Edit("/etc/hosts", "a\nb\n"), true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->changed());
  EXPECT_NE(r->diff().find("+b"), std::string::npos);
  EXPECT_TRUE(r->backup_path().empty());
  EXPECT_EQ(*env_->ReadFile("/etc/hosts"), "a\n");
}

TEST_F(FileEditTest, WritesWithBackupThenReportsNoChange) {
  ASSERT_TRUE(env_->WriteFileAtomic("/etc/hosts", "a\n", {}).ok());
  absl::StatusOr<v1::ChangeReport> r = ApplyFileEdit(*env_, Edit("/etc/hosts", "b\n"), false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->changed());
  EXPECT_EQ(r->backup_path(), "/etc/hosts.sparkfleet.bak");
  EXPECT_EQ(*env_->ReadFile("/etc/hosts"), "b\n");
  absl::StatusOr<v1::ChangeReport> again = ApplyFileEdit(*env_, Edit("/etc/hosts", "b\n"), false);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed());
  EXPECT_TRUE(again->diff().empty());
}

TEST_F(FileEditTest, ModeAloneIsAChange) {
  ASSERT_TRUE(env_->WriteFileAtomic("/etc/key", "k\n", {}).ok());
  FileEdit edit = Edit("/etc/key", "k\n");
  edit.options.mode = 0600;
  absl::StatusOr<v1::ChangeReport> r = ApplyFileEdit(*env_, edit, false);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->changed());
  EXPECT_EQ(env_->Stat("/etc/key")->mode & 0777, 0600u);
}

TEST_F(FileEditTest, RedactedDiffHidesTheContent) {
  FileEdit edit = Edit("/etc/secret", "tskey-auth-123\n");
  edit.redact_diff = true;
  absl::StatusOr<v1::ChangeReport> r = ApplyFileEdit(*env_, edit, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->diff().find("tskey"), std::string::npos);
  EXPECT_NE(r->diff().find("<redacted>"), std::string::npos);
}

TEST_F(FileEditTest, MissingDirectoryIsAPrecondition) {
  absl::StatusOr<v1::ChangeReport> r =
      ApplyFileEdit(*env_, Edit("/etc/netplan/x.yaml", "x"), false);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("/etc/netplan"), std::string::npos);
}

TEST_F(FileEditTest, SnapshotRestoresContentOrAbsence) {
  ASSERT_TRUE(env_->WriteFileAtomic("/etc/a", "old\n", {}).ok());
  absl::StatusOr<FileSnapshot> a = TakeSnapshot(*env_, "/etc/a");
  absl::StatusOr<FileSnapshot> b = TakeSnapshot(*env_, "/etc/b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(env_->WriteFileAtomic("/etc/a", "new\n", {}).ok());
  ASSERT_TRUE(env_->WriteFileAtomic("/etc/b", "new\n", {}).ok());
  ASSERT_TRUE(RestoreSnapshot(*env_, *a).ok());
  ASSERT_TRUE(RestoreSnapshot(*env_, *b).ok());
  EXPECT_EQ(*env_->ReadFile("/etc/a"), "old\n");
  EXPECT_FALSE(env_->Exists("/etc/b"));
}

}  // namespace
}  // namespace sparkfleet
