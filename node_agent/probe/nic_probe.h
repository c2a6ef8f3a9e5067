// Network interfaces from /sys/class/net, and their addresses.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_NIC_PROBE_H_
#define SPARKFLEET_NODE_AGENT_PROBE_NIC_PROBE_H_

#include <vector>

#include "node_agent/probe/sysfs_reader.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// Every netdev, sorted by name, with its PCI function's facts. `live_addresses`: read
// addresses from the running kernel (getifaddrs) — only right when the Env's root is the
// machine itself; otherwise they come from the tree's etc/sparkfleet/fixture-addresses.
std::vector<v1::Nic> ProbeNics(SysfsReader& sysfs, bool live_addresses);

// The PCIe link state of PCI function directory `device_dir`; unset fields stay 0.
v1::PcieLink ReadPcieLink(SysfsReader& sysfs, const std::string& device_dir);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_NIC_PROBE_H_
