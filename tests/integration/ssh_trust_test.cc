// GenerateSshKey and ConfigureSsh over mTLS through a real spark-agent whose --root holds
// a user and an sshd_config: the real ssh-keygen makes the key once; authorized_keys,
// known_hosts and the sshd drop-in are written once and a re-run changes nothing; an
// option sshd rejects leaves the previous drop-in in place. sshd and systemctl are
// contract doubles on --tool-path (the real ones would act on this machine's sshd).
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kHostKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPJqZe2OfgWlPdHoAzrmhGpn8DGGzynmMixrlIGwzhb";

// `sshd -t -f CONFIG` double: rejects a drop-in line "LogLevel BOGUS", as sshd does a
// log level it does not know (unknown keywords the agent refuses itself). `systemctl`
// double: succeeds. Both log their argv to LOG.
void WriteTools(const std::string& dir, const std::string& log) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/sshd") << "#!/bin/sh\necho \"sshd $*\" >> '" << log << "'\n"
                               << "conf_dir=$(dirname \"$3\")/sshd_config.d\n"
                               << "if grep -qs '^LogLevel BOGUS' \"$conf_dir\"/*.conf; then\n"
                               << "  echo \"$conf_dir: unsupported log level 'BOGUS'\" >&2\n"
                               << "  exit 255\nfi\n";
  std::ofstream(dir + "/systemctl") << "#!/bin/sh\necho \"systemctl $*\" >> '" << log << "'\n";
  chmod((dir + "/sshd").c_str(), 0755);
  chmod((dir + "/systemctl").c_str(), 0755);
}

void WriteSeed(const std::string& seed) {
  std::filesystem::create_directories(seed + "/home/nvidia");
  std::filesystem::create_directories(seed + "/etc/ssh/sshd_config.d");
  std::ofstream(seed + "/etc/passwd") << "root:x:0:0:root:/root:/bin/bash\nnvidia:x:" << getuid()
                                      << ":" << getgid() << "::/home/nvidia:/bin/bash\n";
  std::ofstream(seed + "/etc/ssh/sshd_config")
      << "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\n";
  std::ofstream(seed + "/etc/ssh/ssh_host_ed25519_key.pub") << kHostKey << " root@spark-001\n";
}

class SshTrustIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteTools(cluster_.dir() + "/tools", log_);
    WriteSeed(cluster_.dir() + "/seed");
    absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent(
        "spark-001", {"--tool-path=" + cluster_.dir() + "/tools"}, cluster_.dir() + "/seed");
    ASSERT_TRUE(agent.ok()) << agent.status();
    root_ = (*agent)->root;
    auto credentials = MakeClientCredentials(
        {cluster_.pki() + "/ca.crt", cluster_.pki() + "/admin.crt", cluster_.pki() + "/admin.key"});
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    stub_ = v1::NodeAgent::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*agent)->port), *credentials));
  }

  grpc::Status Generate(bool dry_run, v1::GenerateSshKeyReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GenerateSshKeyRequest request;
    request.set_user("nvidia");
    request.set_dry_run(dry_run);
    return stub_->GenerateSshKey(&context, request, reply);
  }
  grpc::Status Configure(const v1::ConfigureSshRequest& request, v1::ConfigureSshReply* reply) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub_->ConfigureSsh(&context, request, reply);
  }
  std::string Log() { return ClusterHarness::ReadFile(log_); }

  ClusterHarness cluster_;
  const std::string log_ = cluster_.dir() + "/tools.log";
  std::string root_;
  std::unique_ptr<v1::NodeAgent::Stub> stub_;
};

