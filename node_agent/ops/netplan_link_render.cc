// The pure half of netplan_link.h: validation, the YAML, and the checks against probed
// NICs.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/validate.h"
#include "node_agent/ops/netplan_link.h"

namespace sparkfleet {
namespace {

constexpr uint32_t kMinMtu = 576;   // IPv4's minimum datagram every host must accept
constexpr uint32_t kMaxMtu = 9216;  // the largest jumbo frame ConnectX-7 ports take

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("ConfigureLink: ", field, ": ", why));
}

// "IP/prefix" with a prefix that leaves room for hosts of that family.
absl::Status ValidateInterfaceCidr(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  int prefix = 0;
  if (parts.size() != 2 || !ValidateIpAddress(parts[0]).ok() ||
      !absl::SimpleAtoi(parts[1], &prefix) || parts[1].empty() || parts[1][0] == '+' ||
      prefix < 1 || prefix > (IsIpv6(parts[0]) ? 128 : 32)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not an address with a prefix length (192.168.100.10/24, fd00::10/64)"));
  }
  return absl::OkStatus();
}

// The address part of "IP/prefix" in a canonical binary form, for comparisons.
std::string AddressKey(absl::string_view text) {
  std::string address(text.substr(0, text.find('/')));
  unsigned char raw[sizeof(in6_addr)] = {};
  if (inet_pton(AF_INET, address.c_str(), raw) == 1)
    return std::string("4") + std::string(reinterpret_cast<const char*>(raw), 4);
  if (inet_pton(AF_INET6, address.c_str(), raw) == 1)
    return std::string("6") + std::string(reinterpret_cast<const char*>(raw), 16);
  return address;
}

const v1::Nic* FindNic(const std::vector<v1::Nic>& nics, absl::string_view name) {
  for (const v1::Nic& nic : nics) {
    if (nic.name() == name) return &nic;
  }
  return nullptr;
}

// The interface holding `address`, or nullptr.
const v1::Nic* NicHolding(const std::vector<v1::Nic>& nics, absl::string_view address) {
  const std::string key = AddressKey(address);
  for (const v1::Nic& nic : nics) {
    for (const v1::IpAddress& held : nic.addresses()) {
      if (AddressKey(held.address()) == key) return &nic;
    }
  }
  return nullptr;
}

// "up", "down", "lowerlayerdown", ... as sysfs writes them.
std::string OperStateText(v1::NicOperState state) {
  if (state == v1::NIC_OPER_STATE_UNSPECIFIED) return "unreadable";
  std::string name = v1::NicOperState_Name(state);
  absl::string_view short_name = name;
  absl::ConsumePrefix(&short_name, "NIC_OPER_STATE_");
  return absl::AsciiStrToLower(absl::StrReplaceAll(short_name, {{"_", ""}}));
}

std::vector<const v1::LinkInterface*> SortedInterfaces(const v1::ConfigureLinkRequest& request) {
  std::vector<const v1::LinkInterface*> sorted;
  for (const v1::LinkInterface& interface : request.interfaces()) sorted.push_back(&interface);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name() < b->name(); });
  return sorted;
}

}  // namespace

absl::Status ValidateConfigureLinkRequest(const v1::ConfigureLinkRequest& request) {
  if (request.interfaces().empty()) {
    return Invalid("interfaces", "name at least one ConnectX-7 interface");
  }
  std::set<std::string> names;
  for (int i = 0; i < request.interfaces_size(); ++i) {
    const v1::LinkInterface& interface = request.interfaces(i);
    const std::string field = absl::StrCat("interfaces[", i, "]");
    if (absl::Status s = ValidateInterfaceName(interface.name()); !s.ok()) {
      return Invalid(field + ".name", s.message());
    }
    if (!names.insert(interface.name()).second) {
      return Invalid(field + ".name", absl::StrCat("\"", interface.name(), "\" is listed twice"));
    }
    for (int a = 0; a < interface.addresses_size(); ++a) {
      if (absl::Status s = ValidateInterfaceCidr(interface.addresses(a)); !s.ok()) {
        return Invalid(absl::StrCat(field, ".addresses[", a, "]"), s.message());
      }
    }
    const uint32_t mtu = interface.mtu_bytes();
    if (mtu != 0 && (mtu < kMinMtu || mtu > kMaxMtu)) {
      return Invalid(field + ".mtu_bytes",
                     absl::StrCat(mtu, " is not 0 (leave unset) or ", kMinMtu, "..", kMaxMtu));
    }
  }
  if (!request.management_address().empty()) {
    if (absl::Status s = ValidateIpAddress(request.management_address()); !s.ok()) {
      return Invalid("management_address", s.message());
    }
  }
  return absl::OkStatus();
}

