#include "node_agent/probe/topology.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node_agent/probe/sysfs_text.h"

namespace sparkfleet {
namespace {

constexpr char kPciDevices[] = "/sys/bus/pci/devices";

struct MatrixEntry {
  v1::TopologyDevice device;
  std::optional<PciPlace> place;
};

std::optional<PciPlace> PlaceOf(SysfsReader& sysfs, const std::string& pci_address) {
  if (pci_address.empty()) return std::nullopt;
  std::optional<std::string> real =
      sysfs.RealPath(absl::StrCat(kPciDevices, "/", pci_address), /*optional=*/true);
  if (!real) return std::nullopt;
  std::optional<PciPlace> place = ParsePciPlace(*real);
  if (!place) {
    sysfs.Warn(absl::StrCat(kPciDevices, "/", pci_address),
               absl::StrCat("resolves to ", *real, ", not under /sys/devices/pci*"));
    return std::nullopt;
  }
  place->numa_node = static_cast<int>(sysfs.ReadInt(*real + "/numa_node", true).value_or(-1));
  return place;
}

// Counts the PCIe switches between the lowest common bridge and each function. Below the
// root port (bridges[0]) bridges alternate: switch upstream port (odd index), downstream
// port (even index).
int SwitchesTraversed(const PciPlace& a, const PciPlace& b, size_t common) {
  int switches = 0;
  for (const PciPlace* place : {&a, &b}) {
    for (size_t i = common; i < place->bridges.size(); ++i) switches += (i % 2 == 1);
  }
  if (common >= 2) ++switches;  // the lowest common bridge is a port of a switch
  return switches;
}

// Active NVLinks from `a` that end at `b`, or at an NVSwitch (a remote that is no GPU)
// when both GPUs reach switches: then every pair of GPUs is connected, as nvidia-smi shows
// NV18 on NVSwitch systems.
uint32_t NvLinksBetween(const v1::Gpu& a, const v1::Gpu& b, const std::vector<v1::Gpu>& gpus) {
  auto is_gpu = [&](const std::string& pci) {
    for (const v1::Gpu& gpu : gpus) {
      if (gpu.pci_address() == pci) return true;
    }
    return false;
  };
  uint32_t direct = 0, a_switched = 0, b_switched = 0;
  for (const v1::NvLink& link : a.nvlinks()) {
    if (!link.active()) continue;
    if (link.remote_pci_address() == b.pci_address()) ++direct;
    if (!link.remote_pci_address().empty() && !is_gpu(link.remote_pci_address())) ++a_switched;
  }
  for (const v1::NvLink& link : b.nvlinks()) {
    if (link.active() && !link.remote_pci_address().empty() && !is_gpu(link.remote_pci_address())) {
      ++b_switched;
    }
  }
  return direct > 0 ? direct : std::min(a_switched, b_switched);
}

}  // namespace

std::optional<PciPlace> ParsePciPlace(absl::string_view real_path) {
  if (!absl::ConsumePrefix(&real_path, "/sys/devices/")) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(real_path, '/', absl::SkipEmpty());
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "pci")) return std::nullopt;
  PciPlace place;
  place.host_bridge = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!IsPciAddress(parts[i])) return std::nullopt;
  }
  place.function = parts.back();
  place.bridges.assign(parts.begin() + 1, parts.end() - 1);
  return place;
}

v1::TopologyLevel PciDistance(const PciPlace& a, const PciPlace& b, bool single_numa_node) {
  if (a.function == b.function) return v1::TOPOLOGY_LEVEL_X;
  if (a.host_bridge != b.host_bridge) {
    bool same_node = single_numa_node || (a.numa_node >= 0 && a.numa_node == b.numa_node);
    return same_node ? v1::TOPOLOGY_LEVEL_NODE : v1::TOPOLOGY_LEVEL_SYS;
  }
  // Two functions of one device ("dddd:bb:dd.f") share its link, even on the root bus.
  if (absl::string_view(a.function).substr(0, 10) == absl::string_view(b.function).substr(0, 10)) {
    return v1::TOPOLOGY_LEVEL_PIX;
  }
  size_t common = 0;
  while (common < a.bridges.size() && common < b.bridges.size() &&
         a.bridges[common] == b.bridges[common]) {
    ++common;
  }
  if (common == 0) return v1::TOPOLOGY_LEVEL_PHB;
  return SwitchesTraversed(a, b, common) <= 1 ? v1::TOPOLOGY_LEVEL_PIX : v1::TOPOLOGY_LEVEL_PXB;
}

