// Doctor's hardware and link checks: PCIe links trained below their maximum, the
// cluster link's MTU (too small, different between nodes, not passing end to end), a
// Spark port whose halves disagree, and a last bandwidth in the stale-link range.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/doctor/doctor_checks_internal.h"

namespace sparkfleet::doctor_internal {
namespace {

using NodeTexts = std::vector<std::pair<std::string, std::string>>;

constexpr uint32_t kMinLinkMtu = 9000;
constexpr uint32_t kMinRoceMtu = 4200;  // a 4096-byte RoCE MTU plus headers
// ib_write_bw or iperf3 over the link in this range means a stale link state (NVIDIA's
// playbook): a healthy half gives ~92-97 Gb/s, both ~190 Gb/s.
constexpr double kStaleLinkMinGbps = 8;
constexpr double kStaleLinkMaxGbps = 25;

bool Narrower(const v1::PcieLink& link) {
  return link.max_width_lanes() > 0 && link.current_width_lanes() > 0 &&
         link.current_width_lanes() < link.max_width_lanes();
}

bool Slower(const v1::PcieLink& link) {
  return link.max_speed_gtps() > 0 && link.current_speed_gtps() > 0 &&
         link.current_speed_gtps() + 0.01 < link.max_speed_gtps();
}

std::string DescribeLink(const std::string& function, const std::string& pci,
                         const v1::PcieLink& link) {
  return absl::StrCat(function, " (", pci, ") at ", link.current_speed_gtps(), " GT/s x",
                      link.current_width_lanes(), ", max ", link.max_speed_gtps(), " GT/s x",
                      link.max_width_lanes());
}

// A NIC function below its maximum width or speed, or a GPU below its maximum width, is
// degraded: neither changes while the link is up. A GPU at full width but a lower speed
// is reported apart: NVIDIA GPUs lower their PCIe speed when idle to save power, so that
// is only a problem if it stays there under load.
void CheckPcieLinks(const DoctorInput& input, FindingList* out) {
  NodeTexts degraded_seen;
  NodeTexts idle_seen;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value()) continue;
    std::vector<std::string> degraded;
    std::vector<std::string> idle;
    std::set<std::string> functions;  // a PCI function once, whatever netdevs it has
    for (const v1::Nic& nic : node.probe->nics()) {
      if (!nic.has_pcie() || !(Narrower(nic.pcie()) || Slower(nic.pcie()))) continue;
      if (!functions.insert(nic.pci_address()).second) continue;
      degraded.push_back(DescribeLink(nic.name(), nic.pci_address(), nic.pcie()));
    }
    for (const v1::Gpu& gpu : node.probe->gpus()) {
      if (!gpu.has_pcie()) continue;
      std::string text = DescribeLink(absl::StrCat("GPU", gpu.index(), " ", gpu.name()),
                                      gpu.pci_address(), gpu.pcie());
      if (Narrower(gpu.pcie())) {
        degraded.push_back(std::move(text));
      } else if (Slower(gpu.pcie())) {
        idle.push_back(std::move(text));
      }
    }
    if (!degraded.empty()) degraded_seen.emplace_back(node.node, absl::StrJoin(degraded, ", "));
    if (!idle.empty()) idle_seen.emplace_back(node.node, absl::StrJoin(idle, ", "));
  }
  if (!degraded_seen.empty()) {
    out->Add("pcie-link-degraded", Severity::kError, NodeNames(degraded_seen),
             PerNode(degraded_seen),
             "a PCIe link below its maximum width or speed caps the device's bandwidth (each "
             "ConnectX-7 half of a Spark needs Gen5 x4, 32 GT/s, for ~100 Gb/s)",
             "power the node off completely and on again; if the link stays degraded, have "
             "the hardware serviced");
  }
  if (!idle_seen.empty()) {
    out->Add("gpu-pcie-speed-below-max", Severity::kWarning, NodeNames(idle_seen),
             PerNode(idle_seen),
             "GPUs lower their PCIe speed when idle to save power, which is harmless; a GPU "
             "that stays below its maximum speed under load is capped",
             "run `sparkctl doctor` again while a job (or `sparkctl nccl-test`) runs; if the "
             "speed is still below the maximum, reseat or service the GPU");
  }
}