std::string RenderNetplanLink(const v1::ConfigureLinkRequest& request) {
  std::string yaml =
      "# Written by sparkfleet (spark-agent, ConfigureLink): the ConnectX-7 direct link.\n"
      "# Edits are overwritten by the next `sparkctl link`; change cluster.yaml instead.\n"
      "network:\n"
      "  version: 2\n"
      "  ethernets:\n";
  for (const v1::LinkInterface* interface : SortedInterfaces(request)) {
    absl::StrAppend(&yaml, "    ", interface->name(), ":\n", "      dhcp4: false\n",
                    "      dhcp6: false\n");
    if (!interface->addresses().empty()) {
      absl::StrAppend(&yaml, "      addresses:\n");
      for (const std::string& address : interface->addresses()) {
        absl::StrAppend(&yaml, "        - \"", address, "\"\n");
      }
    }
    if (interface->mtu_bytes() != 0) {
      absl::StrAppend(&yaml, "      mtu: ", interface->mtu_bytes(), "\n");
    }
  }
  return yaml;
}

absl::Status LinkSettled(const v1::ConfigureLinkRequest& request, const std::vector<v1::Nic>& nics,
                         bool check_carrier) {
  const std::string& management = request.management_address();
  if (!management.empty() && NicHolding(nics, management) == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("the management address ", management, " is not assigned to any interface"));
  }
  if (!check_carrier) return absl::OkStatus();
  for (const v1::LinkInterface* interface : SortedInterfaces(request)) {
    const v1::Nic* nic = FindNic(nics, interface->name());
    if (nic == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(interface->name(), " has disappeared from /sys/class/net"));
    }
    if (!nic->has_carrier() || !nic->carrier() || nic->operstate() != v1::NIC_OPER_STATE_UP) {
      return absl::FailedPreconditionError(
          absl::StrCat(interface->name(), " has no link (carrier ",
                       nic->has_carrier() ? (nic->carrier() ? "1" : "0") : "unreadable",
                       ", operstate ", OperStateText(nic->operstate()),
                       "); check the QSFP cable is in the same port number on both nodes"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLinkAgainstNode(const v1::ConfigureLinkRequest& request,
                                  const std::vector<v1::Nic>& nics) {
  std::vector<std::string> missing;
  for (const v1::LinkInterface* interface : SortedInterfaces(request)) {
    if (FindNic(nics, interface->name()) == nullptr) missing.push_back(interface->name());
  }
  if (!missing.empty()) {
    std::vector<std::string> cx7;
    for (const v1::Nic& nic : nics) {
      if (nic.driver() == "mlx5_core") cx7.push_back(nic.name());
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "no such interface on this node (/sys/class/net): ", absl::StrJoin(missing, ", "), "; ",
        cx7.empty() ? "this node has no ConnectX-7 (mlx5_core) interfaces"
                    : absl::StrCat("its ConnectX-7 interfaces are ", absl::StrJoin(cx7, ", "))));
  }
  const std::string& management = request.management_address();
  const v1::Nic* holder = management.empty() ? nullptr : NicHolding(nics, management);
  if (holder == nullptr) return absl::OkStatus();
  for (const v1::LinkInterface& interface : request.interfaces()) {
    if (interface.name() != holder->name()) continue;
    for (const std::string& address : interface.addresses()) {
      if (AddressKey(address) == AddressKey(management)) return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the management address ", management, " is on ", holder->name(),
        ", and the new link addresses for it drop that address: the node would lose its "
        "management connection; use other interfaces for the link"));
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
