#include "node_agent/probe/rdma_probe.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "node_agent/probe/sysfs_text.h"

namespace sparkfleet {
namespace {

constexpr char kClassInfiniband[] = "/sys/class/infiniband";

std::vector<uint32_t> NumericNames(const std::vector<std::string>& names) {
  std::vector<uint32_t> out;
  for (const std::string& name : names) {
    uint32_t value = 0;
    if (absl::SimpleAtoi(name, &value)) out.push_back(value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ReadGids(SysfsReader& sysfs, const std::string& port_dir, v1::RdmaPort& port) {
  for (uint32_t index : NumericNames(sysfs.List(port_dir + "/gids"))) {
    std::string suffix = absl::StrCat("/", index);
    std::optional<Gid> gid = sysfs.Parse<Gid>(port_dir + "/gids" + suffix, ParseGid, true);
    if (!gid || gid->empty) continue;
    // An unused slot's type reads EINVAL (or, in a tree, empty): not a GID NCCL can use.
    std::optional<v1::GidType> type =
        sysfs.Parse<v1::GidType>(port_dir + "/gid_attrs/types" + suffix, ParseGidType, true);
    if (!type) continue;
    v1::GidEntry* entry = port.add_gids();
    entry->set_index(index);
    entry->set_gid(gid->text);
    entry->set_type(*type);
    entry->set_ipv4_address(gid->ipv4_address);
    if (auto ndev = sysfs.Read(port_dir + "/gid_attrs/ndevs" + suffix, true)) {
      entry->set_netdev(*ndev);
    }
  }
}

v1::RdmaPort ProbePort(SysfsReader& sysfs, const std::string& dir, uint32_t number,
                       const std::vector<std::string>& netdevs) {
  std::string port_dir = absl::StrCat(dir, "/ports/", number);
  v1::RdmaPort port;
  port.set_port(number);
  if (auto state = sysfs.Parse<v1::RdmaPortState>(port_dir + "/state", ParseRdmaPortState)) {
    port.set_state(*state);
  }
  if (auto phys = sysfs.Parse<v1::RdmaPhysState>(port_dir + "/phys_state", ParseRdmaPhysState)) {
    port.set_phys_state(*phys);
  }
  port.set_rate_gbps(sysfs.Parse<double>(port_dir + "/rate", ParseRdmaRate).value_or(0));
  if (auto layer = sysfs.Parse<v1::RdmaLinkLayer>(port_dir + "/link_layer", ParseRdmaLinkLayer)) {
    port.set_link_layer(*layer);
  }
  ReadGids(sysfs, port_dir, port);
  // mlx5 exposes one port per PCI function and one netdev behind it; GID entries name it
  // too, which also covers devices with several netdevs.
  for (const v1::GidEntry& gid : port.gids()) {
    if (!gid.netdev().empty()) {
      port.set_netdev(gid.netdev());
      break;
    }
  }
  // Ports count from 1; a port "0" (a garbled tree) has no netdev by position.
  if (port.netdev().empty() && number >= 1 && netdevs.size() >= number) {
    port.set_netdev(netdevs[number - 1]);
  }
  if (std::optional<uint32_t> index = AutoGidIndex(port)) port.set_auto_gid_index(*index);
  return port;
}

v1::RdmaDevice ProbeDevice(SysfsReader& sysfs, const std::string& name) {
  std::string dir = absl::StrCat(kClassInfiniband, "/", name);
  v1::RdmaDevice device;
  device.set_name(name);
  device.set_numa_node(-1);
  if (std::optional<std::string> real = sysfs.RealPath(dir + "/device")) {
    if (IsPciAddress(Basename(*real))) device.set_pci_address(std::string(Basename(*real)));
    device.set_numa_node(
        static_cast<int32_t>(sysfs.ReadInt(*real + "/numa_node", true).value_or(-1)));
  }
  if (auto fw = sysfs.Read(dir + "/fw_ver", true)) device.set_fw_version(*fw);
  if (auto guid = sysfs.Read(dir + "/node_guid", true)) device.set_node_guid(*guid);
  std::vector<std::string> netdevs = sysfs.List(dir + "/device/net");
  for (const std::string& netdev : netdevs) device.add_netdevs(netdev);
  for (uint32_t number : NumericNames(sysfs.List(dir + "/ports"))) {
    *device.add_ports() = ProbePort(sysfs, dir, number, netdevs);
  }
  return device;
}

}  // namespace

std::optional<uint32_t> AutoGidIndex(const v1::RdmaPort& port) {
  for (const v1::GidEntry& gid : port.gids()) {
    if (gid.type() == v1::GID_TYPE_ROCE_V2 && !gid.ipv4_address().empty()) return gid.index();
  }
  return std::nullopt;
}

std::vector<v1::RdmaDevice> ProbeRdmaDevices(SysfsReader& sysfs) {
  std::vector<v1::RdmaDevice> devices;
  for (const std::string& name : sysfs.List(kClassInfiniband)) {
    devices.push_back(ProbeDevice(sysfs, name));
  }
  std::sort(devices.begin(), devices.end(), [](const v1::RdmaDevice& a, const v1::RdmaDevice& b) {
    return std::tie(a.pci_address(), a.name()) < std::tie(b.pci_address(), b.name());
  });
  return devices;
}

}  // namespace sparkfleet
