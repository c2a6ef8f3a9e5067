// `sparkctl status` (a table of every node's GetInfo) and `sparkctl info` (everything
// GetInfo says, per node). Both are one GetInfo fan-out.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_STATUS_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_STATUS_COMMAND_H_

#include <vector>

#include "CLI/CLI.hpp"
#include "coordinator/cluster_session.h"
#include "coordinator/commands/command.h"
#include "coordinator/fanout.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// GetInfo on each of `nodes`.
std::vector<NodeResult<v1::NodeInfo>> FetchNodeInfo(AgentChannels& channels,
                                                    const std::vector<ClusterNode>& nodes,
                                                    const FanOutOptions& options);

// The status table: one row per node, failures with their error.
std::string RenderStatusTable(const std::vector<ClusterNode>& nodes,
                              const std::vector<NodeResult<v1::NodeInfo>>& results);

void RegisterStatusCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_STATUS_COMMAND_H_