void CheckLinkMtu(const DoctorInput& input, FindingList* out) {
  NodeTexts low;
  NodeTexts mtus;
  std::set<uint32_t> values;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value()) continue;
    LinkInterfaces link = FindLinkInterfaces(input.config, *node.probe);
    for (const std::string& name : link.missing) {
      out->Unknown("link MTU", node.node,
                   absl::StrCat(name, " (cluster.yaml link.interfaces) is not on this node"));
    }
    std::vector<std::string> node_low;
    std::vector<std::string> node_mtus;
    for (const v1::Nic* nic : link.nics) {
      if (nic->mtu_bytes() == 0) {
        out->Unknown("link MTU", node.node, absl::StrCat(nic->name(), "'s MTU is unreadable"));
        continue;
      }
      bool roce = IsRoceInterface(*node.probe, *nic);
      uint32_t minimum = roce ? kMinRoceMtu : kMinLinkMtu;
      if (nic->mtu_bytes() < minimum) {
        node_low.push_back(absl::StrCat(nic->name(), " MTU ", nic->mtu_bytes(), " (below ", minimum,
                                        roce ? " for RoCE)" : ")"));
      }
      node_mtus.push_back(absl::StrCat(nic->name(), " ", nic->mtu_bytes()));
      values.insert(nic->mtu_bytes());
    }
    if (!node_low.empty()) low.emplace_back(node.node, absl::StrJoin(node_low, ", "));
    if (!node_mtus.empty()) mtus.emplace_back(node.node, absl::StrJoin(node_mtus, ", "));
  }
  std::string fix = input.config.link.enabled
                        ? "set link.mtu (9000) in cluster.yaml and run `sparkctl link`"
                        : "set mtu: 9000 on these interfaces in the nodes' netplan file and run "
                          "`netplan apply` (or add a link: section and run `sparkctl link`)";
  if (!low.empty()) {
    out->Add("link-mtu-low", Severity::kError, NodeNames(low), PerNode(low),
             "a small MTU on the cluster link cuts RDMA and TCP throughput (9000 is "
             "recommended, at least 4200 for RoCE); a firmware reset can drop it back to 1500",
             fix);
  }
  if (values.size() > 1) {
    out->Add("link-mtu-mismatch", Severity::kError, NodeNames(mtus), PerNode(mtus),
             "interfaces at the two ends of a link with different MTUs drop the larger frames "
             "or fragment them, and RoCE connections may not come up",
             fix);
  }
}

void CheckMtuProbes(const DoctorInput& input, FindingList* out) {
  NodeTexts failed;
  std::vector<std::string> nodes;
  for (const DoctorNodeFacts& node : input.nodes) {
    std::vector<std::string> texts;
    for (const MtuProbe& probe : node.mtu_probes) {
      if (probe.passed) continue;
      texts.push_back(
          absl::StrCat(probe.interface, " MTU ", probe.mtu_bytes, " to ", probe.peer, " (",
                       probe.address, "): a ", probe.mtu_bytes > 28 ? probe.mtu_bytes - 28 : 0,
                       "-byte don't-fragment ping did not get through",
                       probe.detail.empty() ? "" : absl::StrCat(" (", probe.detail, ")")));
      nodes.push_back(node.node);
      nodes.push_back(probe.peer);
    }
    if (!texts.empty()) failed.emplace_back(node.node, absl::StrJoin(texts, ", "));
  }
  if (failed.empty()) return;
  out->Add("link-mtu-blocked", Severity::kError, InClusterOrder(input, nodes), PerNode(failed),
           "full-size frames do not pass end to end over the link, so large transfers stall or "
           "are fragmented even though the interfaces claim the MTU",
           "set the same MTU on both ends (and on any switch in between): `sparkctl link`, then "
           "run `sparkctl doctor` again");
}

