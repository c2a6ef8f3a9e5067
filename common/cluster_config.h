// ClusterConfig is cluster.yaml, the admin's description of the cluster that sparkctl
// reads before it contacts any node.
//
// It accepts the seed's format as it is (cluster_name, enable_tailscale, enable_nccl,
// tailscale_auth_key, ssh_key_path, nodes: [{hostname, ip, user}]) plus sparkfleet's
// keys: a top-level default `user`, `tailscale_auth_key_file`, per-node `port`, and
//
//   agent:
//     port: 50151        # default port of every node's spark-agent
//     insecure: false    # plaintext; only when every node is on a loopback address
//     tls: {ca: pki/ca.crt, cert: pki/admin.crt, key: pki/admin.key}
//
// and the sections of nccl_config.h (nccl) and cluster_config_setup.h (ssh, link, nfs).
//
// Relative paths are taken relative to the directory holding cluster.yaml, and a
// leading "~" is the user's $HOME. The TAILSCALE_AUTH_KEY environment variable, when
// set and not empty, replaces tailscale_auth_key; the key is a secret and no error
// message ever contains it.
//
// Every error is INVALID_ARGUMENT with one message "FILE:LINE:COL: what is wrong"
// (1-based), and nothing is partially returned. Config sections that later features
// need are added as one parse function each in cluster_config.cc's section table.
#ifndef SPARKFLEET_COMMON_CLUSTER_CONFIG_H_
#define SPARKFLEET_COMMON_CLUSTER_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cluster_config_setup.h"
#include "common/nccl_config.h"

namespace sparkfleet {

inline constexpr uint16_t kDefaultAgentPort = 50151;

struct ClusterNode {
  std::string hostname;               // RFC 1123; unique in the cluster (case-insensitive)
  std::string ip;                     // IPv4 or IPv6 literal; ip:port unique in the cluster
  std::string user;                   // the node's cluster user (ssh, NFS, NCCL runs)
  uint16_t port = kDefaultAgentPort;  // spark-agent's port; defaults to agent.port
};

// validation: pass/fail limits of `sparkctl validate`. An unset limit is not checked
// (then only unreachability fails).
//   validation: {min_bandwidth_gbps: 90, max_latency_ms: 0.5, require_ssh: true}
struct ValidationThresholds {
  std::optional<double> min_bandwidth_gbps;  // bandwidth below this fails; > 0
  std::optional<double> max_latency_ms;      // average RTT above this fails; > 0
  // SSH failures fail even where the cluster key does not exist yet.
  std::optional<bool> require_ssh;
};

struct ClusterConfig {
  std::string cluster_name;
  bool enable_tailscale = false;
  bool enable_nccl = false;
  // Secret: never log or print it. TAILSCALE_AUTH_KEY wins over the file's value.
  std::string tailscale_auth_key;
  std::string tailscale_auth_key_file;  // absolute, or empty
  std::string ssh_key_path;             // absolute ("~" expanded), or empty
  std::string user;                     // default for nodes without `user`; may be empty

  // agent:
  uint16_t agent_port = kDefaultAgentPort;
  bool insecure = false;
  // The CA that signed the agents' certificates, and the client certificate and key
  // sparkctl presents. Absolute; all three set or all three empty.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;

  std::vector<ClusterNode> nodes;  // at least one after a successful parse

  // nccl: (see common/nccl_config.h); defaults when the section is absent.
  NcclConfig nccl;

  ValidationThresholds validation;

  // ssh:, link:, nfs: (see common/cluster_config_setup.h). link and nfs are off unless
  // their section is present.
  SshSettings ssh;
  LinkSettings link;
  NfsSettings nfs;

  // The first node's hostname ("" when there are no nodes).
  std::string primary_node() const;
};

// Reads an environment variable; nullopt when it is not set.
using GetenvFunction = std::function<std::optional<std::string>(const std::string&)>;

// Parses cluster.yaml's text. Pure: `file_name` only prefixes messages, `base_dir`
// (absolute, normally the file's directory) anchors relative paths, and `getenv`
// supplies TAILSCALE_AUTH_KEY and HOME.
[[nodiscard]] absl::StatusOr<ClusterConfig> ParseClusterConfig(absl::string_view yaml_text,
                                                               absl::string_view file_name,
                                                               absl::string_view base_dir,
                                                               const GetenvFunction& getenv);

// Reads and parses the file at `path` with the process environment. Messages start
// with `path` as given; an unreadable file keeps errno's meaning:
// "cluster.yaml: cannot read: No such file or directory" (NOT_FOUND).
[[nodiscard]] absl::StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path);

// The process environment, for callers of ParseClusterConfig outside tests.
std::optional<std::string> ProcessGetenv(const std::string& name);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_CLUSTER_CONFIG_H_
