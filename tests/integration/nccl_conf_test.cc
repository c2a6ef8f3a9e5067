// `sparkctl nccl` against real agents whose roots are copies of the DGX Spark fixture:
// --check changes nothing, the first run writes nccl.conf from each node's own probe,
// and the second run changes nothing, down to the file's mtime.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNcclSection[] = R"(nccl:
  install: none
  env: {NCCL_DEBUG: WARN}
  nodes:
    spark-002: {gid_index: 4}
)";

std::string SparkFixture() {
  return std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark";
}

TEST(NcclConfIntegration, CheckThenWriteThenNothingToDo) {
  ClusterHarness cluster;
  std::vector<AgentProcess*> agents;
  for (const char* name : {"spark-001", "spark-002"}) {
    absl::StatusOr<AgentProcess*> agent = cluster.StartAgent(name, {}, SparkFixture());
    ASSERT_TRUE(agent.ok()) << agent.status();
    agents.push_back(*agent);
  }
  std::string yaml = cluster.WriteClusterYaml(agents, "admin");
  std::ofstream(yaml, std::ios::app) << kNcclSection;
  auto conf = [&](int i) { return agents[i]->root + "/etc/nccl.conf"; };

  ProcessResult check = cluster.RunSparkctl({"-c", yaml, "nccl", "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.stdout_text << check.stderr_text;
  EXPECT_THAT(check.stdout_text, HasSubstr("== spark-001: /etc/nccl.conf\n--- /dev/null\n"));
  EXPECT_THAT(check.stdout_text, HasSubstr("+NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n"));
  EXPECT_THAT(check.stdout_text, HasSubstr("0 ok, 2 would change, 0 failed (check: nothing"));
  EXPECT_FALSE(std::filesystem::exists(conf(0)));
  EXPECT_FALSE(std::filesystem::exists(conf(1)));

  ProcessResult write = cluster.RunSparkctl({"-c", yaml, "nccl"});
  EXPECT_EQ(write.exit_code, 0) << write.stdout_text << write.stderr_text;
  EXPECT_THAT(write.stdout_text, HasSubstr("0 ok, 2 changed, 0 failed"));
  std::string first = ClusterHarness::ReadFile(conf(0));
  EXPECT_THAT(first, HasSubstr("\nNCCL_DEBUG=WARN\nNCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n"
                               "NCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1\n"));
  EXPECT_THAT(first, Not(HasSubstr("NCCL_IB_GID_INDEX")));
  EXPECT_THAT(first, Not(HasSubstr("tailscale0")));
  EXPECT_THAT(ClusterHarness::ReadFile(conf(1)), HasSubstr("\nNCCL_IB_GID_INDEX=4\n"));
  auto mtime = std::filesystem::last_write_time(conf(0));

  ProcessResult again = cluster.RunSparkctl({"-c", yaml, "--json", "nccl"});
  EXPECT_EQ(again.exit_code, 0) << again.stdout_text << again.stderr_text;
  EXPECT_THAT(again.stdout_text, HasSubstr("\"changed\":false"));
  EXPECT_THAT(again.stdout_text, Not(HasSubstr("\"changed\":true")));
  EXPECT_THAT(again.stdout_text, HasSubstr("\"summary\":{\"ok\":2,\"failed\":0}"));
  EXPECT_EQ(ClusterHarness::ReadFile(conf(0)), first);
  EXPECT_EQ(std::filesystem::last_write_time(conf(0)), mtime);

  ProcessResult read = cluster.RunSparkctl({"-c", yaml, "nccl-conf"});
  EXPECT_EQ(read.exit_code, 0) << read.stdout_text << read.stderr_text;
  EXPECT_THAT(read.stdout_text, HasSubstr("/etc/nccl.conf: 3 settings, 0 problems"));
  EXPECT_THAT(read.stdout_text,
              HasSubstr("NCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1  (/etc/nccl.conf:7)"));
}

TEST(NcclConfIntegration, ReaderRoleCannotWriteAndBadEnvIsRefusedBeforeAnyNode) {
  ClusterHarness cluster;
  absl::StatusOr<AgentProcess*> agent = cluster.StartAgent("spark-001", {}, SparkFixture());
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::string reader = cluster.WriteClusterYaml({*agent}, "reader");
  std::ofstream(reader, std::ios::app) << "nccl: {install: none}\n";
  ProcessResult refused = cluster.RunSparkctl({"-c", reader, "nccl"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.stdout_text, HasSubstr("PERMISSION_DENIED"));
  EXPECT_FALSE(std::filesystem::exists((*agent)->root + "/etc/nccl.conf"));

  std::string bad = cluster.WriteClusterYaml({*agent}, "admin");
  std::ofstream(bad, std::ios::app) << "nccl:\n  env: {NCCL_DEBUG: \"INFO # x\"}\n";
  ProcessResult invalid = cluster.RunSparkctl({"-c", bad, "nccl"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_THAT(invalid.stderr_text, HasSubstr("nccl.env.NCCL_DEBUG"));
}

}  // namespace
}  // namespace sparkfleet::testing
