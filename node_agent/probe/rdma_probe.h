// RDMA devices from /sys/class/infiniband: ports, states, rates, GID tables and the GID
// index NCCL would choose by itself.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_RDMA_PROBE_H_
#define SPARKFLEET_NODE_AGENT_PROBE_RDMA_PROBE_H_

#include <optional>
#include <vector>

#include "node_agent/probe/sysfs_reader.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// Every RDMA device, sorted by PCI address (the order `nvidia-smi topo -m` numbers NICs
// in), then by name. A machine without /sys/class/infiniband has none, without warning.
std::vector<v1::RdmaDevice> ProbeRdmaDevices(SysfsReader& sysfs);

// NCCL's automatic choice when NCCL_IB_GID_INDEX is unset: the first valid entry that is
// RoCE v2 and IPv4-mapped (NCCL_IB_ROCE_VERSION_NUM=2, NCCL_IB_ADDR_FAMILY=AF_INET are
// its defaults). nullopt when no entry qualifies.
std::optional<uint32_t> AutoGidIndex(const v1::RdmaPort& port);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_RDMA_PROBE_H_
