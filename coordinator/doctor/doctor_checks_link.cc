// What several doctor checks read alike from a node's probe: the cluster link's
// interfaces and a Spark's port halves.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/strip.h"
#include "coordinator/doctor/doctor_checks_internal.h"

namespace sparkfleet::doctor_internal {
namespace {

const v1::Nic* FindNic(const v1::ProbeReply& probe, absl::string_view name) {
  for (const v1::Nic& nic : probe.nics()) {
    if (nic.name() == name) return &nic;
  }
  return nullptr;
}

bool BacksNic(const v1::Nic& nic, const v1::RdmaDevice& device) {
  return std::find(nic.rdma_devices().begin(), nic.rdma_devices().end(), device.name()) !=
         nic.rdma_devices().end();
}

// An RDMA port of `nic`'s devices that is ACTIVE (the cable is in and the link is up).
bool HasActiveRdmaPort(const v1::ProbeReply& probe, const v1::Nic& nic) {
  for (const v1::RdmaDevice& device : probe.rdma_devices()) {
    if (!BacksNic(nic, device)) continue;
    for (const v1::RdmaPort& port : device.ports()) {
      bool this_netdev = port.netdev().empty() || port.netdev() == nic.name();
      if (port.state() == v1::RDMA_PORT_STATE_ACTIVE && this_netdev) return true;
    }
  }
  return false;
}

// The phys_port_name ("p1") of the netdev behind `device`; empty when none says.
std::string PhysPortName(const v1::ProbeReply& probe, const v1::RdmaDevice& device) {
  for (const v1::Nic& nic : probe.nics()) {
    if (!nic.phys_port_name().empty() && BacksNic(nic, device)) return nic.phys_port_name();
  }
  for (const std::string& netdev : device.netdevs()) {
    const v1::Nic* nic = FindNic(probe, netdev);
    if (nic != nullptr && !nic->phys_port_name().empty()) return nic->phys_port_name();
  }
  return "";
}

}  // namespace

LinkInterfaces FindLinkInterfaces(const ClusterConfig& config, const v1::ProbeReply& probe) {
  LinkInterfaces out;
  if (config.link.enabled && !config.link.interfaces.empty()) {
    for (const LinkInterfaceSettings& wanted : config.link.interfaces) {
      const v1::Nic* nic = FindNic(probe, wanted.name);
      if (nic != nullptr) {
        out.nics.push_back(nic);
      } else {
        out.missing.push_back(wanted.name);
      }
    }
    return out;
  }
  for (const v1::Nic& nic : probe.nics()) {
    if (nic.kind() == v1::NIC_KIND_PHYSICAL && HasActiveRdmaPort(probe, nic)) {
      out.nics.push_back(&nic);
    }
  }
  return out;
}

bool IsRoceInterface(const v1::ProbeReply& probe, const v1::Nic& nic) {
  for (const v1::RdmaDevice& device : probe.rdma_devices()) {
    if (!BacksNic(nic, device)) continue;
    for (const v1::RdmaPort& port : device.ports()) {
      if (port.link_layer() == v1::RDMA_LINK_LAYER_ETHERNET) return true;
    }
  }
  return false;
}

std::vector<SparkPort> FindSparkPorts(const v1::ProbeReply& probe) {
  // (phys_port_name, PCI address without its domain) -> devices.
  std::map<std::pair<std::string, std::string>, std::vector<const v1::RdmaDevice*>> groups;
  for (const v1::RdmaDevice& device : probe.rdma_devices()) {
    std::string port_name = PhysPortName(probe, device);
    size_t colon = device.pci_address().find(':');
    if (port_name.empty() || colon == std::string::npos) continue;
    groups[{port_name, device.pci_address().substr(colon + 1)}].push_back(&device);
  }
  std::vector<SparkPort> ports;
  for (auto& [key, devices] : groups) {
    if (devices.size() != 2) continue;
    std::sort(devices.begin(), devices.end(), [](const v1::RdmaDevice* a, const v1::RdmaDevice* b) {
      return a->pci_address() < b->pci_address();
    });
    if (devices[0]->pci_address() == devices[1]->pci_address()) continue;
    SparkPort port;
    port.name = key.first;
    port.halves[0] = devices[0];
    port.halves[1] = devices[1];
    ports.push_back(port);
  }
  std::sort(ports.begin(), ports.end(), [](const SparkPort& a, const SparkPort& b) {
    return std::tie(a.name, a.halves[0]->pci_address()) <
           std::tie(b.name, b.halves[0]->pci_address());
  });
  return ports;
}

std::string PortStateName(v1::RdmaPortState state) {
  if (state == v1::RDMA_PORT_STATE_UNSPECIFIED) return "unreadable";
  return std::string(absl::StripPrefix(v1::RdmaPortState_Name(state), "RDMA_PORT_STATE_"));
}

}  // namespace sparkfleet::doctor_internal
