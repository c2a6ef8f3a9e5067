// `sparkctl probe` (per node: cabled interfaces, RDMA devices, GPUs; `--json` the full
// Probe reply) and `sparkctl topo` (per node, the GPU/NIC matrix printed like
// `nvidia-smi topo -m`, with its legends).
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_PROBE_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_PROBE_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"
#include "coordinator/commands/command.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// The human summary of one node's probe.
std::string RenderProbeSummary(const std::string& node, const v1::ProbeReply& reply);

// One node's matrix, as `nvidia-smi topo -m` prints it, headed by the node's name.
std::string RenderTopology(const std::string& node, const v1::ProbeReply& reply);

void RegisterProbeCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_PROBE_COMMAND_H_
