// sparkctl bootstrap against real agents on loopback: the gRPC health wait, and the whole
// command with doubles of ssh and scp first on PATH (bootstrap_doubles/), which act as a
// node without an agent while the harness's real agent answers the health check.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/process_runner.h"
#include "common/tls.h"
#include "coordinator/bootstrap_health.h"
#include "tests/integration/harness.h"

namespace sparkfleet {
namespace {

using testing::ClusterHarness;
using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<grpc::ChannelCredentials> AdminCredentials(const ClusterHarness& cluster) {
  auto credentials = MakeClientCredentials(
      {cluster.pki() + "/ca.crt", cluster.pki() + "/admin.crt", cluster.pki() + "/admin.key"});
  EXPECT_TRUE(credentials.ok()) << credentials.status();
  return credentials.ok() ? *credentials : nullptr;
}

TEST(BootstrapHealth, ARunningAgentReportsServingOverMutualTls) {
  ClusterHarness cluster;
  auto agent = cluster.StartAgent("spark-001");
  ASSERT_TRUE(agent.ok()) << agent.status();
  ClusterNode node{"spark-001", "127.0.0.1", "root", static_cast<uint16_t>((*agent)->port)};
  AgentHealthCheck check = NewGrpcHealthCheck(AdminCredentials(cluster));
  EXPECT_TRUE(WaitUntilServing(check, node, absl::Seconds(10)).ok());
}

TEST(BootstrapHealth, NoAgentOnThePortFailsAfterTheDeadlineWithTheLastError) {
  ClusterHarness cluster;
  auto agent = cluster.StartAgent("spark-001");
  ASSERT_TRUE(agent.ok()) << agent.status();
  int port = (*agent)->port;
  (*agent)->process->Signal(SIGTERM);
  ASSERT_TRUE((*agent)->process->WaitExit(absl::Seconds(5)).has_value());
  ClusterNode node{"spark-001", "127.0.0.1", "root", static_cast<uint16_t>(port)};
  absl::Time start = absl::Now();
  absl::Status status = WaitUntilServing(NewGrpcHealthCheck(AdminCredentials(cluster)), node,
                                         absl::Seconds(1), absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("did not report SERVING"));
}

TEST(BootstrapCommand, InstallsOverSshDoublesAndWaitsForTheRealAgent) {
  ClusterHarness cluster;
  auto agent = cluster.StartAgent("spark-001");
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::string yaml = cluster.WriteClusterYaml({*agent}, "admin");
  std::ofstream(yaml, std::ios::app) << "ssh_key_path: id_ed25519\n";
  std::ofstream(cluster.dir() + "/id_ed25519") << "not a real key\n";
  std::string log = cluster.dir() + "/bootstrap.log";

  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({BOOTSTRAP_DOUBLES_DIR});
  ProcessOptions options;
  options.timeout = absl::Seconds(60);
  options.env = {{"BOOTSTRAP_LOG", log}};
  auto result = runner->Run({SPARKCTL_PATH, "-c", yaml, "bootstrap", "--agent", SPARK_AGENT_PATH,
                             "--accept-new-host-keys", "--known-hosts",
                             cluster.dir() + "/known_hosts", "--health-timeout", "20"},
                            options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->stdout_text << result->stderr_text;
  EXPECT_THAT(result->stdout_text, HasSubstr("spark-001  changed"));
  EXPECT_THAT(result->stdout_text, HasSubstr("0 ok, 1 changed, 0 failed"));
  std::string calls = ClusterHarness::ReadFile(log);
  EXPECT_THAT(calls, HasSubstr("StrictHostKeyChecking=accept-new"));
  EXPECT_THAT(calls, Not(HasSubstr("StrictHostKeyChecking=no")));
  EXPECT_THAT(calls, HasSubstr("'systemctl' 'enable' '--now' 'spark-agent.service'"));
  EXPECT_THAT(calls, HasSubstr("'/etc/sparkfleet/node.key'"));
  EXPECT_THAT(calls, HasSubstr("scp "));
}

TEST(BootstrapCommand, WithoutKnownHostsOrAcceptNewNothingIsContacted) {
  ClusterHarness cluster;
  auto agent = cluster.StartAgent("spark-001");
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::string yaml = cluster.WriteClusterYaml({*agent}, "admin");
  std::ofstream(yaml, std::ios::app) << "ssh_key_path: id_ed25519\n";
  std::ofstream(cluster.dir() + "/id_ed25519") << "not a real key\n";
  ProcessResult result =
      cluster.RunSparkctl({"-c", yaml, "bootstrap", "--agent", SPARK_AGENT_PATH, "--known-hosts",
                           cluster.dir() + "/no_such_known_hosts"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, HasSubstr("--accept-new-host-keys"));
}

}  // namespace
}  // namespace sparkfleet
