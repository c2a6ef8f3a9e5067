// The hardware probe over a whole sysfs tree: what NodeAgent.Probe reads through the Env
// (/sys/class/net, /sys/class/infiniband with ports and GID tables, /sys/bus/pci/devices,
// the symlinks between them, NUMA nodes, the NVIDIA driver's version file), where one
// garbled file must become a warning and never a crash.
//
// Input: the tree as ScratchTree lines (fuzz_support.h), e.g.
//   f sys/class/infiniband/rocep1s0f0/ports/1/rate 200 Gb/sec (4X HDR)
//   l sys/class/infiniband/rocep1s0f0/device ../../../devices/pci0000:00/0000:00:00.0/0000:01:00.0
#include <cstddef>
#include <cstdint>

#include "node_agent/probe/probe.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  static fuzz::ScratchTree tree;  // one per process, removed at exit
  tree.Build(fuzz::AsText(data, size));
  v1::ProbeRequest request;
  request.set_skip_nvml(true);
  v1::ProbeReply reply = ProbeHardware(tree.env(), request);
  fuzz::Check(reply.sandboxed_root(), "the probe did not see its root as a sandbox");
  const int devices = reply.topology().devices_size();
  fuzz::Check(reply.topology().rows_size() == devices, "topology matrix is not square");
  for (const v1::TopologyRow& row : reply.topology().rows()) {
    fuzz::Check(row.cells_size() == devices, "topology matrix row is not full");
  }
  reply.clear_probe_duration_us();
  fuzz::CheckWireRoundTrip(reply, "ProbeHardware");
  return 0;
}
