// The requests of the multi-node set-up, built from cluster.yaml and what the nodes
// reported, with no I/O: /etc/hosts entries, known_hosts entries, the authorized_keys
// block, each node's netplan request and the NFS export and mounts.
//
// Every node's entries are built from the whole cluster (not only the nodes --limit
// selects), so configuring some nodes never drops the others from their files.
#ifndef SPARKFLEET_COORDINATOR_SETUP_SETUP_REQUESTS_H_
#define SPARKFLEET_COORDINATOR_SETUP_SETUP_REQUESTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cluster_config.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// The first label of a host name: "spark-001" for "spark-001.lab.example".
std::string ShortHostname(absl::string_view hostname);

// An OpenSSH public key line, "TYPE BASE64 [comment]", split and checked: a known key
// type, base64 text, no control characters in the comment. INVALID_ARGUMENT quoting at
// most the key's type otherwise.
struct PublicKey {
  std::string type;     // "ssh-ed25519"
  std::string blob;     // base64
  std::string comment;  // may be empty

  std::string Line() const;            // "type blob comment" (or without the comment)
  std::string WithoutComment() const;  // "type blob"
};
absl::StatusOr<PublicKey> ParsePublicKey(absl::string_view line);

// One /etc/hosts line per node, in `nodes` order: the node's ip, then its hostname and,
// when that has dots, its short name.
std::vector<v1::HostEntry> BuildHostsEntries(const ClusterConfig& config);

// known_hosts entries: every host key of every node in `host_keys` (hostname -> the
// GenerateSshKey reply's host_public_keys) under the node's hostname, short name and ip,
// each written "[name]:port" when ssh.port is not 22. Nodes without keys are left out.
// INVALID_ARGUMENT naming the node when one of its keys is not a public key line.
absl::StatusOr<std::vector<v1::KnownHost>> BuildKnownHosts(
    const ClusterConfig& config, const std::map<std::string, std::vector<std::string>>& host_keys);

// The authorized_keys block: the cluster key first (when not empty), then every node's
// user key in `nodes` order (hostname -> key line; nodes without one are left out),
// each key once. INVALID_ARGUMENT naming the key's owner for a malformed line.
absl::StatusOr<std::vector<std::string>> BuildAuthorizedKeys(
    const ClusterConfig& config, absl::string_view cluster_public_key,
    const std::map<std::string, std::string>& user_keys);

// ConfigureSsh for `node`: its user, the keys and known hosts above, and the sshd
// hardening from the `ssh` section. dry_run is left false.
v1::ConfigureSshRequest BuildSshRequest(const ClusterConfig& config, const ClusterNode& node,
                                        const std::vector<std::string>& authorized_keys,
                                        const std::vector<v1::KnownHost>& known_hosts);

// ConfigureLink for config.nodes[node_index]: every link interface with the node's
// address and the MTU; the management address is the node's ip.
// REQUIRES: config.link.enabled and node_index < config.nodes.size().
v1::ConfigureLinkRequest BuildLinkRequest(const ClusterConfig& config, size_t node_index);

// ConfigureNfs for the server (nfs.server) and for every other node.
struct NfsRequests {
  std::string server;  // hostname
  v1::ConfigureNfsRequest server_request;
  v1::ConfigureNfsRequest client_request;
};
// REQUIRES: config.nfs.enabled.
NfsRequests BuildNfsRequests(const ClusterConfig& config);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_SETUP_SETUP_REQUESTS_H_
