#include "coordinator/validate/rdma_lanes.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A DGX Spark's four RDMA devices in probe (PCI) order; `active` are those cabled.
v1::ProbeReply Spark(const std::vector<std::string>& active) {
  v1::ProbeReply probe;
  for (const char* name : {"rocep1s0f0", "rocep1s0f1", "roceP2p1s0f0", "roceP2p1s0f1"}) {
    v1::RdmaDevice* device = probe.add_rdma_devices();
    device->set_name(name);
    v1::RdmaPort* port = device->add_ports();
    port->set_port(1);
    bool up = std::find(active.begin(), active.end(), name) != active.end();
    port->set_state(up ? v1::RDMA_PORT_STATE_ACTIVE : v1::RDMA_PORT_STATE_DOWN);
  }
  return probe;
}

TEST(ChooseRdmaLanes, PairsBothHalvesOfTheCabledSparkPortInOrder) {
  absl::StatusOr<RdmaLanes> lanes =
      ChooseRdmaLanes("spark-001", Spark({"rocep1s0f1", "roceP2p1s0f1"}), "spark-002",
                      Spark({"roceP2p1s0f1", "rocep1s0f1"}));
  ASSERT_TRUE(lanes.ok()) << lanes.status();
  EXPECT_THAT(lanes->sender_devices, ElementsAre("rocep1s0f1", "roceP2p1s0f1"));
  EXPECT_THAT(lanes->receiver_devices, ElementsAre("rocep1s0f1", "roceP2p1s0f1"));
}

TEST(ChooseRdmaLanes, CablesInDifferentPortsStillPairByOrder) {
  absl::StatusOr<RdmaLanes> lanes = ChooseRdmaLanes(
      "spark-001", Spark({"rocep1s0f0", "roceP2p1s0f0"}), "spark-002", Spark({"rocep1s0f1"}));
  ASSERT_TRUE(lanes.ok()) << lanes.status();
  EXPECT_THAT(lanes->sender_devices, ElementsAre("rocep1s0f0"));
  EXPECT_THAT(lanes->receiver_devices, ElementsAre("rocep1s0f1"));
}

TEST(ChooseRdmaLanes, NodeWithoutDevicesOrWithoutCableSaysWhich) {
  absl::Status none =
      ChooseRdmaLanes("spark-001", Spark({"rocep1s0f1"}), "vm-001", v1::ProbeReply()).status();
  EXPECT_EQ(none.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(none.message(), "no RDMA device on vm-001");
  absl::Status down =
      ChooseRdmaLanes("spark-001", Spark({}), "spark-002", Spark({"rocep1s0f1"})).status();
  EXPECT_THAT(down.message(),
              HasSubstr("no active RDMA port on spark-001 (rocep1s0f0 down, rocep1s0f1 down, "
                        "roceP2p1s0f0 down, roceP2p1s0f1 down)"));
}

TEST(PerftestMissing, OnlyTheAgentsNotInstalledAnswer) {
  EXPECT_TRUE(PerftestMissing(absl::FailedPreconditionError(
      "ib_write_bw (perftest) is not installed on spark-002; apt-get install perftest")));
  EXPECT_FALSE(PerftestMissing(absl::FailedPreconditionError(
      "ib_write_bw on spark-001: rocep1s0f1 -> 10.0.0.2:40000: Couldn't connect")));
  EXPECT_FALSE(PerftestMissing(absl::UnavailableError("(perftest) is not installed")));
}

}  // namespace
}  // namespace sparkfleet
