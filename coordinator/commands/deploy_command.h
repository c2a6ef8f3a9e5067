// `sparkctl deploy`: the whole cluster in one re-runnable command (deploy/deploy_run.h):
// single-node, multi-node, tailscale, nccl and validate in turn, each a fan-out, with a
// line per node as each step ends and Ansible's recap at the end. --json prints the
// Coordinator.Deploy events instead, one JSON object per line.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_DEPLOY_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_DEPLOY_COMMAND_H_

#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "coordinator/commands/command.h"
#include "coordinator/deploy/deploy_plan.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// The line printed for a step event ("[multi-node] spark-002: unreachable: ..."), or
// empty for task and recap events. A step that is off gets one line ("[tailscale]
// skipped: ..."), the first time; `off_shown` remembers which.
std::string DeployProgressLine(const v1::DeployEvent& event, const std::vector<PlannedStep>& plan,
                               std::set<std::string>* off_shown);

void RegisterDeployCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_DEPLOY_COMMAND_H_
