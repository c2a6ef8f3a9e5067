#include "coordinator/setup/setup_requests.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

constexpr absl::string_view kKeyTypes[] = {"ssh-ed25519",
                                           "ecdsa-sha2-nistp256",
                                           "ecdsa-sha2-nistp384",
                                           "ecdsa-sha2-nistp521",
                                           "sk-ssh-ed25519@openssh.com",
                                           "sk-ecdsa-sha2-nistp256@openssh.com",
                                           "ssh-rsa"};

// The key type recorded inside the blob (a uint32 length, then the name), which
// OpenSSH checks against the line's type.
bool BlobMatchesType(absl::string_view blob_base64, absl::string_view type) {
  std::string blob;
  if (!absl::Base64Unescape(blob_base64, &blob) || blob.size() < 4) return false;
  size_t length = (static_cast<unsigned char>(blob[0]) << 24) |
                  (static_cast<unsigned char>(blob[1]) << 16) |
                  (static_cast<unsigned char>(blob[2]) << 8) | static_cast<unsigned char>(blob[3]);
  return blob.size() >= 4 + length && absl::string_view(blob).substr(4, length) == type;
}

// "name", or "[name]:port" when sshd is not on 22.
std::string KnownHostName(absl::string_view name, uint16_t port) {
  if (port == kDefaultSshPort) return std::string(name);
  return absl::StrCat("[", name, "]:", port);
}

}  // namespace

std::string ShortHostname(absl::string_view hostname) {
  return std::string(hostname.substr(0, hostname.find('.')));
}

std::string PublicKey::Line() const {
  return comment.empty() ? WithoutComment() : absl::StrCat(type, " ", blob, " ", comment);
}

std::string PublicKey::WithoutComment() const { return absl::StrCat(type, " ", blob); }

absl::StatusOr<PublicKey> ParsePublicKey(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2) {
    return absl::InvalidArgumentError("is not an OpenSSH public key line (TYPE BASE64 [comment])");
  }
  PublicKey key{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
  bool known_type = false;
  for (absl::string_view type : kKeyTypes) known_type = known_type || key.type == type;
  if (!known_type) {
    return absl::InvalidArgumentError(absl::StrCat("has key type \"",
                                                   absl::CHexEscape(key.type.substr(0, 40)),
                                                   "\", which is not an OpenSSH public key type"));
  }
  if (!BlobMatchesType(key.blob, key.type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("is not a valid ", key.type, " key (its base64 data does not decode to one)"));
  }
  for (char c : key.comment) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("has a control character in its comment");
    }
  }
  return key;
}

std::vector<v1::HostEntry> BuildHostsEntries(const ClusterConfig& config) {
  std::vector<v1::HostEntry> entries;
  for (const ClusterNode& node : config.nodes) {
    v1::HostEntry entry;
    entry.set_address(node.ip);
    entry.add_names(node.hostname);
    std::string short_name = ShortHostname(node.hostname);
    if (short_name != node.hostname) entry.add_names(short_name);
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<v1::KnownHost>> BuildKnownHosts(
    const ClusterConfig& config, const std::map<std::string, std::vector<std::string>>& host_keys) {
  std::vector<v1::KnownHost> known_hosts;
  for (const ClusterNode& node : config.nodes) {
    auto keys = host_keys.find(node.hostname);
    if (keys == host_keys.end()) continue;
    std::vector<std::string> names = {node.hostname};
    if (ShortHostname(node.hostname) != node.hostname)
      names.push_back(ShortHostname(node.hostname));
    names.push_back(node.ip);
    std::set<std::string> seen;
    for (const std::string& line : keys->second) {
      absl::StatusOr<PublicKey> key = ParsePublicKey(line);
      if (!key.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(node.hostname, ": a host key it reported ", key.status().message()));
      }
      if (!seen.insert(key->WithoutComment()).second) continue;
      v1::KnownHost entry;
      for (const std::string& name : names) entry.add_names(KnownHostName(name, config.ssh.port));
      entry.set_public_key(key->WithoutComment());
      known_hosts.push_back(std::move(entry));
    }
  }
  return known_hosts;
}

absl::StatusOr<std::vector<std::string>> BuildAuthorizedKeys(
    const ClusterConfig& config, absl::string_view cluster_public_key,
    const std::map<std::string, std::string>& user_keys) {
  std::vector<std::string> lines;
  std::set<std::string> seen;
  auto add = [&](absl::string_view owner, absl::string_view line) -> absl::Status {
    absl::StatusOr<PublicKey> key = ParsePublicKey(line);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(owner, " ", key.status().message()));
    }
    if (seen.insert(key->WithoutComment()).second) lines.push_back(key->Line());
    return absl::OkStatus();
  };
  if (!cluster_public_key.empty()) {
    if (absl::Status status = add("the cluster key", cluster_public_key); !status.ok()) {
      return status;
    }
  }
  for (const ClusterNode& node : config.nodes) {
    auto key = user_keys.find(node.hostname);
    if (key == user_keys.end() || key->second.empty()) continue;
    std::string owner = absl::StrCat(node.hostname, ": the user key of ", node.user);
    if (absl::Status status = add(owner, key->second); !status.ok()) return status;
  }
  return lines;
}

