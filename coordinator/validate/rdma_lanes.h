// Which RDMA devices `sparkctl validate --tests rdma` runs ib_write_bw between, and
// when an RDMA check is skipped rather than failed. Pure.
//
// A node's cabled devices are those with an ACTIVE port, in the probe's order (by PCI
// address): on a DGX Spark the two halves of the cabled QSFP port, e.g. rocep1s0f1 and
// roceP2p1s0f1, which together carry its ~200 Gb/s. The sender's i-th cabled device is
// paired with the receiver's i-th, and every pair runs at once.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_RDMA_LANES_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_RDMA_LANES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

struct RdmaLanes {
  std::vector<std::string> sender_devices;    // BandwidthTestRequest.rdma_devices
  std::vector<std::string> receiver_devices;  // BandwidthServeRequest.rdma_devices
};

// The devices of `probe` with an ACTIVE port, in probe order.
std::vector<std::string> ActiveRdmaDevices(const v1::ProbeReply& probe);

// The lanes from `sender` to `receiver` (node names for messages). FAILED_PRECONDITION
// saying why there are none: a node without RDMA devices, or without an active port
// (each device's port state listed). The check is then skipped, not failed.
[[nodiscard]] absl::StatusOr<RdmaLanes> ChooseRdmaLanes(const std::string& sender_name,
                                                        const v1::ProbeReply& sender,
                                                        const std::string& receiver_name,
                                                        const v1::ProbeReply& receiver);

// True when an agent's error says perftest is not installed there (skip the check).
bool PerftestMissing(const absl::Status& status);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_RDMA_LANES_H_
