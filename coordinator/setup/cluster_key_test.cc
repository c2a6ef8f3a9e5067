#include "coordinator/setup/cluster_key.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/setup/setup_requests.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::ScriptedProcessRunner;
using ::testing::StartsWith;

constexpr char kPublicKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB/5HioG+/b7s9eSBKAbr0jUR5/VuQ79/d3owZa4wGCm "
    "sparkfleet@lab";
constexpr char kPrivateKey[] = "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n";

class ClusterKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/cluster_key.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    env_ = NewRootedEnv(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    std::ofstream(root_ + path) << text;
  }

  // An ssh-keygen that writes the pair where -f says, as the real one does.
  void ScriptKeygen() {
    runner_.Script("ssh-keygen", [](const std::vector<std::string>& argv, const ProcessOptions&) {
      ProcessResult result;
      result.exit_code = 0;
      std::string file = argv[std::find(argv.begin(), argv.end(), "-f") - argv.begin() + 1];
      if (std::find(argv.begin(), argv.end(), "-y") != argv.end()) {
        result.stdout_text = std::string(kPublicKey) + "\n";
        return result;
      }
      std::ofstream(file) << kPrivateKey;
      std::ofstream(file + ".pub") << kPublicKey << "\n";
      return result;
    });
  }

  std::string root_;
  std::unique_ptr<Env> env_;
  ScriptedProcessRunner runner_;
};

TEST_F(ClusterKeyTest, MissingKeyIsMadeWithSshKeygenArgvAndItsDirectory) {
  ScriptKeygen();
  absl::StatusOr<ClusterKey> key =
      EnsureClusterKey(*env_, runner_, "/home/admin/.ssh/id_spark", "lab cluster!", true);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->created);
  EXPECT_EQ(key->public_key, kPublicKey);
  std::string host_path = root_ + "/home/admin/.ssh/id_spark";
  EXPECT_THAT(runner_.calls(),
              ElementsAre(ElementsAre("ssh-keygen", "-t", "ed25519", "-N", "", "-C",
                                      "sparkfleet@labcluster", "-f", host_path, "-q")));
  EXPECT_EQ(std::filesystem::status(root_ + "/home/admin/.ssh").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
}

TEST_F(ClusterKeyTest, ExistingKeyIsReadAndNothingRuns) {
  Write("/keys/id", kPrivateKey);
  Write("/keys/id.pub", std::string(kPublicKey) + "\n");
  absl::StatusOr<ClusterKey> key = EnsureClusterKey(*env_, runner_, "/keys/id", "lab", true);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_FALSE(key->created);
  EXPECT_EQ(key->public_key, kPublicKey);
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(ClusterKeyTest, CheckRunReportsAMissingKeyAndMakesNothing) {
  ScriptKeygen();
  absl::StatusOr<ClusterKey> key = EnsureClusterKey(*env_, runner_, "/keys/id", "lab", false);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->missing);
  EXPECT_THAT(key->public_key, StartsWith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAA"));
  EXPECT_THAT(key->public_key, EndsWith(" sparkfleet@lab-not-made-yet"));
  EXPECT_TRUE(ParsePublicKey(key->public_key).ok());
  EXPECT_THAT(runner_.calls(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/keys"));
}

TEST_F(ClusterKeyTest, LostPublicHalfIsDerivedWithoutAPassphrasePrompt) {
  ScriptKeygen();
  Write("/keys/id", kPrivateKey);
  absl::StatusOr<ClusterKey> key = EnsureClusterKey(*env_, runner_, "/keys/id", "lab", true);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->public_key, kPublicKey);
  EXPECT_THAT(runner_.calls(),
              ElementsAre(ElementsAre("ssh-keygen", "-y", "-P", "", "-f", root_ + "/keys/id")));
}

TEST_F(ClusterKeyTest, SshKeygenFailureSaysWhatAndNeverShowsThePrivateKey) {
  runner_.Script("ssh-keygen", [](const auto&, const ProcessOptions&) {
    ProcessResult result;
    result.exit_code = 1;
    result.stderr_text = "Saving key failed: Permission denied\n";
    return result;
  });
  absl::StatusOr<ClusterKey> key = EnsureClusterKey(*env_, runner_, "/keys/id", "lab", true);
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(),
              HasSubstr("ssh-keygen could not make /keys/id (exit status 1): Saving key failed"));
  Write("/other/id", kPrivateKey);
  key = EnsureClusterKey(*env_, runner_, "/other/id", "lab", true);
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("/other/id.pub is missing"));
  EXPECT_THAT(key.status().message(), Not(HasSubstr("secret")));
}

TEST_F(ClusterKeyTest, GarbledPublicKeyFileIsAnError) {
  Write("/keys/id", kPrivateKey);
  Write("/keys/id.pub", "not a key\n");
  absl::StatusOr<ClusterKey> key = EnsureClusterKey(*env_, runner_, "/keys/id", "lab", true);
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("/keys/id.pub has key type \"not\""));
}

TEST_F(ClusterKeyTest, NoKeyPathInTheConfigSaysWhatToSet) {
  absl::StatusOr<ClusterKey> key = EnsureClusterKey(*env_, runner_, "", "lab", true);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(key.status().message(), HasSubstr("set it"));
}

}  // namespace
}  // namespace sparkfleet
