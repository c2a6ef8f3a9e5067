// The set-up sections of cluster.yaml: what `sparkctl single-node` and `multi-node`
// configure beyond SSH trust (sshd hardening, the direct ConnectX-7 link, NFS).
//
//   ssh:
//     harden: true                  # sshd drop-in: no passwords, root by key only
//     port: 22                      # where every node's sshd listens (known_hosts names)
//     options: {MaxAuthTries: "3"}  # more sshd keywords for the drop-in
//   link:                           # present = enabled (unless enabled: false)
//     mtu: 9000
//     host_offset: 10               # node i (0-based, `nodes` order) gets subnet + 10 + i
//     interfaces:                   # default: both halves of a Spark's cabled port
//       - {name: enp1s0f1np1, subnet: 192.168.100.0/24}
//       - {name: enP2p1s0f1np1, subnet: 192.168.101.0/24}
//     nodes:                        # addresses instead of the computed ones
//       spark-002: {addresses: {enp1s0f1np1: 192.168.100.42/24}}
//   nfs:                            # present = enabled (unless enabled: false)
//     export_path: /srv/sparkfleet
//     mount_point: /srv/sparkfleet  # default export_path
//     server: spark-001             # default the first node
//     server_address: 192.168.100.10  # what clients mount from; default the server's ip
//     clients: [192.168.100.0/24]   # default every other node's ip
//     export_options: rw,sync,no_subtree_check
//     mount_options: defaults,_netdev
//
// Parsers report "FILE:LINE:COL: PATH: what is wrong" like the rest of cluster.yaml.
#ifndef SPARKFLEET_COMMON_CLUSTER_CONFIG_SETUP_H_
#define SPARKFLEET_COMMON_CLUSTER_CONFIG_SETUP_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

class YamlField;

inline constexpr uint16_t kDefaultSshPort = 22;
inline constexpr uint32_t kDefaultLinkMtu = 9000;
inline constexpr int kDefaultLinkHostOffset = 10;
inline constexpr char kDefaultNfsPath[] = "/srv/sparkfleet";

struct SshSettings {
  bool harden = true;                          // write the sshd hardening drop-in
  uint16_t port = kDefaultSshPort;             // sshd's port on every node; never changed
  std::map<std::string, std::string> options;  // more sshd keywords for the drop-in
};

struct LinkInterfaceSettings {
  std::string name;    // "enp1s0f1np1"
  std::string subnet;  // IPv4 network, "192.168.100.0/24"
};

struct LinkSettings {
  bool enabled = false;  // true when the section is present, unless `enabled: false`
  uint32_t mtu_bytes = kDefaultLinkMtu;
  int host_offset = kDefaultLinkHostOffset;
  std::vector<LinkInterfaceSettings> interfaces;  // the Spark's two halves by default
  // hostname -> interface name -> CIDR, from link.nodes.
  std::map<std::string, std::map<std::string, std::string>> node_addresses;

  // The CIDR node `node_index` (0-based in `nodes`), called `hostname`, gets on
  // `interface`: its link.nodes address, else subnet + host_offset + node_index.
  // REQUIRES: a config that ParseLinkSection accepted for at least node_index + 1 nodes.
  std::string AddressFor(size_t node_index, const std::string& hostname,
                         const LinkInterfaceSettings& interface) const;
};

struct NfsSettings {
  bool enabled = false;  // true when the section is present, unless `enabled: false`
  std::string export_path = kDefaultNfsPath;
  std::string mount_point;           // empty = export_path
  std::string server;                // hostname from `nodes`; the first node by default
  std::string server_address;        // empty = the server's ip
  std::vector<std::string> clients;  // addresses, CIDRs or names; empty = the other nodes' ips
  std::string export_options;        // empty = the agent's default
  std::string mount_options;         // empty = the agent's default
};

// An IPv4 network or interface address with its prefix length.
struct Ipv4Cidr {
  uint32_t address = 0;  // host byte order
  int prefix = 0;        // 0..32
};

// "192.168.100.10/24". INVALID_ARGUMENT quoting the text otherwise.
absl::StatusOr<Ipv4Cidr> ParseIpv4Cidr(absl::string_view text);
std::string FormatIpv4Cidr(const Ipv4Cidr& cidr);

// An `ssh.options` entry: ValidateSshdOption (common/sshd_options.h), the rules the
// agent's ConfigureSsh applies, and Port is refused with a pointer to ssh.port
// (sparkfleet never moves sshd).
absl::Status ValidateConfigSshdOption(absl::string_view keyword, absl::string_view value);

// The NFS rules cluster.yaml's `nfs` section and the agent's ConfigureNfs share. None of
// the characters they allow can split an exports(5) or fstab(5) field.
//
// A directory path for NFS: absolute, normalized, not "/" nor in a system directory
// (/etc, /usr, /boot, ...: exporting one hands the node's own files to the clients,
// mounting over one hides them), made of letters, digits and ". _ - + @ /".
absl::Status ValidateConfigNfsPath(absl::string_view path);

// exports(5) / fstab options, at most 1024 bytes: a comma-separated list of names
// ("rw", "x-systemd.automount") or name=value ("anonuid=1000", "sec=krb5:sys").
absl::Status ValidateConfigNfsOptions(absl::string_view options);

// An exports(5) client: an IP address, an IPv4 CIDR or a host name. Wildcards ("*",
// "*.lan") are refused: they would export the cluster's files to anyone who can reach
// the server, and the coordinator always knows the clients' addresses.
absl::Status ValidateConfigNfsClient(absl::string_view client);

// The `ssh`, `link` and `nfs` sections at `value`. `hostnames` are the nodes already
// parsed, in order; link.nodes and nfs.server must name one of them, and every node's
// computed link address must fit its subnet.
absl::Status ParseSshSection(const YamlField& value, SshSettings* out);
absl::Status ParseLinkSection(const YamlField& value, const std::vector<std::string>& hostnames,
                              LinkSettings* out);
absl::Status ParseNfsSection(const YamlField& value, const std::vector<std::string>& hostnames,
                             NfsSettings* out);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_CLUSTER_CONFIG_SETUP_H_
