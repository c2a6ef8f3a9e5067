// The cluster's facts as downstream tools read them: `sparkctl get ...`, `export`,
// `inventory`, `connect`, and the Coordinator service's GetClusterConfig,
// GetConnectionInfo and GetEndpoints all come from these pure functions, so the CLI
// and the gRPC API can never disagree.
#ifndef SPARKFLEET_COORDINATOR_CLUSTER_VIEWS_H_
#define SPARKFLEET_COORDINATOR_CLUSTER_VIEWS_H_

#include <string>
#include <vector>

#include "common/cluster_config.h"
#include "sparkfleet/v1/coordinator.pb.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// cluster_name, nodes, ssh_keys, tailscale_ip, primary_node, node_count (the seed's
// CLUSTER_CONFIG), plus the enable_* switches. Never the Tailscale auth key.
v1::ClusterConfig ClusterConfigView(const ClusterConfig& config);

// How to ssh to each of `nodes`: argv with the cluster key, user and address. With
// `use_tailscale`, nodes without a known Tailscale address are left out.
v1::GetConnectionInfoReply ConnectionView(const ClusterConfig& config,
                                          const std::vector<ClusterNode>& nodes,
                                          bool use_tailscale);

// Where each node's agent listens.
v1::GetEndpointsReply EndpointsView(const std::vector<ClusterNode>& nodes);

// An Ansible inventory.ini for the cluster, as the seed's playbooks read it.
std::string InventoryIni(const ClusterConfig& config);

// The public half of the cluster key path ("<private>.pub").
std::string PublicKeyPath(const std::string& private_key_path);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_CLUSTER_VIEWS_H_
