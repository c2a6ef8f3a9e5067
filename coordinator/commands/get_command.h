// Commands that print the cluster's facts from cluster.yaml without contacting a node:
// `get config|ssh|network|nccl|endpoints` (JSON for downstream tools), `inventory`
// (Ansible inventory.ini), `connect [--tailscale] [--ssh-config] [NODE]` (the ssh command,
// or an ssh_config snippet) and `export FILE`. Tailscale addresses come from what
// `sparkctl tailscale` recorded (tailscale_record.h).
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_GET_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_GET_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "common/cluster_config.h"
#include "coordinator/cluster_views.h"
#include "coordinator/commands/command.h"

namespace sparkfleet {

// The JSON document of one view ("config", "ssh", "network", "nccl", "endpoints"), with
// the nodes' Tailscale addresses where known.
absl::StatusOr<std::string> ViewJson(const ClusterConfig& config, const std::string& view,
                                     const TailscaleAddresses& tailscale = {});

void RegisterGetCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_GET_COMMAND_H_
