#include "node_agent/ops/nccl_conf.h"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/nccl_config.h"
#include "common/unified_diff.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

constexpr char kFromProbe[] = "probe";
constexpr char kFromConfig[] = "cluster.yaml";

// Interfaces NCCL must never use for its sockets, whatever they hold.
bool NeverNcclInterface(const v1::Nic& nic) {
  constexpr absl::string_view kPrefixes[] = {"veth", "docker", "br", "virbr", "tailscale", "wl"};
  if (nic.name() == "lo" || nic.wireless()) return true;
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes), [&](absl::string_view prefix) {
    return absl::StartsWith(nic.name(), prefix);
  });
}

bool HasCarrier(const v1::Nic& nic) { return nic.has_carrier() && nic.carrier(); }

// An address NCCL's bootstrap can listen on: any IPv4, or IPv6 beyond link-local.
bool HasSocketAddress(const v1::Nic& nic) {
  for (const v1::IpAddress& address : nic.addresses()) {
    if (IsLoopbackAddress(address.address())) continue;
    if (!address.ipv6() || !absl::StartsWithIgnoreCase(address.address(), "fe80:")) return true;
  }
  return false;
}

// Where NCCL puts each device in its lists: PCI order, then name.
template <typename T>
void SortByPci(std::vector<const T*>* items) {
  std::sort(items->begin(), items->end(), [](const T* a, const T* b) {
    return std::tie(a->pci_address(), a->name()) < std::tie(b->pci_address(), b->name());
  });
}

std::optional<std::string> AddressBytes(const std::string& address) {
  unsigned char bytes[16];
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) return std::string(bytes, bytes + 4);
  if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) return std::string(bytes, bytes + 16);
  return std::nullopt;
}

// The RDMA ports a probe reports as ACTIVE, by the netdev behind them.
bool HasActiveRdmaPort(const v1::ProbeReply& probe, const v1::Nic& nic) {
  for (const v1::RdmaDevice& device : probe.rdma_devices()) {
    if (std::find(nic.rdma_devices().begin(), nic.rdma_devices().end(), device.name()) ==
        nic.rdma_devices().end()) {
      continue;
    }
    for (const v1::RdmaPort& port : device.ports()) {
      bool this_netdev = port.netdev().empty() || port.netdev() == nic.name();
      if (port.state() == v1::RDMA_PORT_STATE_ACTIVE && this_netdev) return true;
    }
  }
  return false;
}

// Cabled, RDMA-backed netdevs with carrier, in PCI order (a Spark's two halves of the
// cabled port).
std::vector<const v1::Nic*> CabledRdmaNetdevs(const v1::ProbeReply& probe) {
  std::vector<const v1::Nic*> cabled;
  for (const v1::Nic& nic : probe.nics()) {
    if (nic.kind() != v1::NIC_KIND_PHYSICAL || NeverNcclInterface(nic)) continue;
    if (HasCarrier(nic) && HasActiveRdmaPort(probe, nic)) cabled.push_back(&nic);
  }
  SortByPci(&cabled);
  return cabled;
}

// "dev" or, for multi-port devices, "dev:port", for every ACTIVE port on a cabled netdev.
std::vector<std::string> ActiveHcas(const v1::ProbeReply& probe,
                                    const std::vector<const v1::Nic*>& cabled) {
  std::vector<const v1::RdmaDevice*> devices;
  for (const v1::RdmaDevice& device : probe.rdma_devices()) devices.push_back(&device);
  SortByPci(&devices);
  std::vector<std::string> hcas;
  for (const v1::RdmaDevice* device : devices) {
    for (const v1::RdmaPort& port : device->ports()) {
      if (port.state() != v1::RDMA_PORT_STATE_ACTIVE) continue;
      bool on_cabled = std::any_of(cabled.begin(), cabled.end(), [&](const v1::Nic* nic) {
        return nic->name() == port.netdev() ||
               std::find(nic->rdma_devices().begin(), nic->rdma_devices().end(), device->name()) !=
                   nic->rdma_devices().end();
      });
      if (!on_cabled && port.link_layer() != v1::RDMA_LINK_LAYER_INFINIBAND) continue;
      hcas.push_back(device->ports_size() > 1 ? absl::StrCat(device->name(), ":", port.port())
                                              : device->name());
    }
  }
  return hcas;
}

