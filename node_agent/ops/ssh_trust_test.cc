#include "node_agent/ops/ssh_trust.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node_agent/ops/sshd_hardening.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::ScriptedProcessRunner;

constexpr char kUserKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPQsYi2ywfz8br0PJTyN8p6Bsu+5abA9egjU3TuzqSWb "
    "nvidia@spark-001";
constexpr char kPeerKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPJqZe2OfgWlPdHoAzrmhGpn8DGGzynmMixrlIGwzhb "
    "nvidia@spark-002";
constexpr char kHostKey[] =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGgwD7ykEpdg0OMpwqUQ2tW"
    "QOX4yQL13Pt/S2WauEJ15TYxbWKFdvdVnLtoHiuiTUQonLxAHlGmjkDQqZTS4n9Q=";
constexpr char kAdminsOwnLines[] =
    "# the admin's laptop\r\n"
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDefq8/t3cq05atWCCgG+gchlnu1vMcxjkFebx/7OCxPqWCEdSqMVy/"
    "Xiasxx+GQcmUCpwBWSlyYg+yd/7aXBxqTs0ZkEEgBfcVupfQ8sv8qbK0CWy3Cg4wG7HuETuB0mJGZS6PpMjGV6zOY12ADM"
    "noUAP/P1Sqv1oGER0/cg4BkQ== admin\n";

class SshTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ssh_trust_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    Put("/etc/passwd", absl::StrCat("root:x:0:0:root:/root:/bin/bash\nnvidia:x:", getuid(), ":",
                                    getgid(), ":,,,:/home/nvidia:/bin/bash\n"));
    std::filesystem::create_directories(root_ + "/home/nvidia");
    Put("/etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nhost\n");
    Put("/etc/ssh/ssh_host_ed25519_key.pub", std::string(kPeerKey) + "\n");
    Put("/etc/ssh/ssh_host_ecdsa_key.pub", std::string(kHostKey) + " root@spark-001\n");
    Put("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n");
    env_ = NewRootedEnv(root_);
    // ssh-keygen makes the pair the way the real one does: 0600 private, 0644 public.
    runner_.Script("ssh-keygen", [](const std::vector<std::string>& argv, const ProcessOptions&) {
      ProcessResult derived;
      derived.exit_code = 0;
      derived.stdout_text = std::string(kUserKey) + "\n";
      if (argv[1] == "-y") return derived;  // the public half of an existing key
      const std::string& path = argv.back();
      std::ofstream(path) << "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET\n";
      std::ofstream(path + ".pub") << kUserKey << "\n";
      std::filesystem::permissions(path, std::filesystem::perms(0600));
      ProcessResult result;
      result.exit_code = 0;
      return result;
    });
    for (const char* tool : {"sshd", "systemctl"}) {
      runner_.Script(tool, [](const std::vector<std::string>&, const ProcessOptions&) {
        ProcessResult result;
        result.exit_code = 0;
        return result;
      });
    }
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Put(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    std::ofstream(root_ + path, std::ios::binary) << text;
  }
  std::string Read(const std::string& path) {
    std::ifstream in(root_ + path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  unsigned Mode(const std::string& path) { return env_->Stat(path)->mode & 07777; }

  v1::GenerateSshKeyRequest KeyRequest(bool dry_run = false) {
    v1::GenerateSshKeyRequest request;
    request.set_user("nvidia");
    request.set_dry_run(dry_run);
    return request;
  }
  v1::ConfigureSshRequest TrustRequest(bool harden = false) {
    v1::ConfigureSshRequest request;
    request.set_user("nvidia");
    request.add_authorized_keys(kUserKey);
    request.add_authorized_keys(kPeerKey);
    v1::KnownHost* host = request.add_known_hosts();
    host->add_names("spark-002");
    host->add_names("192.168.100.12");
    host->set_public_key(kHostKey);
    request.set_harden_sshd(harden);
    return request;
  }

  std::string root_;
  std::unique_ptr<Env> env_;
  ScriptedProcessRunner runner_;
};

TEST_F(SshTrustTest, GenerateMakesTheKeyOnceOwnedByTheUserAndListsHostKeys) {
  absl::StatusOr<v1::GenerateSshKeyReply> reply =
      GenerateSshKey(*env_, runner_, KeyRequest(), "spark-001");
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(runner_.calls().size(), 1u);
  EXPECT_THAT(runner_.calls()[0],
              ElementsAre("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nvidia@spark-001",
                          "-f", root_ + "/home/nvidia/.ssh/id_ed25519"));
  EXPECT_EQ(reply->public_key(), kUserKey);
  EXPECT_EQ(reply->private_key_path(), "/home/nvidia/.ssh/id_ed25519");
  EXPECT_EQ(reply->public_key_path(), "/home/nvidia/.ssh/id_ed25519.pub");
  EXPECT_THAT(reply->host_public_keys(),
              ElementsAre(std::string(kHostKey) + " root@spark-001", kPeerKey));
  EXPECT_EQ(Mode("/home/nvidia/.ssh"), 0700u);
  EXPECT_EQ(Mode("/home/nvidia/.ssh/id_ed25519"), 0600u);
  EXPECT_EQ(Mode("/home/nvidia/.ssh/id_ed25519.pub"), 0644u);
  EXPECT_EQ(env_->Stat("/home/nvidia/.ssh/id_ed25519")->uid, getuid());
  ASSERT_EQ(reply->changes_size(), 3);  // ~/.ssh, private key, public key
  for (const v1::ChangeReport& change : reply->changes()) {
    EXPECT_TRUE(change.changed()) << change.path();
    EXPECT_THAT(change.diff(), Not(HasSubstr("SECRET")));
    EXPECT_THAT(change.diff(), Not(HasSubstr("PRIVATE KEY")));
  }

  absl::StatusOr<v1::GenerateSshKeyReply> again =
      GenerateSshKey(*env_, runner_, KeyRequest(), "spark-001");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(runner_.calls().size(), 1u);  // the key exists: ssh-keygen is not run again
  EXPECT_EQ(again->public_key(), kUserKey);
  for (const v1::ChangeReport& change : again->changes()) {
    EXPECT_FALSE(change.changed()) << change.path();
  }
}

TEST_F(SshTrustTest, GenerateDryRunMakesNothingAndHasNoKeyYet) {
  absl::StatusOr<v1::GenerateSshKeyReply> reply =
      GenerateSshKey(*env_, runner_, KeyRequest(/*dry_run=*/true), "spark-001");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(runner_.calls(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/home/nvidia/.ssh"));
  EXPECT_EQ(reply->public_key(), "");
  EXPECT_EQ(reply->host_public_keys_size(), 2);
  ASSERT_EQ(reply->changes_size(), 3);
  EXPECT_TRUE(reply->changes(1).changed());
  EXPECT_THAT(reply->changes(1).diff(), HasSubstr("<redacted>"));
}

TEST_F(SshTrustTest, AnExistingKeyIsKeptAndAMissingPublicHalfIsDerived) {
  Put("/home/nvidia/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nOLD\n");
  std::filesystem::permissions(root_ + "/home/nvidia/.ssh", std::filesystem::perms(0700));
  std::filesystem::permissions(root_ + "/home/nvidia/.ssh/id_ed25519",
                               std::filesystem::perms(0600));
  absl::StatusOr<v1::GenerateSshKeyReply> reply =
      GenerateSshKey(*env_, runner_, KeyRequest(), "spark-001");
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(runner_.calls().size(), 1u);
  EXPECT_THAT(runner_.calls()[0],
              ElementsAre("ssh-keygen", "-y", "-f", root_ + "/home/nvidia/.ssh/id_ed25519"));
  EXPECT_EQ(Read("/home/nvidia/.ssh/id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nOLD\n");
  EXPECT_EQ(reply->public_key(), kUserKey);
  EXPECT_EQ(Mode("/home/nvidia/.ssh/id_ed25519.pub"), 0644u);
}

TEST_F(SshTrustTest, AnUnknownUserIsAPreconditionNamingUserAndNode) {
  v1::GenerateSshKeyRequest request = KeyRequest();
  request.set_user("mpiuser");
  absl::StatusOr<v1::GenerateSshKeyReply> reply =
      GenerateSshKey(*env_, runner_, request, "spark-001");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("\"mpiuser\" does not exist on spark-001"));
}

TEST_F(SshTrustTest, ALinkPlantedInPlaceOfTheKeyIsRefused) {
  std::filesystem::create_directories(root_ + "/home/nvidia/.ssh");
  std::filesystem::create_symlink("/etc/ssh/ssh_host_ed25519_key",
                                  root_ + "/home/nvidia/.ssh/id_ed25519");
  absl::StatusOr<v1::GenerateSshKeyReply> reply =
      GenerateSshKey(*env_, runner_, KeyRequest(), "spark-001");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("is a symlink"));
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(SshTrustTest, ConfigureKeepsTheAdminsLinesAndSetsModes) {
  std::filesystem::create_directories(root_ + "/home/nvidia/.ssh");
  std::filesystem::permissions(root_ + "/home/nvidia/.ssh", std::filesystem::perms(0755));
  Put("/home/nvidia/.ssh/authorized_keys", kAdminsOwnLines);
  absl::StatusOr<v1::ConfigureSshReply> reply =
      ConfigureSsh(*env_, runner_, TrustRequest(), "spark-001");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(Read("/home/nvidia/.ssh/authorized_keys"),
            absl::StrCat(kAdminsOwnLines, "# BEGIN sparkfleet\n", kUserKey, "\n", kPeerKey,
                         "\n# END sparkfleet\n"));
  EXPECT_EQ(Read("/home/nvidia/.ssh/known_hosts"),
            absl::StrCat("# BEGIN sparkfleet\nspark-002,192.168.100.12 ", kHostKey,
                         "\n# END sparkfleet\n"));
  EXPECT_EQ(Mode("/home/nvidia/.ssh"), 0700u);
  EXPECT_EQ(Mode("/home/nvidia/.ssh/authorized_keys"), 0600u);
  EXPECT_EQ(Mode("/home/nvidia/.ssh/known_hosts"), 0600u);
  EXPECT_FALSE(reply->sshd_reloaded());

  // A line the admin adds after our block, and a key dropped from the cluster.
  Put("/home/nvidia/.ssh/authorized_keys",
      Read("/home/nvidia/.ssh/authorized_keys") + "ssh-ed25519 AAAA-added-later\n");
  v1::ConfigureSshRequest fewer = TrustRequest();
  fewer.mutable_authorized_keys()->RemoveLast();
  ASSERT_TRUE(ConfigureSsh(*env_, runner_, fewer, "spark-001").ok());
  EXPECT_EQ(Read("/home/nvidia/.ssh/authorized_keys"),
            absl::StrCat(kAdminsOwnLines, "# BEGIN sparkfleet\n", kUserKey,
                         "\n# END sparkfleet\nssh-ed25519 AAAA-added-later\n"));
}

TEST_F(SshTrustTest, ConfigureTwiceChangesNothingTheSecondTime) {
  ASSERT_TRUE(ConfigureSsh(*env_, runner_, TrustRequest(/*harden=*/true), "spark-001").ok());
  EXPECT_EQ(runner_.calls().size(), 2u);  // sshd -t, reload
  absl::StatusOr<v1::ConfigureSshReply> again =
      ConfigureSsh(*env_, runner_, TrustRequest(/*harden=*/true), "spark-001");
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->changes_size(), 4);  // ~/.ssh, authorized_keys, known_hosts, drop-in
  for (const v1::ChangeReport& change : again->changes()) {
    EXPECT_FALSE(change.changed()) << change.path();
  }
  EXPECT_FALSE(again->sshd_reloaded());
  EXPECT_EQ(runner_.calls().size(), 2u);
}

TEST_F(SshTrustTest, ConfigureDryRunWritesNothing) {
  absl::StatusOr<v1::ConfigureSshReply> reply = ConfigureSsh(
      *env_, runner_,
      [&] {
        v1::ConfigureSshRequest request = TrustRequest(/*harden=*/true);
        request.set_dry_run(true);
        return request;
      }(),
      "spark-001");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(std::filesystem::exists(root_ + "/home/nvidia/.ssh"));
  EXPECT_FALSE(std::filesystem::exists(root_ + kSshdDropInPath));
  EXPECT_THAT(runner_.calls(), IsEmpty());
  ASSERT_EQ(reply->changes_size(), 4);
  EXPECT_THAT(reply->changes(1).diff(), HasSubstr(std::string("+") + kPeerKey));
  EXPECT_TRUE(reply->sshd_reloaded());  // would be
}

TEST_F(SshTrustTest, HardeningIsRefusedWhenTheUserWouldHaveNoKey) {
  v1::ConfigureSshRequest request = TrustRequest(/*harden=*/true);
  request.clear_authorized_keys();
  absl::StatusOr<v1::ConfigureSshReply> reply = ConfigureSsh(*env_, runner_, request, "spark-001");
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("has no authorized key"));
  EXPECT_FALSE(std::filesystem::exists(root_ + kSshdDropInPath));
}

}  // namespace
}  // namespace sparkfleet
