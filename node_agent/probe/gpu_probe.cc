#include "node_agent/probe/gpu_probe.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "node_agent/probe/nic_probe.h"
#include "node_agent/probe/sysfs_text.h"

namespace sparkfleet {
namespace {

constexpr char kPciDevices[] = "/sys/bus/pci/devices";
constexpr int64_t kNvidiaVendor = 0x10de;

std::string DriverVersion(SysfsReader& sysfs) {
  std::optional<std::string> text = sysfs.Read("/proc/driver/nvidia/version", true);
  if (!text) return "";
  absl::string_view line = absl::string_view(*text).substr(0, text->find('\n'));
  for (absl::string_view token : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(token[0])) &&
        token.find('.') != absl::string_view::npos) {
      return std::string(token);
    }
  }
  return "";
}

// Adds what sysfs knows about the GPU's PCI function.
void AddPciFacts(SysfsReader& sysfs, v1::Gpu& gpu) {
  std::string dir = absl::StrCat(kPciDevices, "/", gpu.pci_address());
  std::optional<std::string> real = sysfs.RealPath(dir, /*optional=*/true);
  if (!real) return;
  gpu.set_numa_node(static_cast<int32_t>(sysfs.ReadInt(*real + "/numa_node", true).value_or(-1)));
  *gpu.mutable_pcie() = ReadPcieLink(sysfs, *real);
}

// --- NVML, declared here as the driver's nvml.h does (only what the probe calls).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
struct NvmlPciInfo {
  char bus_id_legacy[16];
  unsigned int domain, bus, device, pci_device_id, pci_sub_system_id;
  char bus_id[32];
};
struct NvmlMemory {
  unsigned long long total, free, used;
};

struct Nvml {
  void* handle = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*count)(unsigned int*) = nullptr;
  nvmlReturn_t (*by_index)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*pci)(nvmlDevice_t, NvmlPciInfo*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, NvmlMemory*) = nullptr;
  nvmlReturn_t (*cc)(nvmlDevice_t, int*, int*) = nullptr;
  nvmlReturn_t (*driver)(char*, unsigned int) = nullptr;
  nvmlReturn_t (*cuda)(int*) = nullptr;
  // Optional: absent on drivers or GPUs without NVLink.
  nvmlReturn_t (*nvlink_state)(nvmlDevice_t, unsigned int, int*) = nullptr;
  nvmlReturn_t (*nvlink_remote)(nvmlDevice_t, unsigned int, NvmlPciInfo*) = nullptr;

  template <typename F>
  bool Load(F& fn, const char* symbol) {
    fn = reinterpret_cast<F>(dlsym(handle, symbol));
    return fn != nullptr;
  }
  bool Open() {
    handle = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return false;
    bool required =
        Load(init, "nvmlInit_v2") && Load(shutdown, "nvmlShutdown") &&
        Load(count, "nvmlDeviceGetCount_v2") && Load(by_index, "nvmlDeviceGetHandleByIndex_v2") &&
        Load(name, "nvmlDeviceGetName") && Load(uuid, "nvmlDeviceGetUUID") &&
        Load(pci, "nvmlDeviceGetPciInfo_v3") && Load(memory, "nvmlDeviceGetMemoryInfo") &&
        Load(cc, "nvmlDeviceGetCudaComputeCapability") &&
        Load(driver, "nvmlSystemGetDriverVersion") && Load(cuda, "nvmlSystemGetCudaDriverVersion");
    Load(nvlink_state, "nvmlDeviceGetNvLinkState");
    Load(nvlink_remote, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
    return required;
  }
  ~Nvml() {
    if (handle != nullptr) dlclose(handle);
  }
};

// NVML's bus id "00000000:01:00.0" -> sysfs's "0000:01:00.0".
std::string SysfsPciAddress(const NvmlPciInfo& info) {
  return absl::StrFormat("%04x:%02x:%02x.0", info.domain, info.bus, info.device);
}

