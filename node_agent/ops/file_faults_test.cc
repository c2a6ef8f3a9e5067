// A full disk and a read-only filesystem (through FaultEnv) under each of the five files
// the agent manages: the operation fails with an error that names the file and says
// what is wrong and what to do, the old file stays byte for byte, nothing is left
// beside it, and nothing that would act on the new file (sshd -t, a reload, netplan
// apply) runs. The kernel's own statuses for the same faults are checked against
// FaultEnv's in common/fault_env_test.cc.
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/fault_managed_files.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using testing::ManagedFile;
using testing::ScriptedProcessRunner;

std::string DirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

class FileFaultsTest : public ::testing::TestWithParam<ManagedFile> {
 protected:
  // The root holds the file as the operation's variant 0 wrote it.
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/file_faults_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    file().seed(root_);
    base_ = NewRootedEnv(root_);
    testing::ScriptTools(runner_);
    absl::Status first = file().write(*base_, runner_, 0);
    ASSERT_TRUE(first.ok()) << first;
    old_ = base_->ReadFile(file().path).value_or("<missing>");
    before_ = Listing();
    programs_before_ = runner_.calls().size();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  const ManagedFile& file() const { return GetParam(); }
  std::vector<std::string> Listing() {
    return base_->ListDir(DirOf(file().path)).value_or(std::vector<std::string>{"<error>"});
  }
  // The file is as it was, with its mode, and no program ran since SetUp.
  void ExpectUntouched() {
    EXPECT_EQ(base_->ReadFile(file().path).value_or("<missing>"), old_);
    EXPECT_EQ(base_->Stat(file().path)->mode & 07777, file().mode);
    EXPECT_EQ(runner_.calls().size(), programs_before_);
  }

  std::string root_;
  std::unique_ptr<Env> base_;
  ScriptedProcessRunner runner_;
  std::string old_;
  std::vector<std::string> before_;
  size_t programs_before_ = 0;
};

TEST_P(FileFaultsTest, AFullDiskIsNamedWithTheFileAndLeavesItAndItsDirectoryAsTheyWere) {
  FaultEnv env(*base_);
  env.SetFreeBytes(0);
  absl::Status status = file().write(env, runner_, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("cannot write ", file().path, " (")));
  EXPECT_THAT(status.message(), HasSubstr("No space left on device"));
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(file().path,
                                                       " is unchanged; free space on "
                                                       "the filesystem holding ",
                                                       DirOf(file().path), " and retry")));
  ExpectUntouched();
  EXPECT_EQ(Listing(), before_);  // no temp file, no backup
}

TEST_P(FileFaultsTest, ADiskThatFillsAfterTheBackupKeepsTheOldFileBesideItsCopy) {
  FaultEnv env(*base_);
  env.SetFreeBytes(static_cast<int64_t>(old_.size()));  // the backup fits, the file does not
  absl::Status status = file().write(env, runner_, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("cannot write ", file().path,
                                                       " (writing: No space left on device)")));
  ExpectUntouched();
  EXPECT_EQ(base_->ReadFile(BackupPathFor(file().path)).value_or("<missing>"), old_);
  std::set<std::string> expected(before_.begin(), before_.end());
  expected.insert(std::filesystem::path(BackupPathFor(file().path)).filename());
  EXPECT_EQ(Listing(), std::vector<std::string>(expected.begin(), expected.end()));  // no temp
}

TEST_P(FileFaultsTest, AReadOnlyFilesystemIsNamedWithTheFileAndLeavesItAsItWas) {
  FaultEnv env(*base_);
  env.SetReadOnly("/");
  absl::Status status = file().write(env, runner_, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("cannot write ", file().path, " (")));
  EXPECT_THAT(status.message(), HasSubstr("Read-only file system"));
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat(DirOf(file().path),
                                     " is on a read-only filesystem: remount it read-write")));
  ExpectUntouched();
  EXPECT_EQ(Listing(), before_);
}

TEST_P(FileFaultsTest, AFailedRenameLeavesTheOldFileAndTheNextRunWrites) {
  FaultEnv env(*base_);
  env.FailNth(FaultEnv::Op::kRename, 2, EIO);  // the file's own, after its backup's
  absl::Status status = file().write(env, runner_, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("cannot write ", file().path,
                                     " (renaming the temp file into place: Input/output error)")));
  ExpectUntouched();
  absl::Status again = file().write(env, runner_, 1);
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_NE(base_->ReadFile(file().path).value_or(old_), old_);
  EXPECT_EQ(base_->ReadFile(BackupPathFor(file().path)).value_or("<missing>"), old_);
}

INSTANTIATE_TEST_SUITE_P(ManagedFiles, FileFaultsTest, ::testing::ValuesIn(testing::ManagedFiles()),
                         [](const ::testing::TestParamInfo<ManagedFile>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace sparkfleet
