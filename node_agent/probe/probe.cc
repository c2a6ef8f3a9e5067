#include "node_agent/probe/probe.h"

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "node_agent/probe/gpu_probe.h"
#include "node_agent/probe/nic_probe.h"
#include "node_agent/probe/rdma_probe.h"
#include "node_agent/probe/sysfs_reader.h"
#include "node_agent/probe/topology.h"

namespace sparkfleet {

v1::ProbeReply ProbeHardware(Env& env, const v1::ProbeRequest& request) {
  absl::Time start = absl::Now();
  v1::ProbeReply reply;
  bool sandboxed = env.root() != "/";
  reply.set_sandboxed_root(sandboxed);
  SysfsReader sysfs(env, reply.mutable_warnings());

  std::vector<v1::Nic> nics = ProbeNics(sysfs, /*live_addresses=*/!sandboxed);
  std::vector<v1::RdmaDevice> rdma = ProbeRdmaDevices(sysfs);
  absl::flat_hash_map<std::string, v1::Nic*> by_name;
  for (v1::Nic& nic : nics) by_name[nic.name()] = &nic;
  for (const v1::RdmaDevice& device : rdma) {
    for (const std::string& netdev : device.netdevs()) {
      auto it = by_name.find(netdev);
      if (it != by_name.end()) it->second->add_rdma_devices(device.name());
    }
  }
  std::optional<std::vector<v1::Gpu>> gpus;
  if (!sandboxed && !request.skip_nvml()) gpus = ProbeGpusFromNvml(sysfs);
  if (!gpus) gpus = ProbeGpusFromPci(sysfs);

  *reply.mutable_topology() = BuildTopology(sysfs, *gpus, rdma, nics);
  for (v1::Nic& nic : nics) *reply.add_nics() = std::move(nic);
  for (v1::RdmaDevice& device : rdma) *reply.add_rdma_devices() = std::move(device);
  for (v1::Gpu& gpu : *gpus) *reply.add_gpus() = std::move(gpu);
  reply.set_probe_duration_us(absl::ToInt64Microseconds(absl::Now() - start));
  return reply;
}

}  // namespace sparkfleet