// The interface holding the node's cluster address, when NCCL may use it.
absl::StatusOr<std::string> ClusterAddressInterface(const v1::ProbeReply& probe,
                                                    const std::string& cluster_address) {
  std::string what = "No cabled RDMA interface with carrier and an address was found";
  std::string fix = "; set NCCL_SOCKET_IFNAME in cluster.yaml's nccl.env (or the node's)";
  std::optional<std::string> wanted = AddressBytes(cluster_address);
  if (!wanted.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " and the request names no cluster address", fix));
  }
  for (const v1::Nic& nic : probe.nics()) {
    for (const v1::IpAddress& address : nic.addresses()) {
      if (AddressBytes(address.address()) != wanted) continue;
      if (NeverNcclInterface(nic)) {
        return absl::FailedPreconditionError(absl::StrCat(what, ", and the cluster address ",
                                                          cluster_address, " is on ", nic.name(),
                                                          ", which NCCL must not use", fix));
      }
      return nic.name();
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      what, ", and no interface of this node holds the cluster address ", cluster_address, fix));
}

v1::NcclSetting Setting(const std::string& key, const std::string& value, const char* source) {
  v1::NcclSetting setting;
  setting.set_key(key);
  setting.set_value(value);
  setting.set_source(source);
  return setting;
}

// The file's owner for a home directory's file; root's files stay root's.
absl::StatusOr<WriteOptions> OptionsFor(Env& env, const std::string& path) {
  std::string parent = path.substr(0, path.rfind('/'));
  absl::StatusOr<FileInfo> dir = env.Stat(parent);
  if (!dir.ok() || !dir->is_dir) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path, ": directory ", parent,
                                                      " does not exist on this node"));
  }
  WriteOptions options;
  options.mode = 0644;
  options.backup = true;
  if (!absl::StartsWith(path, "/etc/")) {
    options.uid = dir->uid;
    options.gid = dir->gid;
  }
  return options;
}

// Settings numbered by their line in `content`, whose tail is `body`.
void NumberSettings(absl::string_view content, absl::string_view body,
                    std::vector<v1::NcclSetting> settings, v1::WriteNcclConfReply* reply) {
  absl::string_view header = content.substr(0, content.size() - body.size());
  uint32_t line = static_cast<uint32_t>(std::count(header.begin(), header.end(), '\n'));
  for (v1::NcclSetting& setting : settings) {
    setting.set_line(++line);
    *reply->add_settings() = std::move(setting);
  }
}

}  // namespace

