#include "node_agent/info/node_info.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "node_agent/info/os_release.h"
#include "node_agent/netcheck/json_reader.h"

namespace sparkfleet {
namespace {

constexpr char kDpkgStatus[] = "/var/lib/dpkg/status";
constexpr char kCudaVersionJson[] = "/usr/local/cuda/version.json";

std::string FirstLine(Env& env, absl::string_view path) {
  absl::StatusOr<std::string> text = env.ReadFile(path);
  if (!text.ok()) return "";
  absl::string_view line = *text;
  line = line.substr(0, line.find('\n'));
  return std::string(absl::StripAsciiWhitespace(line));
}

// One thing GetInfo reports as present or missing.
struct ComponentSpec {
  const char* name;
  std::vector<const char*> packages;  // dpkg package names carrying a version
  std::vector<const char*> paths;     // files whose existence means "present"
};

const std::vector<ComponentSpec>& Components() {
  static const auto* specs = new std::vector<ComponentSpec>{
      {"sshd", {"openssh-server"}, {"/usr/sbin/sshd"}},
      {"tailscale", {"tailscale"}, {"/usr/bin/tailscale", "/usr/sbin/tailscaled"}},
      {"nccl",
       {"libnccl2"},
       {"/usr/lib/aarch64-linux-gnu/libnccl.so.2", "/usr/lib/x86_64-linux-gnu/libnccl.so.2",
        "/usr/local/lib/libnccl.so.2", "/opt/sparkfleet/nccl/lib/libnccl.so.2"}},
      {"nvidia-driver",
       {},
       {"/proc/driver/nvidia/version", "/usr/lib/aarch64-linux-gnu/libcuda.so.1",
        "/usr/lib/x86_64-linux-gnu/libcuda.so.1"}},
      // The CUDA toolkit: DGX OS installs it under /usr/local/cuda, which names its
      // version in version.json (CUDA 11.1 and later); the dpkg meta-package is a fallback.
      {"cuda", {"cuda-toolkit"}, {kCudaVersionJson, "/usr/local/cuda/bin/nvcc"}},
      {"iperf3", {"iperf3"}, {"/usr/bin/iperf3"}},
  };
  return *specs;
}

// "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  580.95.05  Release..." ->
// "580.95.05": the first token that looks like a dotted version.
std::string NvidiaDriverVersion(absl::string_view proc_version) {
  absl::string_view line = proc_version.substr(0, proc_version.find('\n'));
  for (absl::string_view token : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    if (!token.empty() && absl::ascii_isdigit(static_cast<unsigned char>(token[0])) &&
        absl::StrContains(token, '.')) {
      return std::string(token);
    }
  }
  return "";
}

}  // namespace

std::string CudaToolkitVersion(absl::string_view version_json) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(version_json);
  if (!doc.ok()) return "";
  std::optional<std::string> version = doc->StringAt({"cuda", "version"});
  if (!version.has_value() || version->empty() || version->size() > 32 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version->front())) ||
      !std::all_of(version->begin(), version->end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.';
      })) {
    return "";
  }
  return *version;
}

NodeInfoReader::NodeInfoReader(Env& env, std::string node_name, NcclLocator* nccl)
    : env_(env), node_name_(std::move(node_name)), nccl_(nccl) {}

void NodeInfoReader::AddNccl(v1::InstalledComponent& component) {
  NcclRuntime runtime = nccl_->Find();
  if (!runtime.nccl.has_value()) {
    if (!component.present()) {
      component.set_detail(
          absl::StrCat("libnccl.so.2 not found (searched: ", runtime.searched, ")"));
    }
    return;
  }
  component.set_present(true);
  component.set_path(runtime.nccl->path);
  if (component.version().empty()) component.set_version(runtime.nccl_version);
  if (component.detail().empty()) {
    component.set_detail(absl::StrCat("libnccl.so.2 found by ", runtime.nccl->found_by));
  }
}

