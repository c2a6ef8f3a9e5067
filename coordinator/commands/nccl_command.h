// `sparkctl nccl [--check] [--diff]`: the seed's NCCL step on every node. First NCCL
// itself (InstallNccl, unless cluster.yaml says `nccl.install: none`), then nccl.conf
// (WriteNcclConf) rendered by each agent from cluster.yaml's nccl settings and its own
// probe. A node whose install failed is not configured further. `--check` is a dry run
// on every node and shows the diffs; `--diff` shows them on a real run too. The recap
// reads like Ansible's: ok / changed / failed per node, with nccl.conf's backup path.
// `--json` prints the WriteNcclConf fan-out (render.h's format); exit 0 when every node
// succeeded, 2 when any failed, 1 for usage or config errors.
//
// `sparkctl nccl-conf`: every node's ReadNcclConf: the nccl.conf files NCCL would read
// for the node's cluster user, the lines NCCL would misread, and the effective values.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_NCCL_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_NCCL_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "coordinator/cluster_session.h"
#include "coordinator/commands/command.h"
#include "coordinator/fanout.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// What `sparkctl nccl` did on one node.
struct NcclNodeOutcome {
  std::string node;
  // How InstallNccl ended; nullopt when install is `none`. `install_changed` is true when
  // the stream's result said something was (or would be) installed.
  std::optional<absl::Status> install;
  bool install_changed = false;
  // WriteNcclConf's result; nullopt when skipped because the install failed.
  std::optional<NodeResult<v1::WriteNcclConfReply>> conf;
};

// The recap table, per-node errors, the diffs when `show_diffs`, and the summary line
// ("2 ok, 1 changed, 1 failed"). `check` says nothing was changed.
// How `sparkctl nccl` (and deploy's nccl step) installs NCCL and writes nccl.conf.
struct NcclSettings {
  bool check = false;               // every call a dry run
  double install_timeout_s = 1800;  // each node's InstallNccl stream
};

// InstallNccl on every node of `session` (unless cluster.yaml's nccl.install is none),
// then WriteNcclConf where the install did not fail. One outcome per session.nodes entry.
std::vector<NcclNodeOutcome> RunNcclSetup(ClusterSession& session, const NcclSettings& settings);

// True when the install or nccl.conf failed (or nccl.conf was not written).
bool NcclFailed(const NcclNodeOutcome& outcome);

std::string RenderNcclRecap(const std::vector<NcclNodeOutcome>& outcomes, bool show_diffs,
                            bool check);

// One node's ReadNcclConf answer for people: files, problems with line numbers, the
// environment and the effective settings.
std::string RenderNcclConfReport(const NodeResult<v1::ReadNcclConfReply>& result);

void RegisterNcclCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_NCCL_COMMAND_H_
