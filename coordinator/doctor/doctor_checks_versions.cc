// Doctor's version checks: the NVIDIA driver, CUDA, NCCL, the kernel and the NIC
// firmware must be the same on every node; NCCL must be new enough for a GB10; and one
// info line lists the versions.
#include <array>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "coordinator/doctor/doctor_checks_internal.h"

namespace sparkfleet::doctor_internal {
namespace {

using NodeTexts = std::vector<std::pair<std::string, std::string>>;

constexpr char kNotInstalled[] = "not installed";
constexpr std::array<int, 3> kMinGb10Nccl = {2, 27, 3};  // first NCCL that supports DGX Spark
constexpr uint32_t kGb10PciDeviceId = 0x2e12;            // what PCI enumeration names the GB10

// One version of one node.
struct VersionFact {
  enum class State { kNotApplicable, kUnknown, kKnown } state = State::kNotApplicable;
  std::string text;  // the version as reported, or why it is unknown
  std::string key;   // what is compared between nodes
};

VersionFact Known(const std::string& text, const std::string& key) {
  return {VersionFact::State::kKnown, text, key};
}
VersionFact Unknown(std::string why) { return {VersionFact::State::kUnknown, std::move(why), ""}; }

// "2.27.7-1+cuda13.0" (dpkg) and "2.27.7" (the library) are the same NCCL: compare the
// leading dotted number, without a dpkg epoch.
std::string VersionKey(absl::string_view version) {
  size_t colon = version.find(':');
  if (colon != absl::string_view::npos) version.remove_prefix(colon + 1);
  size_t end = 0;
  while (end < version.size() && (absl::ascii_isdigit(version[end]) || version[end] == '.')) ++end;
  return std::string(end > 0 ? version.substr(0, end) : version);
}

VersionFact Component(const DoctorNodeFacts& node, absl::string_view name) {
  if (!node.info.has_value()) return {};
  for (const v1::InstalledComponent& component : node.info->components()) {
    if (component.name() != name) continue;
    if (!component.present()) return Known(kNotInstalled, kNotInstalled);
    if (component.version().empty())
      return Unknown(absl::StrCat(name, " is present, version unknown"));
    return Known(component.version(), VersionKey(component.version()));
  }
  return Unknown(absl::StrCat("GetInfo reports no ", name, " component"));
}

VersionFact DriverVersion(const DoctorNodeFacts& node) {
  VersionFact fact = Component(node, "nvidia-driver");
  bool from_info = fact.state == VersionFact::State::kKnown && fact.text != kNotInstalled;
  if (!from_info && node.probe.has_value()) {
    for (const v1::Gpu& gpu : node.probe->gpus()) {
      if (!gpu.driver_version().empty()) {
        return Known(gpu.driver_version(), VersionKey(gpu.driver_version()));
      }
    }
  }
  return fact;
}

VersionFact CudaVersion(const DoctorNodeFacts& node) { return Component(node, "cuda"); }
VersionFact NcclVersion(const DoctorNodeFacts& node) { return Component(node, "nccl"); }

VersionFact KernelVersion(const DoctorNodeFacts& node) {
  if (!node.info.has_value()) return {};
  if (node.info->kernel_release().empty()) return Unknown("GetInfo has no kernel release");
  return Known(node.info->kernel_release(), node.info->kernel_release());
}

VersionFact NicFirmware(const DoctorNodeFacts& node) {
  if (!node.probe.has_value() || node.probe->rdma_devices_size() == 0) return {};
  std::set<std::string> versions;
  for (const v1::RdmaDevice& device : node.probe->rdma_devices()) {
    if (device.fw_version().empty()) {
      return Unknown(absl::StrCat(device.name(), "'s firmware version is unreadable"));
    }
    versions.insert(device.fw_version());
  }
  std::string joined = absl::StrJoin(versions, ",");
  return Known(joined, joined);
}

struct VersionKind {
  const char* id;     // finding id when the nodes differ
  const char* label;  // "NCCL"
  VersionFact (*read)(const DoctorNodeFacts&);
  const char* why;
  const char* fix;
};

constexpr VersionKind kKinds[] = {
    {"driver-version-mismatch", "NVIDIA driver", DriverVersion,
     "nodes on different NVIDIA drivers can disagree on CUDA features and NCCL behaviour",
     "install the same NVIDIA driver on every node (same DGX OS update), then reboot"},
    {"cuda-version-mismatch", "CUDA", CudaVersion,
     "programs built against one CUDA may not run, or run differently, on the other nodes",
     "install the same CUDA toolkit version on every node"},
    {"nccl-version-mismatch", "NCCL", NcclVersion,
     "every rank of a job must run the same NCCL; mixed versions hang or fail at init",
     "set nccl.version (or nccl.source_tag) in cluster.yaml and run `sparkctl nccl`"},
    {"kernel-version-mismatch", "kernel", KernelVersion,
     "different kernels mean different NIC, RDMA and GPU driver code on the nodes",
     "update every node to the same kernel (same DGX OS update) and reboot"},
    {"nic-firmware-mismatch", "NIC firmware", NicFirmware,
     "ConnectX-7 ends on different firmware can negotiate the link differently",
     "update the ConnectX-7 firmware to the same version on every node (DGX OS firmware "
     "update), then power-cycle"},
};

// Version facts of one kind on every node; unknowns reported.
NodeTexts KnownVersions(const DoctorInput& input, const VersionKind& kind,
                        std::set<std::string>* keys, FindingList* out) {
  NodeTexts known;
  for (const DoctorNodeFacts& node : input.nodes) {
    VersionFact fact = kind.read(node);
    if (fact.state == VersionFact::State::kUnknown) {
      out->Unknown(absl::StrCat(kind.label, " version"), node.node, fact.text);
    } else if (fact.state == VersionFact::State::kKnown) {
      known.emplace_back(node.node, fact.text);
      keys->insert(fact.key);
    }
  }
  return known;
}

void CheckVersionsMatch(const DoctorInput& input, FindingList* out) {
  std::vector<std::string> summary;
  std::vector<std::string> nodes;
  for (const VersionKind& kind : kKinds) {
    std::set<std::string> keys;
    NodeTexts known = KnownVersions(input, kind, &keys, out);
    if (known.empty()) continue;
    for (const auto& entry : known) nodes.push_back(entry.first);
    if (keys.size() > 1) {
      out->Add(kind.id, Severity::kError, NodeNames(known),
               absl::StrCat(kind.label, " differs: ", PerNode(known)), kind.why, kind.fix);
      summary.push_back(absl::StrCat(kind.label, " differs"));
    } else {
      summary.push_back(absl::StrCat(kind.label, " ", known.front().second));
    }
  }
  if (summary.empty()) return;
  out->Add("versions", Severity::kInfo, InClusterOrder(input, nodes), absl::StrJoin(summary, ", "),
           "the software every node must agree on", "nothing to do");
}

// "2.27.7-1+cuda13.0" -> {2, 27, 7}; nullopt when it does not start with a number.
std::optional<std::array<int, 3>> ParseVersion(absl::string_view version) {
  std::vector<absl::string_view> parts = absl::StrSplit(VersionKey(version), '.');
  std::array<int, 3> numbers = {0, 0, 0};
  for (size_t i = 0; i < parts.size() && i < numbers.size(); ++i) {
    if (!absl::SimpleAtoi(parts[i], &numbers[i])) return std::nullopt;
  }
  return numbers;
}

bool HasGb10(const v1::ProbeReply& probe) {
  for (const v1::Gpu& gpu : probe.gpus()) {
    if (absl::StrContains(gpu.name(), "GB10") || gpu.pci_device_id() == kGb10PciDeviceId) {
      return true;
    }
  }
  return false;
}

void CheckNcclNewEnough(const DoctorInput& input, FindingList* out) {
  NodeTexts old;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value() || !HasGb10(*node.probe)) continue;
    VersionFact nccl = NcclVersion(node);
    if (nccl.state != VersionFact::State::kKnown || nccl.text == kNotInstalled) continue;
    std::optional<std::array<int, 3>> version = ParseVersion(nccl.text);
    if (!version.has_value()) {
      out->Unknown("NCCL version", node.node, absl::StrCat("\"", nccl.text, "\" is not x.y.z"));
      continue;
    }
    if (*version < kMinGb10Nccl) old.emplace_back(node.node, absl::StrCat("NCCL ", nccl.text));
  }
  if (old.empty()) return;
  out->Add("nccl-too-old", Severity::kError, NodeNames(old),
           absl::StrCat(PerNode(old), " on a GB10 (needs 2.27.3 or newer)"),
           "NCCL before 2.27.3 does not support the DGX Spark's GB10",
           "set nccl.version (apt) or nccl.source_tag (e.g. v2.27.7-1) in cluster.yaml and run "
           "`sparkctl nccl`");
}

}  // namespace

void CheckVersions(const DoctorInput& input, FindingList* out) {
  CheckVersionsMatch(input, out);
  CheckNcclNewEnough(input, out);
}

}  // namespace sparkfleet::doctor_internal
