#include "coordinator/validate/rdma_lanes.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace sparkfleet {
namespace {

bool Active(const v1::RdmaDevice& device) {
  return std::any_of(device.ports().begin(), device.ports().end(), [](const v1::RdmaPort& port) {
    return port.state() == v1::RDMA_PORT_STATE_ACTIVE;
  });
}

// "rocep1s0f0 down" for each device, to say why none is usable.
std::string PortStates(const v1::ProbeReply& probe) {
  std::vector<std::string> states;
  for (const v1::RdmaDevice& device : probe.rdma_devices()) {
    std::string state = "no port";
    if (!device.ports().empty()) {
      state = absl::AsciiStrToLower(
          absl::StripPrefix(v1::RdmaPortState_Name(device.ports(0).state()), "RDMA_PORT_STATE_"));
    }
    states.push_back(absl::StrCat(device.name(), " ", state));
  }
  return absl::StrJoin(states, ", ");
}

// Why `name` has no cabled device; empty when it has one.
std::string Unusable(const std::string& name, const v1::ProbeReply& probe) {
  if (probe.rdma_devices().empty()) {
    return absl::StrCat("no RDMA device on ", name,
                        probe.sandboxed_root() ? " (hardware read from its --root tree)" : "");
  }
  if (ActiveRdmaDevices(probe).empty()) {
    return absl::StrCat("no active RDMA port on ", name, " (", PortStates(probe),
                        "): is the QSFP cable in?");
  }
  return "";
}

}  // namespace

std::vector<std::string> ActiveRdmaDevices(const v1::ProbeReply& probe) {
  std::vector<std::string> names;
  for (const v1::RdmaDevice& device : probe.rdma_devices()) {
    if (Active(device)) names.push_back(device.name());
  }
  return names;
}

absl::StatusOr<RdmaLanes> ChooseRdmaLanes(const std::string& sender_name,
                                          const v1::ProbeReply& sender,
                                          const std::string& receiver_name,
                                          const v1::ProbeReply& receiver) {
  std::vector<std::string> why;
  for (const std::string& reason :
       {Unusable(sender_name, sender), Unusable(receiver_name, receiver)}) {
    if (!reason.empty()) why.push_back(reason);
  }
  if (!why.empty()) return absl::FailedPreconditionError(absl::StrJoin(why, "; "));
  RdmaLanes lanes;
  lanes.sender_devices = ActiveRdmaDevices(sender);
  lanes.receiver_devices = ActiveRdmaDevices(receiver);
  size_t n = std::min(lanes.sender_devices.size(), lanes.receiver_devices.size());
  lanes.sender_devices.resize(n);
  lanes.receiver_devices.resize(n);
  return lanes;
}

bool PerftestMissing(const absl::Status& status) {
  // The agent's words (node_agent/netcheck/rdma_bandwidth_run.cc).
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         absl::StrContains(status.message(), "(perftest) is not installed");
}

}  // namespace sparkfleet