absl::flat_hash_map<std::string, std::string> NodeInfoReader::InstalledPackages() {
  absl::StatusOr<FileInfo> stat = env_.Stat(kDpkgStatus);
  if (!stat.ok()) return {};
  absl::MutexLock lock(&mu_);
  if (stat->size_bytes != dpkg_size_ || stat->mtime_ns != dpkg_mtime_ns_ ||
      stat->inode != dpkg_inode_) {
    absl::StatusOr<std::string> text = env_.ReadFile(kDpkgStatus);
    dpkg_packages_ =
        text.ok() ? ParseDpkgStatus(*text) : absl::flat_hash_map<std::string, std::string>{};
    dpkg_size_ = text.ok() ? stat->size_bytes : -1;
    dpkg_mtime_ns_ = stat->mtime_ns;
    dpkg_inode_ = stat->inode;
  }
  return dpkg_packages_;
}

void NodeInfoReader::AddComponents(v1::NodeInfo& info) {
  absl::flat_hash_map<std::string, std::string> packages = InstalledPackages();
  for (const ComponentSpec& spec : Components()) {
    v1::InstalledComponent* component = info.add_components();
    component->set_name(spec.name);
    for (const char* package : spec.packages) {
      auto it = packages.find(package);
      if (it == packages.end()) continue;
      component->set_present(true);
      component->set_version(it->second);
      component->set_detail(absl::StrCat("dpkg package ", package));
      break;
    }
    if (nccl_ != nullptr && absl::string_view(spec.name) == "nccl") {
      AddNccl(*component);
      continue;
    }
    for (const char* path : spec.paths) {
      if (!env_.Exists(path)) continue;
      component->set_present(true);
      component->set_path(path);
      break;
    }
    if (absl::string_view(spec.name) == "nvidia-driver" && component->version().empty()) {
      absl::StatusOr<std::string> text = env_.ReadFile("/proc/driver/nvidia/version");
      if (text.ok()) component->set_version(NvidiaDriverVersion(*text));
    }
    if (absl::string_view(spec.name) == "cuda") {
      absl::StatusOr<std::string> text = env_.ReadFile(kCudaVersionJson);
      std::string version = text.ok() ? CudaToolkitVersion(*text) : "";
      if (!version.empty()) {
        component->set_version(version);
        component->set_detail(absl::StrCat(kCudaVersionJson));
      }
    }
  }
}

v1::NodeInfo NodeInfoReader::Read() {
  v1::NodeInfo info;
  info.set_node_name(node_name_);
  info.set_agent_version(SPARKFLEET_VERSION);
  std::string hostname = FirstLine(env_, "/proc/sys/kernel/hostname");
  if (hostname.empty()) hostname = FirstLine(env_, "/etc/hostname");
  info.set_hostname(hostname);

  absl::StatusOr<std::string> os_text = env_.ReadFile("/etc/os-release");
  if (!os_text.ok()) os_text = env_.ReadFile("/usr/lib/os-release");
  if (os_text.ok()) {
    auto fields = ParseOsRelease(*os_text);
    v1::OsRelease* os = info.mutable_os();
    os->set_id(fields["ID"]);
    os->set_version_id(fields["VERSION_ID"]);
    os->set_pretty_name(fields["PRETTY_NAME"]);
    os->set_version_codename(fields["VERSION_CODENAME"]);
    os->set_ubuntu_codename(fields["UBUNTU_CODENAME"]);
  }
  info.set_kernel_release(FirstLine(env_, "/proc/sys/kernel/osrelease"));
  struct utsname uts;
  if (uname(&uts) == 0) info.set_arch(uts.machine);
  std::string uptime = FirstLine(env_, "/proc/uptime");
  double uptime_s = 0;
  if (absl::SimpleAtod(uptime.substr(0, uptime.find(' ')), &uptime_s)) {
    info.set_uptime_s(static_cast<int64_t>(uptime_s));
  }
  AddComponents(info);
  return info;
}

}  // namespace sparkfleet