v1::ConfigureSshRequest BuildSshRequest(const ClusterConfig& config, const ClusterNode& node,
                                        const std::vector<std::string>& authorized_keys,
                                        const std::vector<v1::KnownHost>& known_hosts) {
  v1::ConfigureSshRequest request;
  request.set_user(node.user);
  for (const std::string& key : authorized_keys) request.add_authorized_keys(key);
  for (const v1::KnownHost& host : known_hosts) *request.add_known_hosts() = host;
  request.set_harden_sshd(config.ssh.harden);
  if (config.ssh.harden) {
    for (const auto& [keyword, value] : config.ssh.options) {
      (*request.mutable_sshd_options())[keyword] = value;
    }
  }
  return request;
}

v1::ConfigureLinkRequest BuildLinkRequest(const ClusterConfig& config, size_t node_index) {
  const ClusterNode& node = config.nodes[node_index];
  v1::ConfigureLinkRequest request;
  for (const LinkInterfaceSettings& interface : config.link.interfaces) {
    v1::LinkInterface* out = request.add_interfaces();
    out->set_name(interface.name);
    out->add_addresses(config.link.AddressFor(node_index, node.hostname, interface));
    out->set_mtu_bytes(config.link.mtu_bytes);
  }
  request.set_management_address(node.ip);
  return request;
}

NfsRequests BuildNfsRequests(const ClusterConfig& config) {
  const NfsSettings& nfs = config.nfs;
  NfsRequests out;
  out.server = nfs.server.empty() ? config.primary_node() : nfs.server;
  std::string server_address = nfs.server_address;
  v1::ConfigureNfsRequest& server = out.server_request;
  server.set_role(v1::NFS_ROLE_SERVER);
  server.set_export_path(nfs.export_path);
  server.set_export_options(nfs.export_options);
  for (const std::string& client : nfs.clients) server.add_export_clients(client);
  std::set<std::string> default_clients;  // nodes may share an address (the demo)
  for (const ClusterNode& node : config.nodes) {
    if (node.hostname == out.server) {
      if (server_address.empty()) server_address = node.ip;
    } else if (nfs.clients.empty() && default_clients.insert(node.ip).second) {
      server.add_export_clients(node.ip);
    }
  }
  v1::ConfigureNfsRequest& client = out.client_request;
  client.set_role(v1::NFS_ROLE_CLIENT);
  client.set_server_address(server_address);
  client.set_remote_path(nfs.export_path);
  client.set_mount_point(nfs.mount_point.empty() ? nfs.export_path : nfs.mount_point);
  client.set_mount_options(nfs.mount_options);
  return out;
}

}  // namespace sparkfleet
