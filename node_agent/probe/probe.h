// The hardware probe behind NodeAgent.Probe: NICs, RDMA devices, GPUs and the topology
// matrix, read through the Env so `--root` fixture trees stand in for real machines.
// Problems with single files become warnings in the reply; the probe itself never fails.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_PROBE_H_
#define SPARKFLEET_NODE_AGENT_PROBE_PROBE_H_

#include "common/env.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// Probes the machine under `env`'s root. NVML is consulted only when the root is "/"
// (a fixture tree's GPUs are not the host's) and the request does not skip it.
v1::ProbeReply ProbeHardware(Env& env, const v1::ProbeRequest& request);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_PROBE_H_
