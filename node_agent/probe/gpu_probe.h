// NVIDIA GPUs: from NVML (libnvidia-ml.so.1, loaded with dlopen) when it is there and the
// probe looks at the machine itself, else from PCI enumeration (vendor 0x10de, display
// or 3D controller class) with what sysfs tells.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_GPU_PROBE_H_
#define SPARKFLEET_NODE_AGENT_PROBE_GPU_PROBE_H_

#include <vector>

#include "node_agent/probe/sysfs_reader.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// GPUs found by PCI enumeration under the Env's root, in PCI address order, with the
// driver version from /proc/driver/nvidia/version when present.
std::vector<v1::Gpu> ProbeGpusFromPci(SysfsReader& sysfs);

// GPUs as NVML reports them, merged with PCI facts (NUMA node, PCIe link). Returns
// nullopt when NVML cannot be loaded or initialised (no driver): the caller then uses
// ProbeGpusFromPci. NVML answering NOT_SUPPORTED for memory (GB10's unified memory)
// leaves the memory fields unset.
std::optional<std::vector<v1::Gpu>> ProbeGpusFromNvml(SysfsReader& sysfs);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_GPU_PROBE_H_
