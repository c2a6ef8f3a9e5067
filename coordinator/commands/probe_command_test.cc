#include "coordinator/commands/probe_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "node_agent/probe/probe.h"

namespace sparkfleet {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

v1::ProbeReply ProbeSparkFixture() {
  std::unique_ptr<Env> env =
      NewRootedEnv(std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark");
  return ProbeHardware(*env, v1::ProbeRequest());
}

std::vector<std::string> Lines(absl::string_view text) { return absl::StrSplit(text, '\n'); }

std::vector<std::string> Words(absl::string_view line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

// The index of the first line starting with `prefix`, or -1.
int FindLine(const std::vector<std::string>& lines, absl::string_view prefix) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (absl::StartsWith(lines[i], prefix)) return static_cast<int>(i);
  }
  return -1;
}

TEST(RenderTopology, HeadsTheMatrixWithTheNodeName) {
  std::vector<std::string> lines = Lines(RenderTopology("spark-001", ProbeSparkFixture()));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("spark-001"));
  EXPECT_THAT(Words(lines[1]), ElementsAre("GPU0", "NIC0", "NIC1", "NIC2", "NIC3", "NIC4", "CPU",
                                           "Affinity", "NUMA", "Affinity"));
}

TEST(RenderTopology, PrintsRowsLikeNvidiaSmiTopo) {
  std::vector<std::string> lines = Lines(RenderTopology("spark-001", ProbeSparkFixture()));
  ASSERT_GE(lines.size(), 8u);
  EXPECT_THAT(Words(lines[2]),
              ElementsAre("GPU0", "X", "NODE", "NODE", "NODE", "NODE", "NODE", "0-19", "0"));
  EXPECT_THAT(Words(lines[3]), ElementsAre("NIC0", "NODE", "X", "PIX", "NODE", "NODE", "NODE"));
  EXPECT_THAT(Words(lines[4]), ElementsAre("NIC1", "NODE", "PIX", "X", "NODE", "NODE", "NODE"));
  EXPECT_THAT(Words(lines[5]), ElementsAre("NIC2", "NODE", "NODE", "NODE", "X", "PIX", "NODE"));
  EXPECT_THAT(Words(lines[6]), ElementsAre("NIC3", "NODE", "NODE", "NODE", "PIX", "X", "NODE"));
  EXPECT_THAT(Words(lines[7]), ElementsAre("NIC4", "NODE", "NODE", "NODE", "NODE", "NODE", "X"));
}

TEST(RenderTopology, AlignsAffinityUnderItsColumnHeadings) {
  std::vector<std::string> lines = Lines(RenderTopology("spark-001", ProbeSparkFixture()));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[2].find("0-19"), lines[1].find("CPU Affinity"));
  EXPECT_EQ(lines[2].rfind(" 0") + 1, lines[1].find("NUMA Affinity"));
  EXPECT_EQ(lines[2].find("NODE"), lines[1].find("NIC0"));
}

TEST(RenderTopology, EndsWithTheLegendAndTheNicLegend) {
  std::vector<std::string> lines = Lines(RenderTopology("spark-001", ProbeSparkFixture()));
  int legend = FindLine(lines, "Legend:");
  int nic_legend = FindLine(lines, "NIC Legend");
  ASSERT_GE(legend, 0);
  ASSERT_GT(nic_legend, legend);
  EXPECT_THAT(lines,
              Contains(HasSubstr("PIX  = Connection traversing at most a single PCIe bridge")));
  std::vector<std::string> nics(lines.begin() + nic_legend + 1, lines.end());
  EXPECT_THAT(nics, Contains(HasSubstr("NIC0: rocep1s0f0 (enp1s0f0np0)")));
  EXPECT_THAT(nics, Contains(HasSubstr("NIC3: roceP2p1s0f1 (enP2p1s0f1np1)")));
  EXPECT_THAT(nics, Contains(HasSubstr("NIC4: enP7s7")));
}

TEST(RenderTopology, SaysSoWhenThereIsNothingToRelate) {
  std::string out = RenderTopology("vm-01", v1::ProbeReply());
  EXPECT_THAT(out, HasSubstr("vm-01"));
  EXPECT_THAT(out, HasSubstr("no GPUs or NICs"));
  EXPECT_THAT(out, Not(HasSubstr("Legend")));
}

TEST(RenderProbeSummary, ListsPhysicalInterfacesRdmaDevicesAndTheGpu) {
  std::string out = RenderProbeSummary("spark-001", ProbeSparkFixture());
  std::vector<std::string> lines = Lines(out);
  EXPECT_THAT(lines[0], HasSubstr("spark-001"));
  int cabled = FindLine(lines, "  enp1s0f1np1");
  ASSERT_GE(cabled, 0) << out;
  EXPECT_THAT(Words(lines[cabled]), Contains("cabled"));
  EXPECT_THAT(Words(lines[cabled]), Contains("192.168.100.10/24"));
  EXPECT_THAT(Words(lines[cabled]), Contains("rocep1s0f1"));
  int rdma = FindLine(lines, "  roceP2p1s0f1");
  ASSERT_GE(rdma, 0) << out;
  EXPECT_THAT(Words(lines[rdma]), Contains("ACTIVE"));
  EXPECT_THAT(Words(lines[rdma]), Contains("3"));
  EXPECT_THAT(out, HasSubstr("000f:01:00.0"));
  EXPECT_THAT(out, HasSubstr("580.95.05"));
  EXPECT_THAT(out, Not(HasSubstr("tailscale0")));
  EXPECT_THAT(out, Not(HasSubstr("docker0")));
  EXPECT_THAT(out, Not(HasSubstr("warning")));
}

}  // namespace
}  // namespace sparkfleet
