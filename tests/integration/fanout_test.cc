// sparkctl against real agents: a slow or dead node costs at most the timeout and is
// reported with its own error, the others answer, and the exit code says so.
#include <signal.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;

std::string EntryOf(const std::string& json, const std::string& node) {
  size_t start = json.find(absl::StrCat("{\"node\":\"", node, "\""));
  if (start == std::string::npos) return "";
  size_t end = json.find("{\"node\":", start + 1);
  return json.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(FanOutIntegration, DeadAndStoppedNodesFailAloneWithinTheTimeout) {
  ClusterHarness cluster;
  std::vector<AgentProcess*> agents;
  for (const char* name : {"spark-001", "spark-002", "spark-003", "spark-004", "spark-005"}) {
    absl::StatusOr<AgentProcess*> agent = cluster.StartAgent(name);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agents.push_back(*agent);
  }
  std::string yaml = cluster.WriteClusterYaml(agents, "admin");
  // spark-004 is killed (connection refused); spark-005 is stopped (accepts TCP, never
  // answers), the case that hangs naive tools.
  agents[3]->process->Signal(SIGKILL);
  ASSERT_TRUE(agents[3]->process->WaitExit(absl::Seconds(5)).has_value());
  agents[4]->process->Signal(SIGSTOP);

  absl::Time start = absl::Now();
  ProcessResult run = cluster.RunSparkctl({"-c", yaml, "--json", "--timeout", "2", "status"});
  absl::Duration took = absl::Now() - start;
  agents[4]->process->Signal(SIGCONT);

  EXPECT_EQ(run.exit_code, 2) << run.stderr_text;
  EXPECT_LT(took, absl::Seconds(3)) << "timeout 2 s + 1 s";
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(EntryOf(run.stdout_text, agents[i]->name), HasSubstr("\"ok\":true"))
        << run.stdout_text;
  }
  std::string killed = EntryOf(run.stdout_text, "spark-004");
  EXPECT_THAT(killed, HasSubstr("\"ok\":false"));
  EXPECT_THAT(killed, HasSubstr("\"code\":\"UNAVAILABLE\""));
  EXPECT_THAT(killed, HasSubstr(absl::StrCat("127.0.0.1:", agents[3]->port)));
  std::string stopped = EntryOf(run.stdout_text, "spark-005");
  EXPECT_THAT(stopped, HasSubstr("\"code\":\"DEADLINE_EXCEEDED\""));
  EXPECT_THAT(run.stdout_text, HasSubstr("\"summary\":{\"ok\":3,\"failed\":2}"));
}

TEST(FanOutIntegration, TableNamesEveryFailedNodeAndExitsTwo) {
  ClusterHarness cluster;
  absl::StatusOr<AgentProcess*> agent = cluster.StartAgent("spark-001");
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::string yaml = cluster.WriteClusterYaml(
      {*agent}, "admin", "  - {hostname: spark-002, ip: 127.0.0.1, user: root, port: 1}\n");
  ProcessResult run = cluster.RunSparkctl({"-c", yaml, "status"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-001"));
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-002: UNAVAILABLE"));
  EXPECT_THAT(run.stdout_text, HasSubstr("1 ok, 1 failed"));
}

TEST(FanOutIntegration, AllNodesOkExitsZeroAndLimitSelects) {
  ClusterHarness cluster;
  absl::StatusOr<AgentProcess*> a = cluster.StartAgent("spark-001");
  absl::StatusOr<AgentProcess*> b = cluster.StartAgent("spark-002");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string yaml = cluster.WriteClusterYaml({*a, *b}, "admin");
  ProcessResult run = cluster.RunSparkctl({"-c", yaml, "--json", "--limit", "spark-002", "info"});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("\"hostname\":\"spark-002\""));
  EXPECT_THAT(run.stdout_text, ::testing::Not(HasSubstr("spark-001")));
  ProcessResult bad = cluster.RunSparkctl({"-c", yaml, "--limit", "spark-009", "status"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.stderr_text, HasSubstr("spark-009"));
}

TEST(FanOutIntegration, BadConfigIsExitOneAndContactsNoNode) {
  ClusterHarness cluster;
  std::string path = cluster.dir() + "/bad.yaml";
  std::ofstream(path) << "cluster_name: x\nnodes:\n  - {hostname: a, ip: 192.168.1.300, user: u}\n";
  ProcessResult run = cluster.RunSparkctl({"-c", path, "status"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.stderr_text, HasSubstr("bad.yaml:3:"));
  EXPECT_THAT(run.stderr_text, HasSubstr("192.168.1.300"));
}

}  // namespace
}  // namespace sparkfleet::testing