absl::Status ValidateWriteNcclConfRequest(const v1::WriteNcclConfRequest& request) {
  auto field = [](absl::string_view name, const absl::Status& why) {
    return why.ok() ? why : absl::InvalidArgumentError(absl::StrCat(name, " ", why.message()));
  };
  if (!request.conf_path().empty()) {
    if (absl::Status s = field("conf_path", ValidateNcclConfPath(request.conf_path())); !s.ok()) {
      return s;
    }
  }
  if (!request.cluster_address().empty()) {
    absl::Status s = field("cluster_address", ValidateIpAddress(request.cluster_address()));
    if (!s.ok()) return s;
  }
  std::map<std::string, std::string> sorted(request.env().begin(), request.env().end());
  for (const auto& [key, value] : sorted) {
    if (absl::Status s = field("env key", ValidateNcclKey(key)); !s.ok()) return s;
    if (absl::Status s = field(absl::StrCat("env[", key, "]"), ValidateNcclValue(value)); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NcclConfBody> RenderNcclConfBody(const v1::WriteNcclConfRequest& request,
                                                const v1::ProbeReply& probe) {
  std::map<std::string, v1::NcclSetting> lines;
  for (const auto& [key, value] : request.env()) lines[key] = Setting(key, value, kFromConfig);
  std::vector<const v1::Nic*> cabled = CabledRdmaNetdevs(probe);
  std::vector<const v1::Nic*> socket_nics;
  std::copy_if(cabled.begin(), cabled.end(), std::back_inserter(socket_nics),
               [](const v1::Nic* nic) { return HasSocketAddress(*nic); });
  if (lines.count("NCCL_SOCKET_IFNAME") == 0) {
    std::vector<std::string> names;
    for (const v1::Nic* nic : socket_nics) names.push_back(nic->name());
    if (names.empty()) {
      absl::StatusOr<std::string> name = ClusterAddressInterface(probe, request.cluster_address());
      if (!name.ok()) return name.status();
      names.push_back(*name);
    }
    lines["NCCL_SOCKET_IFNAME"] =
        Setting("NCCL_SOCKET_IFNAME", absl::StrCat("=", absl::StrJoin(names, ",")), kFromProbe);
  }
  std::vector<std::string> hcas = ActiveHcas(probe, cabled);
  if (lines.count("NCCL_IB_HCA") == 0 && !hcas.empty()) {
    lines["NCCL_IB_HCA"] =
        Setting("NCCL_IB_HCA", absl::StrCat("=", absl::StrJoin(hcas, ",")), kFromProbe);
  }
  NcclConfBody body;
  for (auto& [key, setting] : lines) {
    absl::StrAppend(&body.text, key, "=", setting.value(), "\n");
    body.settings.push_back(std::move(setting));
  }
  return body;
}

std::string NcclConfHeader(const NcclConfAuthor& author) {
  return absl::StrCat(
      "# Written by sparkfleet (spark-agent ", author.agent_version, ") on ", author.node_name,
      " at ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", author.now, absl::UTCTimeZone()), ".\n",
      "# From `sparkctl nccl`: cluster.yaml's nccl settings and this node's probe. Edits are\n",
      "# replaced on the next run; change cluster.yaml instead. NCCL does not trim: KEY=value.\n",
      "\n");
}

absl::string_view NcclConfBodyOf(absl::string_view text) {
  size_t pos = 0;
  while (pos < text.size() && text[pos] == '#') {
    size_t end = text.find('\n', pos);
    pos = end == absl::string_view::npos ? text.size() : end + 1;
  }
  if (pos > 0 && pos < text.size() && text[pos] == '\n') ++pos;  // the header's empty line
  return text.substr(pos);
}

absl::StatusOr<v1::WriteNcclConfReply> WriteNcclConf(Env& env,
                                                     const v1::WriteNcclConfRequest& request,
                                                     const v1::ProbeReply& probe,
                                                     const NcclConfAuthor& author) {
  absl::StatusOr<NcclConfBody> body = RenderNcclConfBody(request, probe);
  if (!body.ok()) return body.status();
  const std::string path =
      request.conf_path().empty() ? std::string(kDefaultNcclConfPath) : request.conf_path();
  absl::StatusOr<std::string> old = env.ReadFile(path);
  if (!old.ok() && !absl::IsNotFound(old.status())) return old.status();
  const bool existed = old.ok();
  std::string old_text = existed ? *old : "";

  v1::WriteNcclConfReply reply;
  *reply.mutable_warnings() = probe.warnings();
  v1::ChangeReport* change = reply.add_changes();
  change->set_path(path);
  if (existed && NcclConfBodyOf(old_text) == body->text) {
    reply.set_content(old_text);  // same settings: keep the file, header and mtime
    NumberSettings(old_text, body->text, std::move(body->settings), &reply);
    return reply;
  }
  std::string content = absl::StrCat(NcclConfHeader(author), body->text);
  change->set_changed(true);
  change->set_diff(UnifiedDiff(old_text, content, existed ? path : "/dev/null", path));
  reply.set_content(content);
  NumberSettings(content, body->text, std::move(body->settings), &reply);
  absl::StatusOr<WriteOptions> options = OptionsFor(env, path);
  if (!options.ok()) return options.status();
  if (request.dry_run()) return reply;
  absl::StatusOr<std::string> backup = env.WriteFileAtomic(path, content, *options);
  if (!backup.ok()) return backup.status();
  change->set_backup_path(*backup);
  return reply;
}

}  // namespace sparkfleet
