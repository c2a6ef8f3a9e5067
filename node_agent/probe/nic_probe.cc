#include "node_agent/probe/nic_probe.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "node_agent/probe/sysfs_text.h"

namespace sparkfleet {
namespace {

constexpr char kClassNet[] = "/sys/class/net";
constexpr char kFixtureAddresses[] = "/etc/sparkfleet/fixture-addresses";

// Interfaces NCCL and validation must never treat as cluster links, by name.
bool IsVirtualName(absl::string_view name) {
  for (absl::string_view prefix : {"lo", "veth", "docker", "br-", "virbr", "tailscale", "tun",
                                   "tap", "bond", "vxlan", "cni", "flannel", "cali"}) {
    if (absl::StartsWith(name, prefix)) return true;
  }
  return false;
}

int PrefixLength(const sockaddr* mask) {
  int bits = 0;
  const unsigned char* bytes = nullptr;
  size_t len = 0;
  if (mask->sa_family == AF_INET) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    len = 4;
  } else {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    len = 16;
  }
  for (size_t i = 0; i < len; ++i) bits += __builtin_popcount(bytes[i]);
  return bits;
}

std::multimap<std::string, v1::IpAddress> LiveAddresses() {
  std::multimap<std::string, v1::IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_netmask == nullptr) continue;
    int family = a->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
            : &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
    inet_ntop(family, raw, text, sizeof text);
    v1::IpAddress address;
    address.set_address(text);
    address.set_prefix_length(PrefixLength(a->ifa_netmask));
    address.set_ipv6(family == AF_INET6);
    out.emplace(a->ifa_name, address);
  }
  freeifaddrs(list);
  return out;
}

std::multimap<std::string, v1::IpAddress> FixtureAddresses(SysfsReader& sysfs) {
  std::multimap<std::string, v1::IpAddress> out;
  std::optional<std::string> text = sysfs.Read(kFixtureAddresses, /*optional=*/true);
  if (!text) return out;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipWhitespace())) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) continue;
    absl::StatusOr<InterfaceAddress> parsed = ParseInterfaceAddressLine(line);
    if (!parsed.ok()) {
      sysfs.Warn(kFixtureAddresses, parsed.status().message());
      continue;
    }
    out.emplace(parsed->interface, parsed->address);
  }
  return out;
}

void ReadDeviceFacts(SysfsReader& sysfs, const std::string& dir, v1::Nic& nic) {
  std::string device = dir + "/device";
  if (!sysfs.Exists(device)) {
    nic.set_kind(v1::NIC_KIND_VIRTUAL);
    nic.set_numa_node(-1);
    return;
  }
  nic.set_kind(IsVirtualName(nic.name()) ? v1::NIC_KIND_VIRTUAL : v1::NIC_KIND_PHYSICAL);
  nic.set_numa_node(-1);
  std::optional<std::string> real = sysfs.RealPath(device);
  std::optional<std::string> driver = sysfs.RealPath(device + "/driver", /*optional=*/true);
  if (driver) nic.set_driver(std::string(Basename(*driver)));
  // virtio and other bus drivers put their own device (virtio0) between the netdev and
  // its PCI function: look one level up.
  if (real && !IsPciAddress(Basename(*real))) {
    std::string parent = real->substr(0, real->find_last_of('/'));
    if (IsPciAddress(Basename(parent))) real = parent;
  }
  if (real && IsPciAddress(Basename(*real))) {
    nic.set_pci_address(std::string(Basename(*real)));
    *nic.mutable_pcie() = ReadPcieLink(sysfs, *real);
    nic.set_numa_node(static_cast<int32_t>(sysfs.ReadInt(*real + "/numa_node", true).value_or(-1)));
  }
}

v1::Nic ProbeOne(SysfsReader& sysfs, const std::string& name) {
  std::string dir = absl::StrCat(kClassNet, "/", name);
  v1::Nic nic;
  nic.set_name(name);
  if (std::optional<std::string> mac = sysfs.Read(dir + "/address", true)) nic.set_mac(*mac);
  nic.set_mtu_bytes(static_cast<uint32_t>(sysfs.ReadInt(dir + "/mtu").value_or(0)));
  // speed reads EINVAL on a link that is down, or "-1": both mean unknown.
  int64_t speed = sysfs.ReadInt(dir + "/speed", true).value_or(-1);
  nic.set_speed_mbps(speed <= 0 ? -1 : speed);
  if (auto state = sysfs.Parse<v1::NicOperState>(dir + "/operstate", ParseOperState)) {
    nic.set_operstate(*state);
  }
  if (std::optional<int64_t> carrier = sysfs.ReadInt(dir + "/carrier", true)) {
    nic.set_carrier(*carrier == 1);
  }
  if (auto port = sysfs.Read(dir + "/phys_port_name", true)) nic.set_phys_port_name(*port);
  nic.set_wireless(sysfs.Exists(dir + "/wireless") || sysfs.Exists(dir + "/phy80211"));
  ReadDeviceFacts(sysfs, dir, nic);
  return nic;
}

}  // namespace

v1::PcieLink ReadPcieLink(SysfsReader& sysfs, const std::string& device_dir) {
  v1::PcieLink link;
  auto speed = [&](const char* file) {
    return sysfs.Parse<double>(device_dir + "/" + file, ParsePcieLinkSpeed, true).value_or(0);
  };
  link.set_current_speed_gtps(speed("current_link_speed"));
  link.set_max_speed_gtps(speed("max_link_speed"));
  link.set_current_width_lanes(
      static_cast<uint32_t>(sysfs.ReadInt(device_dir + "/current_link_width", true).value_or(0)));
  link.set_max_width_lanes(
      static_cast<uint32_t>(sysfs.ReadInt(device_dir + "/max_link_width", true).value_or(0)));
  return link;
}

std::vector<v1::Nic> ProbeNics(SysfsReader& sysfs, bool live_addresses) {
  std::multimap<std::string, v1::IpAddress> addresses =
      live_addresses ? LiveAddresses() : FixtureAddresses(sysfs);
  std::vector<v1::Nic> nics;
  for (const std::string& name : sysfs.List(kClassNet)) {
    if (name == "bonding_masters") continue;
    v1::Nic nic = ProbeOne(sysfs, name);
    auto range = addresses.equal_range(name);
    for (auto it = range.first; it != range.second; ++it) *nic.add_addresses() = it->second;
    nics.push_back(std::move(nic));
  }
  return nics;
}

}  // namespace sparkfleet
