#include "coordinator/commands/bootstrap_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "coordinator/pki.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

BootstrapNodeResult Result(const std::string& node, BootstrapState state) {
  BootstrapNodeResult result;
  result.node = node;
  result.state = state;
  result.duration = absl::Milliseconds(1500);
  return result;
}

std::vector<BootstrapNodeResult> ThreeNodes() {
  BootstrapNodeResult ok = Result("spark-001", BootstrapState::kOk);
  BootstrapNodeResult changed = Result("spark-002", BootstrapState::kChanged);
  changed.changed_files = {"/usr/local/bin/spark-agent"};
  changed.service_actions = {"restart"};
  BootstrapNodeResult failed = Result("spark-003", BootstrapState::kFailed);
  failed.failed_step = "connect";
  failed.error = absl::UnavailableError("`id -u` on nvidia@10.0.0.3: exit status 255: timed out");
  return {ok, changed, failed};
}

TEST(BootstrapRecap, ShowsEachNodeTheFailedStepAndWhatWasReplaced) {
  std::string recap = RenderBootstrapRecap(ThreeNodes(), /*check=*/false);
  EXPECT_THAT(recap, HasSubstr("NODE       RESULT   FILES      SERVICE  TIME\n"));
  EXPECT_THAT(recap, HasSubstr("spark-002  changed  1 changed  restart  1.5 s\n"));
  EXPECT_THAT(recap, HasSubstr("spark-003  failed   -          -        1.5 s\n"));
  EXPECT_THAT(recap, HasSubstr("  spark-003: connect: UNAVAILABLE: `id -u` on nvidia@10.0.0.3"));
  EXPECT_THAT(recap, HasSubstr("replaced:\n  spark-002: /usr/local/bin/spark-agent\n"));
  EXPECT_THAT(recap, HasSubstr("\n1 ok, 1 changed, 1 failed\n"));
}

TEST(BootstrapRecap, CheckSaysNothingWasChanged) {
  std::string recap = RenderBootstrapRecap(ThreeNodes(), /*check=*/true);
  EXPECT_THAT(recap, HasSubstr("would replace:\n"));
  EXPECT_THAT(recap, HasSubstr("1 ok, 1 would change, 1 failed (check: nothing was changed)"));
}

TEST(BootstrapJson, KeepsTheFanOutShapeWithStateAndStep) {
  std::string json = BootstrapJson(ThreeNodes());
  EXPECT_THAT(json, HasSubstr("{\"node\":\"spark-002\",\"ok\":true,\"duration_ms\":1500,"
                              "\"result\":{\"state\":\"changed\",\"changed_files\":[\"/usr/"
                              "local/bin/spark-agent\"],\"service_actions\":[\"restart\"]}}"));
  EXPECT_THAT(json, HasSubstr("\"error\":{\"code\":\"UNAVAILABLE\",\"message\":"));
  EXPECT_THAT(json, HasSubstr("\"step\":\"connect\"}"));
  EXPECT_THAT(json, HasSubstr("\"summary\":{\"ok\":2,\"failed\":1}"));
}

class BootstrapCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/bootstrap_command.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(InitCa(dir_ + "/pki").ok());
    ASSERT_TRUE(IssueClientCertificate(dir_ + "/pki", "admin", Role::kAdmin).ok());
    std::ofstream(dir_ + "/agent") << "#!/bin/true\n";
    std::filesystem::permissions(dir_ + "/agent", std::filesystem::perms::owner_all);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes cluster.yaml with `extra` top-level keys and runs `sparkctl -c it ARGS...`.
  int Run(const std::string& extra, std::vector<std::string> args) {
    std::ofstream(dir_ + "/cluster.yaml")
        << "cluster_name: t\n"
        << extra
        << "nodes:\n  - {hostname: spark-001, ip: 192.168.100.10, user: nvidia}\n"
           "agent:\n  tls: {ca: pki/ca.crt, cert: pki/admin.crt, key: pki/admin.key}\n";
    CommandContext context;
    context.out = &out_;
    context.err = &err_;
    context.globals.config_path = dir_ + "/cluster.yaml";
    CLI::App app("sparkctl");
    RegisterBootstrapCommand(app, context);
    args.insert(args.begin(), {"sparkctl", "bootstrap", "--agent", dir_ + "/agent"});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& error) {
      return app.exit(error, out_, err_) == 0 ? kExitOk : kExitUsageError;
    }
    return context.exit_code;
  }

  std::string dir_;
  std::ostringstream out_, err_;
};

TEST_F(BootstrapCommandTest, WithoutSshKeyPathNothingIsContacted) {
  EXPECT_EQ(Run("", {"--accept-new-host-keys"}), kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("ssh_key_path is required by bootstrap"));
}

TEST_F(BootstrapCommandTest, AMissingKnownHostsFileSaysHowToTrustTheNodes) {
  std::ofstream(dir_ + "/id_ed25519") << "key\n";
  EXPECT_EQ(Run("ssh_key_path: id_ed25519\n", {"--known-hosts", dir_ + "/none"}), kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("does not exist"));
  EXPECT_THAT(err_.str(), HasSubstr("--accept-new-host-keys"));
}

TEST_F(BootstrapCommandTest, AMissingCaSaysHowToMakeIt) {
  std::ofstream(dir_ + "/id_ed25519") << "key\n";
  EXPECT_EQ(Run("ssh_key_path: id_ed25519\n", {"--accept-new-host-keys", "--pki", dir_}),
            kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("sparkctl pki init --dir " + dir_));
}

}  // namespace
}  // namespace sparkfleet
