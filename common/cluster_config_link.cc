// cluster.yaml's `link` section: the direct ConnectX-7 link's interfaces, subnets, MTU
// and each node's addresses (declared in cluster_config_setup.h).
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/cluster_config_setup.h"
#include "common/validate.h"
#include "common/yaml_document.h"

namespace sparkfleet {
namespace {

constexpr int64_t kMinMtu = 576;
constexpr int64_t kMaxMtu = 9978;  // the largest a ConnectX-7 port takes

uint32_t Mask(int prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

// Host addresses a subnet holds, network and broadcast addresses excluded.
int64_t HostCount(const Ipv4Cidr& subnet) { return (int64_t{1} << (32 - subnet.prefix)) - 2; }

bool Overlap(const Ipv4Cidr& a, const Ipv4Cidr& b) {
  uint32_t mask = Mask(std::min(a.prefix, b.prefix));
  return (a.address & mask) == (b.address & mask);
}

// Where an interface was written, for messages about it.
struct InterfaceMarks {
  std::optional<YamlField> name;
  std::optional<YamlField> subnet;
};

absl::Status ReadInterface(const YamlField& item, LinkInterfaceSettings* out,
                           InterfaceMarks* marks) {
  absl::StatusOr<YamlMap> map = item.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"name", "subnet"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  absl::StatusOr<YamlField> name = map->Require("name");
  if (!name.ok()) return name.status();
  if (absl::Status status = name->ReadNonEmptyString(&out->name); !status.ok()) return status;
  if (absl::Status s = name->Invalid(ValidateInterfaceName(out->name)); !s.ok()) return s;
  absl::StatusOr<YamlField> subnet = map->Require("subnet", "an IPv4 network, 192.168.100.0/24");
  if (!subnet.ok()) return subnet.status();
  if (absl::Status status = subnet->ReadNonEmptyString(&out->subnet); !status.ok()) return status;
  absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(out->subnet);
  if (!cidr.ok()) return subnet->Invalid(cidr.status());
  if (cidr->prefix > 30) return subnet->Error("the prefix must be /30 or shorter to hold hosts");
  Ipv4Cidr network{cidr->address & Mask(cidr->prefix), cidr->prefix};
  if (network.address != cidr->address) {
    return subnet->Error(absl::StrCat("\"", out->subnet,
                                      "\" is not a network address; did you mean ",
                                      FormatIpv4Cidr(network), "?"));
  }
  *marks = InterfaceMarks{*name, *subnet};
  return absl::OkStatus();
}

absl::Status ReadInterfaces(const YamlField& value, std::vector<LinkInterfaceSettings>* out,
                            std::vector<InterfaceMarks>* marks) {
  absl::StatusOr<std::vector<YamlField>> items = value.AsList();
  if (!items.ok()) return items.status();
  if (items->empty()) {
    return value.Error("at least one interface: - {name: enp1s0f1np1, subnet: 192.168.100.0/24}");
  }
  out->clear();
  marks->clear();
  for (const YamlField& item : *items) {
    LinkInterfaceSettings interface;
    InterfaceMarks mark;
    if (absl::Status status = ReadInterface(item, &interface, &mark); !status.ok()) return status;
    Ipv4Cidr subnet = *ParseIpv4Cidr(interface.subnet);
    for (size_t j = 0; j < out->size(); ++j) {
      if ((*out)[j].name == interface.name) {
        return mark.name->Error(absl::StrCat("\"", interface.name, "\" is listed twice"));
      }
      if (Overlap(subnet, *ParseIpv4Cidr((*out)[j].subnet))) {
        return mark.subnet->Error(absl::StrCat(interface.subnet, " overlaps ", (*out)[j].subnet,
                                               " of ", (*out)[j].name,
                                               "; each interface needs its own subnet"));
      }
    }
    out->push_back(std::move(interface));
    marks->push_back(std::move(mark));
  }
  return absl::OkStatus();
}

// Every node's computed address fits each subnet.
absl::Status CheckRoom(const YamlField& section, const LinkSettings& link, size_t node_count,
                       const std::vector<InterfaceMarks>& marks) {
  for (size_t j = 0; j < link.interfaces.size(); ++j) {
    Ipv4Cidr subnet = *ParseIpv4Cidr(link.interfaces[j].subnet);
    int64_t last = link.host_offset + static_cast<int64_t>(node_count) - 1;
    if (last <= HostCount(subnet)) continue;
    std::string message =
        absl::StrCat(link.interfaces[j].subnet, " holds ", HostCount(subnet), " hosts, but ",
                     node_count, " nodes from host_offset ", link.host_offset, " need host ", last,
                     "; use a larger subnet or a smaller host_offset");
    if (j < marks.size() && marks[j].subnet.has_value()) return marks[j].subnet->Error(message);
    return section.Error(message);
  }
  return absl::OkStatus();
}

// One link.nodes entry: {addresses: {IFACE: CIDR}}.
absl::Status ReadNodeAddresses(const YamlField& value, const LinkSettings& link,
                               std::map<std::string, std::string>* out,
                               std::map<std::string, YamlField>* marks) {
  absl::StatusOr<YamlMap> node = value.AsMap();
  if (!node.ok()) return node.status();
  constexpr absl::string_view kKeys[] = {"addresses"};
  if (absl::Status status = node->CheckKeys(kKeys); !status.ok()) return status;
  std::optional<YamlField> addresses = node->Find("addresses");
  if (!addresses.has_value()) return absl::OkStatus();
  absl::StatusOr<YamlMap> map = addresses->AsMap();
  if (!map.ok()) return map.status();
  for (const YamlEntry& entry : map->entries()) {
    YamlField field(value.document(), entry.value, addresses->ChildPath(entry.key));
    auto interface = std::find_if(link.interfaces.begin(), link.interfaces.end(),
                                  [&](const auto& i) { return i.name == entry.key; });
    if (interface == link.interfaces.end()) {
      return value.document().Error(
          entry.key_mark,
          absl::StrCat(field.path(), ": \"", entry.key, "\" is not one of link.interfaces"));
    }
    std::string text;
    if (absl::Status status = field.ReadNonEmptyString(&text); !status.ok()) return status;
    absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(text);
    if (!cidr.ok()) return field.Invalid(cidr.status());
    Ipv4Cidr subnet = *ParseIpv4Cidr(interface->subnet);
    uint32_t host = cidr->address & ~Mask(subnet.prefix);
    if (cidr->prefix != subnet.prefix || (cidr->address & Mask(subnet.prefix)) != subnet.address ||
        host == 0 || host == ~Mask(subnet.prefix)) {
      return field.Error(absl::StrCat(text, " is not a host address in ", interface->subnet));
    }
    (*out)[entry.key] = FormatIpv4Cidr(*cidr);
    marks->emplace(entry.key, field);
  }
  return absl::OkStatus();
}

// link.nodes, then no address used twice on one interface.
absl::Status ReadNodes(const YamlField& value, const std::vector<std::string>& hostnames,
                       LinkSettings* link) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  std::map<std::pair<std::string, std::string>, YamlField> marks;
  for (const YamlEntry& entry : map->entries()) {
    YamlField field(value.document(), entry.value, value.ChildPath(entry.key));
    auto host = std::find_if(hostnames.begin(), hostnames.end(), [&](const std::string& name) {
      return absl::EqualsIgnoreCase(name, entry.key);
    });
    if (host == hostnames.end()) {
      return value.document().Error(
          entry.key_mark,
          absl::StrCat(field.path(), ": \"", entry.key, "\" is not a hostname from `nodes`"));
    }
    std::map<std::string, YamlField> node_marks;
    std::map<std::string, std::string>& addresses = link->node_addresses[*host];
    if (absl::Status s = ReadNodeAddresses(field, *link, &addresses, &node_marks); !s.ok()) {
      return s;
    }
    for (auto& [interface, mark] : node_marks) marks.emplace(std::pair(*host, interface), mark);
  }
  for (const LinkInterfaceSettings& interface : link->interfaces) {
    std::map<std::string, std::string> used;  // address -> hostname
    for (size_t i = 0; i < hostnames.size(); ++i) {
      std::string address = link->AddressFor(i, hostnames[i], interface);
      auto [other, fresh] = used.emplace(address, hostnames[i]);
      if (fresh) continue;
      auto mark = marks.find({hostnames[i], interface.name});
      if (mark == marks.end()) mark = marks.find({other->second, interface.name});
      return mark->second.Error(absl::StrCat(address, " on ", interface.name,
                                             " would be the address of both ", other->second,
                                             " and ", hostnames[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadScalars(const YamlMap& map, LinkSettings* out) {
  out->enabled = true;
  if (std::optional<YamlField> enabled = map.Find("enabled")) {
    if (absl::Status status = enabled->ReadBool(&out->enabled); !status.ok()) return status;
  }
  if (std::optional<YamlField> mtu = map.Find("mtu"); mtu && !mtu->is_null()) {
    int64_t value = 0;
    if (absl::Status status = mtu->ReadInt(&value); !status.ok()) return status;
    if (value < kMinMtu || value > kMaxMtu) {
      return mtu->Error(absl::StrCat("MTU ", value, " is outside ", kMinMtu, "..", kMaxMtu,
                                     " bytes (jumbo frames: 9000)"));
    }
    out->mtu_bytes = static_cast<uint32_t>(value);
  }
  if (std::optional<YamlField> offset = map.Find("host_offset"); offset && !offset->is_null()) {
    int64_t value = 0;
    if (absl::Status status = offset->ReadInt(&value); !status.ok()) return status;
    if (value < 1 || value > 65534) {
      return offset->Error(absl::StrCat("host_offset ", value, " is not in 1..65534"));
    }
    out->host_offset = static_cast<int>(value);
  }
  return absl::OkStatus();
}

}  // namespace

std::string LinkSettings::AddressFor(size_t node_index, const std::string& hostname,
                                     const LinkInterfaceSettings& interface) const {
  if (auto node = node_addresses.find(hostname); node != node_addresses.end()) {
    if (auto address = node->second.find(interface.name); address != node->second.end()) {
      return address->second;
    }
  }
  Ipv4Cidr subnet = *ParseIpv4Cidr(interface.subnet);
  subnet.address += static_cast<uint32_t>(host_offset) + static_cast<uint32_t>(node_index);
  return FormatIpv4Cidr(subnet);
}

absl::Status ParseLinkSection(const YamlField& value, const std::vector<std::string>& hostnames,
                              LinkSettings* out) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"enabled", "mtu", "host_offset", "interfaces", "nodes"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  if (absl::Status status = ReadScalars(*map, out); !status.ok()) return status;
  out->interfaces = {{"enp1s0f1np1", "192.168.100.0/24"}, {"enP2p1s0f1np1", "192.168.101.0/24"}};
  std::vector<InterfaceMarks> marks;
  if (std::optional<YamlField> interfaces = map->Find("interfaces")) {
    if (absl::Status s = ReadInterfaces(*interfaces, &out->interfaces, &marks); !s.ok()) return s;
  }
  if (absl::Status s = CheckRoom(value, *out, hostnames.size(), marks); !s.ok()) return s;
  if (std::optional<YamlField> nodes = map->Find("nodes")) {
    return ReadNodes(*nodes, hostnames, out);
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
