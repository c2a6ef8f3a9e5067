// The GPU/NIC distance matrix in the vocabulary of `nvidia-smi topo -m`, derived from the
// PCI hierarchy (resolved sysfs device paths, host bridges, PCI domains) and NUMA nodes.
//
// Levels between two PCI functions A and B:
//   X     the same device;
//   PIX   below one PCIe switch at most (functions of one device, or devices under
//         ports of the same switch);
//   PXB   through several switches, no host bridge;
//   PHB   through the host bridge they share;
//   NODE  under different host bridges (e.g. PCI domains) in one NUMA node;
//   SYS   across NUMA nodes.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_TOPOLOGY_H_
#define SPARKFLEET_NODE_AGENT_PROBE_TOPOLOGY_H_

#include <string>
#include <vector>

#include "node_agent/probe/sysfs_reader.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// Where a PCI function sits: "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0" gives
// host_bridge "pci0000:00", bridges {"0000:00:01.0"}, function "0000:01:00.0".
struct PciPlace {
  std::string host_bridge;
  std::vector<std::string> bridges;  // root port first
  std::string function;
  int numa_node = -1;
};

// Parses a resolved sysfs device path; nullopt when it is not under /sys/devices/pci*.
std::optional<PciPlace> ParsePciPlace(absl::string_view real_path);

// The level between two functions. `single_numa_node`: the machine has one NUMA node, so
// an unknown (-1) node counts as the same node.
v1::TopologyLevel PciDistance(const PciPlace& a, const PciPlace& b, bool single_numa_node);

// The matrix over `gpus` then the NICs: RDMA devices (in the given order), then physical
// wired NICs without an RDMA device.
v1::TopologyMatrix BuildTopology(SysfsReader& sysfs, const std::vector<v1::Gpu>& gpus,
                                 const std::vector<v1::RdmaDevice>& rdma,
                                 const std::vector<v1::Nic>& nics);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_TOPOLOGY_H_
