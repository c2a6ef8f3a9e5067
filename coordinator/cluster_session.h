// ClusterSession: what a fan-out command needs once cluster.yaml is loaded: the config,
// the nodes selected by --limit, client credentials and the channel pool.
#ifndef SPARKFLEET_COORDINATOR_CLUSTER_SESSION_H_
#define SPARKFLEET_COORDINATOR_CLUSTER_SESSION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cluster_config.h"
#include "coordinator/commands/command.h"
#include "coordinator/fanout.h"

namespace sparkfleet {

struct ClusterSession {
  ClusterConfig config;
  std::string config_path;         // where config came from (files beside it: .sparkfleet/)
  std::vector<ClusterNode> nodes;  // cluster.yaml order, filtered by --limit
  std::shared_ptr<AgentChannels> channels;  // shared by the sessions made WithNodes
  FanOutOptions fanout;

  // The same cluster, channels and options over other nodes (a subset of config.nodes).
  ClusterSession WithNodes(std::vector<ClusterNode> selected) const {
    return ClusterSession{config, config_path, std::move(selected), channels, fanout};
  }
};

// Loads and validates cluster.yaml (errors carry file:line:column), applies --limit
// (an unknown name is an error that lists the known ones) and, unless the config says
// agent.insecure, loads the client certificate. Contacts no node.
absl::StatusOr<ClusterSession> OpenCluster(const GlobalOptions& globals);

// The nodes of `config` named in `limit` (each entry may hold comma-separated names),
// in cluster.yaml order; every node when `limit` is empty.
absl::StatusOr<std::vector<ClusterNode>> SelectNodes(const ClusterConfig& config,
                                                     const std::vector<std::string>& limit);

// Prints the error of a command that could not start and returns kExitUsageError.
int UsageError(CommandContext& context, const absl::Status& status);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_CLUSTER_SESSION_H_