void CheckPortHalves(const DoctorInput& input, FindingList* out) {
  NodeTexts seen;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value()) continue;
    std::vector<std::string> texts;
    for (const SparkPort& port : FindSparkPorts(*node.probe)) {
      v1::RdmaPortState state[2];
      for (int i = 0; i < 2; ++i) {
        state[i] = port.halves[i]->ports_size() > 0 ? port.halves[i]->ports(0).state()
                                                    : v1::RDMA_PORT_STATE_UNSPECIFIED;
      }
      bool cabled =
          state[0] == v1::RDMA_PORT_STATE_ACTIVE || state[1] == v1::RDMA_PORT_STATE_ACTIVE;
      if (!cabled || state[0] == state[1]) continue;
      texts.push_back(absl::StrCat("port ", port.name, ": ", port.halves[0]->name(), " ",
                                   PortStateName(state[0]), ", ", port.halves[1]->name(), " ",
                                   PortStateName(state[1])));
    }
    if (!texts.empty()) seen.emplace_back(node.node, absl::StrJoin(texts, "; "));
  }
  if (seen.empty()) return;
  out->Add("port-halves-differ", Severity::kError, NodeNames(seen), PerNode(seen),
           "a Spark port carries its ~200 Gb/s over two halves; with one half not ACTIVE, NCCL "
           "and RDMA get at most ~100 Gb/s",
           "reseat the QSFP cable on both nodes; if a half stays down, reboot both nodes");
}

// Whether `address` is on one of the cluster link's interfaces of the node `name`.
bool OnLink(const DoctorInput& input, const std::string& name, const std::string& address) {
  for (const DoctorNodeFacts& node : input.nodes) {
    if (node.node != name || !node.probe.has_value()) continue;
    for (const v1::Nic* nic : FindLinkInterfaces(input.config, *node.probe).nics) {
      for (const v1::IpAddress& assigned : nic->addresses()) {
        if (assigned.address() == address) return true;
      }
    }
  }
  return false;
}

bool InStaleRange(double gbps) { return gbps >= kStaleLinkMinGbps && gbps <= kStaleLinkMaxGbps; }

void CheckStaleLink(const DoctorInput& input, FindingList* out) {
  std::vector<std::string> texts;
  std::vector<std::string> nodes;
  for (const v1::CheckResult& check : input.last_bandwidth) {
    if (!check.has_bandwidth()) continue;
    bool rdma = check.test() == v1::VALIDATE_TEST_RDMA;
    // iperf3 over the management network (10GbE) lands in the range too: only the link.
    if (!rdma && !OnLink(input, check.target(), check.target_address())) continue;
    const v1::BandwidthResult& result = check.bandwidth();
    double bps = result.received_bps() > 0 ? result.received_bps() : result.sent_bps();
    std::vector<std::string> stale;
    if (InStaleRange(bps / 1e9)) stale.push_back(absl::StrFormat("%.1f Gb/s", bps / 1e9));
    if (result.lanes_size() > 1) {
      for (const v1::BandwidthLane& lane : result.lanes()) {
        if (!InStaleRange(lane.bandwidth_bps() / 1e9)) continue;
        stale.push_back(
            absl::StrFormat("%s %.1f Gb/s", lane.local_rdma_device(), lane.bandwidth_bps() / 1e9));
      }
    }
    if (stale.empty()) continue;
    texts.push_back(absl::StrCat(check.source(), " -> ", check.target(), " ",
                                 rdma ? "RDMA" : "iperf3", ": ", absl::StrJoin(stale, ", ")));
    nodes.push_back(check.source());
    nodes.push_back(check.target());
  }
  if (texts.empty()) return;
  out->Add("stale-link", Severity::kError, InClusterOrder(input, nodes),
           absl::StrCat("last bandwidth measured: ", absl::StrJoin(texts, "; ")),
           "8-25 Gb/s over the ConnectX-7 link is the signature of a stale link state (a "
           "healthy half gives ~95 Gb/s, a port ~190 Gb/s)",
           "reboot both nodes, then run `sparkctl validate --tests rdma` again");
}

}  // namespace

void CheckHardwareAndLink(const DoctorInput& input, FindingList* out) {
  CheckPcieLinks(input, out);
  CheckLinkMtu(input, out);
  CheckMtuProbes(input, out);
  CheckPortHalves(input, out);
  CheckStaleLink(input, out);
}

}  // namespace sparkfleet::doctor_internal
