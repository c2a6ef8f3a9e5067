#include "coordinator/cluster_views.h"

#include "absl/strings/str_cat.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

// The node's Tailscale address when it is a plain IP address, else "".
std::string TailscaleAddressOf(const TailscaleAddresses& tailscale, const ClusterNode& node) {
  auto it = tailscale.find(node.hostname);
  if (it == tailscale.end() || !ValidateIpAddress(it->second).ok()) return "";
  return it->second;
}

}  // namespace

std::string PublicKeyPath(const std::string& private_key_path) {
  return private_key_path.empty() ? "" : private_key_path + ".pub";
}

v1::ClusterConfig ClusterConfigView(const ClusterConfig& config,
                                    const TailscaleAddresses& tailscale) {
  v1::ClusterConfig view;
  view.set_cluster_name(config.cluster_name);
  for (const ClusterNode& node : config.nodes) {
    v1::ClusterNode* out = view.add_nodes();
    out->set_hostname(node.hostname);
    out->set_ip(node.ip);
    out->set_user(node.user);
    out->set_port(node.port);
    std::string address = TailscaleAddressOf(tailscale, node);
    out->set_tailscale_ip(address);
    if (!address.empty()) (*view.mutable_tailscale_ip())[node.hostname] = address;
  }
  view.mutable_ssh_keys()->set_private_key_path(config.ssh_key_path);
  view.mutable_ssh_keys()->set_public_key_path(PublicKeyPath(config.ssh_key_path));
  view.set_primary_node(config.nodes.empty() ? "" : config.nodes.front().hostname);
  view.set_node_count(static_cast<uint32_t>(config.nodes.size()));
  view.set_enable_tailscale(config.enable_tailscale);
  view.set_enable_nccl(config.enable_nccl);
  return view;
}

v1::GetConnectionInfoReply ConnectionView(const ClusterConfig& config,
                                          const std::vector<ClusterNode>& nodes, bool use_tailscale,
                                          const TailscaleAddresses& tailscale) {
  v1::GetConnectionInfoReply reply;
  for (const ClusterNode& node : nodes) {
    std::string tailscale_address = TailscaleAddressOf(tailscale, node);
    if (use_tailscale && tailscale_address.empty()) continue;
    v1::NodeConnection* out = reply.add_nodes();
    out->set_node(node.hostname);
    out->set_user(node.user);
    out->set_address(node.ip);
    out->set_tailscale_address(tailscale_address);
    out->set_ssh_port(22);
    out->set_identity_file(config.ssh_key_path);
    out->add_ssh_argv("ssh");
    if (!config.ssh_key_path.empty()) {
      out->add_ssh_argv("-i");
      out->add_ssh_argv(config.ssh_key_path);
    }
    const std::string& host = use_tailscale ? tailscale_address : node.ip;
    out->add_ssh_argv(absl::StrCat(node.user, "@", host));
  }
  return reply;
}

v1::GetEndpointsReply EndpointsView(const std::vector<ClusterNode>& nodes,
                                    const TailscaleAddresses& tailscale) {
  v1::GetEndpointsReply reply;
  for (const ClusterNode& node : nodes) {
    v1::NodeEndpoint* out = reply.add_nodes();
    out->set_node(node.hostname);
    out->set_agent_endpoint(FormatHostPort(node.ip, node.port));
    std::string address = TailscaleAddressOf(tailscale, node);
    if (address.empty()) continue;
    out->set_tailscale_ip(address);
    out->set_tailscale_agent_endpoint(FormatHostPort(address, node.port));
  }
  return reply;
}

std::string SshConfigSnippet(const ClusterConfig& config,
                             const v1::GetConnectionInfoReply& connection, bool tailscale) {
  std::string out = absl::StrCat("# ssh_config for cluster ", config.cluster_name,
                                 tailscale ? " over Tailscale" : "", ", written by sparkctl\n");
  for (const v1::NodeConnection& node : connection.nodes()) {
    absl::StrAppend(&out, "Host ", node.node(), tailscale ? "-ts" : "", "\n  HostName ",
                    tailscale ? node.tailscale_address() : node.address(), "\n  User ", node.user(),
                    "\n  Port ", node.ssh_port(), "\n");
    if (!node.identity_file().empty()) {
      absl::StrAppend(&out, "  IdentityFile ", node.identity_file(), "\n  IdentitiesOnly yes\n");
    }
  }
  return out;
}

std::string InventoryIni(const ClusterConfig& config) {
  std::string out = absl::StrCat("# Ansible inventory for cluster ", config.cluster_name,
                                 ", written by sparkctl\n");
  auto host_line = [&](const ClusterNode& node) {
    return absl::StrCat(node.hostname, " ansible_host=", node.ip, " ansible_user=", node.user,
                        "\n");
  };
  absl::StrAppend(&out, "[spark_nodes]\n");
  for (const ClusterNode& node : config.nodes) absl::StrAppend(&out, host_line(node));
  if (!config.nodes.empty()) {
    absl::StrAppend(&out, "\n[primary]\n", host_line(config.nodes.front()));
    if (config.nodes.size() > 1) {
      absl::StrAppend(&out, "\n[workers]\n");
      for (size_t i = 1; i < config.nodes.size(); ++i) {
        absl::StrAppend(&out, host_line(config.nodes[i]));
      }
    }
  }
  absl::StrAppend(&out, "\n[spark_nodes:vars]\n");
  if (!config.ssh_key_path.empty()) {
    absl::StrAppend(&out, "ansible_ssh_private_key_file=", config.ssh_key_path, "\n");
  }
  absl::StrAppend(&out, "cluster_name=", config.cluster_name, "\n");
  absl::StrAppend(&out, "enable_tailscale=", config.enable_tailscale ? "true" : "false", "\n");
  absl::StrAppend(&out, "enable_nccl=", config.enable_nccl ? "true" : "false", "\n");
  return out;
}

}  // namespace sparkfleet
