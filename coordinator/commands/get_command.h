// Commands that print the cluster's facts from cluster.yaml without contacting a node:
// `get config|ssh|network|nccl|endpoints` (JSON for downstream tools), `inventory`
// (Ansible inventory.ini), `connect [NODE]` (the ssh command) and `export FILE`.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_GET_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_GET_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "common/cluster_config.h"
#include "coordinator/commands/command.h"

namespace sparkfleet {

// The JSON document of one view ("config", "ssh", "network", "nccl", "endpoints").
absl::StatusOr<std::string> ViewJson(const ClusterConfig& config, const std::string& view);

void RegisterGetCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_GET_COMMAND_H_