v1::TopologyMatrix BuildTopology(SysfsReader& sysfs, const std::vector<v1::Gpu>& gpus,
                                 const std::vector<v1::RdmaDevice>& rdma,
                                 const std::vector<v1::Nic>& nics) {
  std::vector<MatrixEntry> entries;
  for (const v1::Gpu& gpu : gpus) {
    MatrixEntry entry;
    entry.device.set_label(absl::StrCat("GPU", entries.size()));
    entry.device.set_kind(v1::TOPOLOGY_DEVICE_KIND_GPU);
    entry.device.set_gpu_name(gpu.name());
    entry.device.set_pci_address(gpu.pci_address());
    entry.device.set_numa_affinity(gpu.numa_node());
    if (auto cpus =
            sysfs.Read(absl::StrCat(kPciDevices, "/", gpu.pci_address(), "/local_cpulist"), true)) {
      entry.device.set_cpu_affinity(*cpus);
    }
    entry.place = PlaceOf(sysfs, gpu.pci_address());
    entries.push_back(std::move(entry));
  }
  int nic_number = 0;
  auto add_nic = [&](const std::string& rdma_name, const std::string& netdev,
                     const std::string& pci) {
    MatrixEntry entry;
    entry.device.set_label(absl::StrCat("NIC", nic_number++));
    entry.device.set_kind(v1::TOPOLOGY_DEVICE_KIND_NIC);
    entry.device.set_rdma_device(rdma_name);
    entry.device.set_netdev(netdev);
    entry.device.set_pci_address(pci);
    entry.device.set_numa_affinity(-1);
    entry.place = PlaceOf(sysfs, pci);
    entries.push_back(std::move(entry));
  };
  for (const v1::RdmaDevice& device : rdma) {
    add_nic(device.name(), device.netdevs().empty() ? "" : device.netdevs(0), device.pci_address());
  }
  for (const v1::Nic& nic : nics) {
    if (nic.kind() == v1::NIC_KIND_PHYSICAL && !nic.wireless() && nic.rdma_devices().empty() &&
        !nic.pci_address().empty()) {
      add_nic("", nic.name(), nic.pci_address());
    }
  }
  int numa_nodes = 0;
  for (const std::string& name : sysfs.List("/sys/devices/system/node")) {
    numa_nodes += absl::StartsWith(name, "node") && name.size() > 4;
  }
  v1::TopologyMatrix matrix;
  for (const MatrixEntry& entry : entries) *matrix.add_devices() = entry.device;
  for (size_t i = 0; i < entries.size(); ++i) {
    v1::TopologyRow* out = matrix.add_rows();
    for (size_t j = 0; j < entries.size(); ++j) {
      v1::TopologyCell* cell = out->add_cells();
      uint32_t nvlinks = (i < gpus.size() && j < gpus.size() && i != j)
                             ? NvLinksBetween(gpus[i], gpus[j], gpus)
                             : 0;
      if (i == j) {
        cell->set_level(v1::TOPOLOGY_LEVEL_X);
      } else if (nvlinks > 0) {
        cell->set_level(v1::TOPOLOGY_LEVEL_NV);
        cell->set_nvlinks(nvlinks);
        matrix.set_from_nvml(true);
      } else if (entries[i].place && entries[j].place) {
        cell->set_level(PciDistance(*entries[i].place, *entries[j].place, numa_nodes <= 1));
      }
    }
  }
  return matrix;
}

}  // namespace sparkfleet