TEST_F(SshTrustIntegration, KeyOnceThenTrustAndHardeningOnceThenNothing) {
  v1::GenerateSshKeyReply planned;
  ASSERT_TRUE(Generate(/*dry_run=*/true, &planned).ok());
  EXPECT_EQ(planned.public_key(), "");
  EXPECT_FALSE(std::filesystem::exists(root_ + "/home/nvidia/.ssh"));

  v1::GenerateSshKeyReply made;
  grpc::Status status = Generate(false, &made);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(made.public_key(), StartsWith("ssh-ed25519 AAAA"));
  EXPECT_THAT(made.public_key(), HasSubstr(" nvidia@spark-001"));
  ASSERT_EQ(made.host_public_keys_size(), 1);
  const std::string private_key = root_ + "/home/nvidia/.ssh/id_ed25519";
  EXPECT_EQ(std::filesystem::status(private_key).permissions(), std::filesystem::perms(0600));
  for (const v1::ChangeReport& change : made.changes()) {
    EXPECT_THAT(change.diff(), ::testing::Not(HasSubstr("PRIVATE KEY")));
  }
  const std::string key_text = ClusterHarness::ReadFile(private_key);
  v1::GenerateSshKeyReply again;
  ASSERT_TRUE(Generate(false, &again).ok());
  EXPECT_EQ(again.public_key(), made.public_key());
  EXPECT_EQ(ClusterHarness::ReadFile(private_key), key_text);

  v1::ConfigureSshRequest request;
  request.set_user("nvidia");
  request.add_authorized_keys(made.public_key());
  v1::KnownHost* host = request.add_known_hosts();
  host->add_names("spark-001");
  host->add_names("127.0.0.1");
  host->set_public_key(made.host_public_keys(0));
  request.set_harden_sshd(true);
  v1::ConfigureSshReply first;
  status = Configure(request, &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(first.sshd_reloaded());
  EXPECT_THAT(ClusterHarness::ReadFile(root_ + "/home/nvidia/.ssh/known_hosts"),
              HasSubstr(absl::StrCat("spark-001,127.0.0.1 ", kHostKey, "\n")));
  EXPECT_EQ(Log(), absl::StrCat("sshd -t -f ", root_,
                                "/etc/ssh/sshd_config\nsystemctl try-reload-or-restart "
                                "ssh.service\n"));
  const std::string drop_in = root_ + "/etc/ssh/sshd_config.d/10-sparkfleet.conf";
  const std::string hardened = ClusterHarness::ReadFile(drop_in);
  EXPECT_THAT(hardened, HasSubstr("PasswordAuthentication no\n"));

  v1::ConfigureSshReply second;
  ASSERT_TRUE(Configure(request, &second).ok());
  EXPECT_FALSE(second.sshd_reloaded());
  for (const v1::ChangeReport& change : second.changes()) {
    EXPECT_FALSE(change.changed()) << change.path();
  }
  EXPECT_THAT(Log(), ::testing::EndsWith("ssh.service\n"));  // nothing run again
  std::vector<std::string> runs = absl::StrSplit(Log(), '\n', absl::SkipEmpty());
  EXPECT_EQ(runs.size(), 2u) << Log();

  (*request.mutable_sshd_options())["LogLevel"] = "BOGUS";
  v1::ConfigureSshReply rejected;
  status = Configure(request, &rejected);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("unsupported log level 'BOGUS'"));
  EXPECT_THAT(status.error_message(), HasSubstr("sshd was not reloaded"));
  EXPECT_EQ(ClusterHarness::ReadFile(drop_in), hardened);
  EXPECT_THAT(Log(), ::testing::Not(HasSubstr("ssh.service\nsystemctl")));
}

TEST_F(SshTrustIntegration, ABadKeyIsRefusedNamingItsIndex) {
  v1::ConfigureSshRequest request;
  request.set_user("nvidia");
  request.add_authorized_keys("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5");
  v1::ConfigureSshReply reply;
  grpc::Status status = Configure(request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("authorized_keys[0]"));
  EXPECT_FALSE(std::filesystem::exists(root_ + "/home/nvidia/.ssh"));
}

}  // namespace
}  // namespace sparkfleet::testing