v1::Gpu NvmlGpu(Nvml& nvml, unsigned int index, nvmlDevice_t device) {
  v1::Gpu gpu;
  gpu.set_index(index);
  gpu.set_source(v1::GPU_SOURCE_NVML);
  char text[96] = {};
  if (nvml.name(device, text, sizeof text) == kNvmlSuccess) gpu.set_name(text);
  if (nvml.uuid(device, text, sizeof text) == kNvmlSuccess) gpu.set_uuid(text);
  NvmlPciInfo pci = {};
  if (nvml.pci(device, &pci) == kNvmlSuccess) {
    gpu.set_pci_address(SysfsPciAddress(pci));
    gpu.set_pci_device_id(pci.pci_device_id >> 16);
  }
  NvmlMemory memory = {};
  if (nvml.memory(device, &memory) == kNvmlSuccess) {
    gpu.set_memory_total_bytes(static_cast<int64_t>(memory.total));
    gpu.set_memory_free_bytes(static_cast<int64_t>(memory.free));
  }
  int major = 0, minor = 0;
  if (nvml.cc(device, &major, &minor) == kNvmlSuccess) {
    gpu.set_compute_capability(absl::StrCat(major, ".", minor));
  }
  // NVML_NVLINK_MAX_LINKS is 18; a GPU without NVLink answers NOT_SUPPORTED at once.
  for (unsigned int link = 0; nvml.nvlink_state != nullptr && link < 18; ++link) {
    int active = 0;
    if (nvml.nvlink_state(device, link, &active) != kNvmlSuccess) break;
    v1::NvLink* out = gpu.add_nvlinks();
    out->set_link(link);
    out->set_active(active == 1);
    NvmlPciInfo remote = {};
    if (nvml.nvlink_remote != nullptr &&
        nvml.nvlink_remote(device, link, &remote) == kNvmlSuccess) {
      out->set_remote_pci_address(SysfsPciAddress(remote));
    }
  }
  return gpu;
}

}  // namespace

std::vector<v1::Gpu> ProbeGpusFromPci(SysfsReader& sysfs) {
  std::vector<v1::Gpu> gpus;
  std::string driver = DriverVersion(sysfs);
  for (const std::string& address : sysfs.List(kPciDevices)) {
    std::string dir = absl::StrCat(kPciDevices, "/", address);
    if (sysfs.ReadInt(dir + "/vendor", true).value_or(0) != kNvidiaVendor) continue;
    int64_t pci_class = sysfs.ReadInt(dir + "/class", true).value_or(0);
    // 0x0300xx VGA/display, 0x0302xx 3D controller (what data-centre GPUs are).
    if ((pci_class >> 16) != 0x03) continue;
    v1::Gpu gpu;
    gpu.set_source(v1::GPU_SOURCE_PCI);
    gpu.set_pci_address(address);
    int64_t device_id = sysfs.ReadInt(dir + "/device", true).value_or(0);
    gpu.set_pci_device_id(static_cast<uint32_t>(device_id));
    gpu.set_name(absl::StrFormat("NVIDIA device %04x", device_id));
    gpu.set_driver_version(driver);
    AddPciFacts(sysfs, gpu);
    gpus.push_back(std::move(gpu));
  }
  std::sort(gpus.begin(), gpus.end(),
            [](const v1::Gpu& a, const v1::Gpu& b) { return a.pci_address() < b.pci_address(); });
  for (size_t i = 0; i < gpus.size(); ++i) gpus[i].set_index(static_cast<uint32_t>(i));
  return gpus;
}

std::optional<std::vector<v1::Gpu>> ProbeGpusFromNvml(SysfsReader& sysfs) {
  Nvml nvml;
  if (!nvml.Open() || nvml.init() != kNvmlSuccess) return std::nullopt;
  std::vector<v1::Gpu> gpus;
  char driver[96] = {};
  std::string driver_version =
      nvml.driver(driver, sizeof driver) == kNvmlSuccess ? driver : DriverVersion(sysfs);
  int cuda = 0;
  std::string cuda_version =
      nvml.cuda(&cuda) == kNvmlSuccess ? absl::StrCat(cuda / 1000, ".", cuda % 1000 / 10) : "";
  unsigned int count = 0;
  if (nvml.count(&count) == kNvmlSuccess) {
    for (unsigned int i = 0; i < count; ++i) {
      nvmlDevice_t device = nullptr;
      if (nvml.by_index(i, &device) != kNvmlSuccess) {
        sysfs.Warn("libnvidia-ml.so.1", absl::StrCat("nvmlDeviceGetHandleByIndex(", i, ") failed"));
        continue;
      }
      v1::Gpu gpu = NvmlGpu(nvml, i, device);
      gpu.set_driver_version(driver_version);
      gpu.set_cuda_driver_version(cuda_version);
      AddPciFacts(sysfs, gpu);
      gpus.push_back(std::move(gpu));
    }
  }
  nvml.shutdown();
  return gpus;
}

}  // namespace sparkfleet
