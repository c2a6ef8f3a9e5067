// The cluster's facts as downstream tools read them: `sparkctl get ...`, `export`,
// `inventory`, `connect`, and the Coordinator service's GetClusterConfig,
// GetConnectionInfo and GetEndpoints all come from these pure functions, so the CLI
// and the gRPC API can never disagree.
#ifndef SPARKFLEET_COORDINATOR_CLUSTER_VIEWS_H_
#define SPARKFLEET_COORDINATOR_CLUSTER_VIEWS_H_

#include <map>
#include <string>
#include <vector>

#include "common/cluster_config.h"
#include "sparkfleet/v1/coordinator.pb.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// Each node's IPv4 address on the tailnet, by hostname, as `sparkctl tailscale` learnt it
// (tailscale_record.h); nodes without one are absent.
using TailscaleAddresses = std::map<std::string, std::string>;

// cluster_name, nodes, ssh_keys, tailscale_ip, primary_node, node_count (the seed's
// CLUSTER_CONFIG), plus the enable_* switches. Never the Tailscale auth key.
v1::ClusterConfig ClusterConfigView(const ClusterConfig& config,
                                    const TailscaleAddresses& tailscale = {});

// How to ssh to each of `nodes`: argv with the cluster key, user and address. With
// `use_tailscale`, the argv uses the Tailscale address and nodes without a known one are
// left out.
v1::GetConnectionInfoReply ConnectionView(const ClusterConfig& config,
                                          const std::vector<ClusterNode>& nodes, bool use_tailscale,
                                          const TailscaleAddresses& tailscale = {});

// Where each node's agent listens, on the cluster address and, when known, on the tailnet.
v1::GetEndpointsReply EndpointsView(const std::vector<ClusterNode>& nodes,
                                    const TailscaleAddresses& tailscale = {});

// An ssh_config(5) snippet with one Host entry per node of `connection` (ConnectionView's
// answer): "Host NODE" on the cluster address, or "Host NODE-ts" on the Tailscale
// address when `tailscale`, with the user and the cluster key.
std::string SshConfigSnippet(const ClusterConfig& config,
                             const v1::GetConnectionInfoReply& connection, bool tailscale);

// An Ansible inventory.ini for the cluster, as the seed's playbooks read it.
std::string InventoryIni(const ClusterConfig& config);

// The public half of the cluster key path ("<private>.pub").
std::string PublicKeyPath(const std::string& private_key_path);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_CLUSTER_VIEWS_H_
