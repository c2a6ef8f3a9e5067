#include "node_agent/ops/nccl_install.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/nccl_config.h"
#include "node_agent/info/os_release.h"
#include "node_agent/ops/install_steps.h"

namespace sparkfleet {
namespace {

constexpr char kRepoBase[] = "https://developer.download.nvidia.com/compute/cuda/repos";
constexpr char kKeyringDeb[] = "cuda-keyring_1.1-1_all.deb";
constexpr char kCacheDir[] = "/var/cache/sparkfleet";
constexpr char kNcclGit[] = "https://github.com/NVIDIA/nccl.git";
constexpr char kCudaHome[] = "/usr/local/cuda";
constexpr char kSourcePrefix[] = "/opt/sparkfleet/nccl/";

bool OnlyChars(absl::string_view text, absl::string_view extra) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && !absl::StrContains(extra, c)) {
      return false;
    }
  }
  return true;
}

class Installer {
 public:
  Installer(const NcclInstallNode& node, const v1::InstallNcclRequest& request,
            const InstallNcclEmit& emit, const std::function<bool()>& cancelled)
      : node_(node),
        request_(request),
        emit_(emit),
        steps_(
            node.runner, node.node_name, "InstallNccl",
            [&emit](v1::InstallStep step) {
              v1::InstallNcclEvent event;
              *event.mutable_step() = std::move(step);
              emit(std::move(event));
            },
            cancelled) {}

  absl::Status Run() {
    return request_.method() == v1::NCCL_INSTALL_METHOD_SOURCE ? Source() : Apt();
  }

 private:
  void Step(absl::string_view step, v1::InstallStepState state, absl::string_view message) {
    steps_.Step(step, state, message);
  }
  absl::Status Fail(absl::string_view step, absl::Status status) {
    return steps_.Fail(step, std::move(status));
  }
  absl::Status Tool(absl::string_view step, const std::vector<std::string>& argv,
                    absl::Duration timeout, absl::StatusCode code) {
    return steps_.Tool(step, argv, timeout, code);
  }

  absl::flat_hash_map<std::string, std::string> Packages() { return InstalledPackages(node_.env); }

  void Result(bool installed_now, const std::string& version) {
    NcclRuntime runtime = node_.locator.Find();
    v1::InstallNcclEvent event;
    v1::InstallNcclResult* result = event.mutable_result();
    *result->mutable_changes() = {changes_.begin(), changes_.end()};
    result->set_version(version.empty() ? runtime.nccl_version : version);
    if (runtime.nccl.has_value()) result->set_library_path(runtime.nccl->path);
    result->set_installed_now(installed_now);
    emit_(std::move(event));
  }

  void Changed(const std::string& path) {
    v1::ChangeReport report;
    report.set_path(path);
    report.set_changed(true);
    changes_.push_back(std::move(report));
  }

  absl::Status Apt() {
    auto packages = Packages();
    const std::string& pin = request_.version();
    auto nccl = packages.find("libnccl2");
    if (nccl != packages.end() && packages.contains("libnccl-dev") &&
        (pin.empty() || nccl->second == pin)) {
      Step("check", v1::INSTALL_STEP_STATE_UNCHANGED,
           absl::StrCat("libnccl2 ", nccl->second, " and libnccl-dev are installed"));
      Result(false, nccl->second);
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> os_release = node_.env.ReadFile("/etc/os-release");
    absl::StatusOr<std::string> distro = CudaRepoDistribution(os_release.ok() ? *os_release : "");
    if (!distro.ok()) return Fail("check", distro.status());
    absl::StatusOr<std::string> arch = CudaRepoArch(node_.machine);
    if (!arch.ok()) return Fail("check", arch.status());
    Step("check", v1::INSTALL_STEP_STATE_CHANGED,
         absl::StrCat("NCCL ", pin.empty() ? "" : pin + " ", "is not installed; using NVIDIA's ",
                      *distro, "/", *arch, " repository"));
    if (absl::Status s = Keyring(packages, *distro, *arch); !s.ok()) return s;
    std::string suffix = pin.empty() ? "" : "=" + pin;
    std::vector<std::string> install = {"apt-get", "install", "-y", "--no-install-recommends"};
    if (!pin.empty()) install.push_back("--allow-downgrades");
    install.push_back("libnccl2" + suffix);
    install.push_back("libnccl-dev" + suffix);
    if (request_.dry_run()) {
      Step("apt-update", v1::INSTALL_STEP_STATE_CHANGED, "would run: apt-get update");
      Step("apt-install", v1::INSTALL_STEP_STATE_CHANGED,
           absl::StrCat("would run: ", absl::StrJoin(install, " ")));
      Result(true, pin);
      return absl::OkStatus();
    }
    if (absl::Status s = Tool("apt-update", {"apt-get", "update"}, absl::Minutes(10),
                              absl::StatusCode::kUnavailable);
        !s.ok()) {
      return s;
    }
    Step("apt-update", v1::INSTALL_STEP_STATE_CHANGED, "package lists updated");
    if (absl::Status s =
            Tool("apt-install", install, absl::Minutes(30), absl::StatusCode::kFailedPrecondition);
        !s.ok()) {
      return s;
    }
    Step("apt-install", v1::INSTALL_STEP_STATE_CHANGED, "libnccl2 and libnccl-dev installed");
    return Verify(Packages()["libnccl2"]);
  }

  absl::Status Keyring(const absl::flat_hash_map<std::string, std::string>& packages,
                       const std::string& distro, const std::string& arch) {
    auto keyring = packages.find("cuda-keyring");
    if (keyring != packages.end()) {
      Step("cuda-keyring", v1::INSTALL_STEP_STATE_UNCHANGED,
           absl::StrCat("cuda-keyring ", keyring->second, " is installed"));
      return absl::OkStatus();
    }
    std::string url = absl::StrCat(kRepoBase, "/", distro, "/", arch, "/", kKeyringDeb);
    std::string deb = absl::StrCat(kCacheDir, "/", kKeyringDeb);
    if (request_.dry_run()) {
      Step("cuda-keyring", v1::INSTALL_STEP_STATE_CHANGED,
           absl::StrCat("would download ", url, " and install it with dpkg -i"));
      return absl::OkStatus();
    }
    if (absl::Status s = node_.env.MakeDirs(kCacheDir, 0755); !s.ok()) {
      return Fail("cuda-keyring", s);
    }
    std::string host_deb = node_.env.HostPath(deb);
    if (absl::Status s = steps_.Fetch("cuda-keyring", url, host_deb, absl::Minutes(5)); !s.ok()) {
      return s;
    }
    if (absl::Status s = Tool("cuda-keyring", {"dpkg", "-i", host_deb}, absl::Minutes(5),
                              absl::StatusCode::kFailedPrecondition);
        !s.ok()) {
      return s;
    }
    Changed("/usr/share/keyrings/cuda-archive-keyring.gpg");
    Changed(absl::StrCat("/etc/apt/sources.list.d/cuda-", distro, "-", arch, ".list"));
    Step("cuda-keyring", v1::INSTALL_STEP_STATE_CHANGED,
         absl::StrCat("NVIDIA's ", distro, "/", arch, " repository added"));
    return absl::OkStatus();
  }

  absl::Status Verify(const std::string& version) {
    node_.locator.Invalidate();
    NcclRuntime runtime = node_.locator.Find();
    if (!runtime.nccl.has_value()) {
      return Fail("verify", absl::InternalError(absl::StrCat(
                                "the install succeeded but libnccl.so.2 is not found on ",
                                node_.node_name, " (searched: ", runtime.searched, ")")));
    }
    Step("verify", v1::INSTALL_STEP_STATE_UNCHANGED,
         absl::StrCat("libnccl.so.2 at ", runtime.nccl->path));
    Result(true, version);
    return absl::OkStatus();
  }

  absl::Status Source() {
    const std::string& tag = request_.source_tag();
    std::string prefix = request_.install_prefix().empty() ? absl::StrCat(kSourcePrefix, tag)
                                                           : request_.install_prefix();
    std::string library = absl::StrCat(prefix, "/lib/libnccl.so.2");
    std::string version = NcclVersionFromName(tag);
    if (node_.env.Exists(library)) {
      Step("check", v1::INSTALL_STEP_STATE_UNCHANGED, absl::StrCat(library, " exists"));
      Result(false, version);
      return absl::OkStatus();
    }
    std::vector<std::string> missing;
    for (const char* tool : {"git", "make"}) {
      if (!node_.runner.Find(tool).ok()) missing.push_back(tool);
    }
    if (!node_.env.Exists(absl::StrCat(kCudaHome, "/bin/nvcc"))) {
      missing.push_back(absl::StrCat("nvcc (", kCudaHome, "/bin/nvcc)"));
    }
    if (!missing.empty()) {
      return Fail("check", absl::FailedPreconditionError(absl::StrCat(
                               "building NCCL ", tag, " on ", node_.node_name, " needs ",
                               absl::StrJoin(missing, ", "),
                               "; install the CUDA toolkit (apt-get install cuda-toolkit git "
                               "make) or use nccl.install: apt")));
    }
    Step("check", v1::INSTALL_STEP_STATE_CHANGED, absl::StrCat(library, " does not exist"));
    std::string src = absl::StrCat(kCacheDir, "/nccl-src/", tag);
    std::string host_src = node_.env.HostPath(src);
    int jobs = request_.build_jobs() > 0 ? static_cast<int>(request_.build_jobs()) : node_.cpus;
    std::string gencode = request_.nvcc_gencode().empty() ? GencodeFor(node_.compute_capability)
                                                          : request_.nvcc_gencode();
    std::vector<std::string> build = {
        "make",      "-C",
        host_src,    absl::StrCat("-j", jobs),
        "src.build", absl::StrCat("CUDA_HOME=", node_.env.HostPath(kCudaHome))};
    if (!gencode.empty()) build.push_back("NVCC_GENCODE=" + gencode);
    std::vector<std::string> install = {"make", "-C", host_src, "src.install",
                                        "PREFIX=" + node_.env.HostPath(prefix)};
    std::vector<std::string> clone = {"git",      "clone", "--depth", "1",
                                      "--branch", tag,     kNcclGit,  host_src};
    if (request_.dry_run()) {
      for (const auto& [step, argv] :
           {std::pair{"git-clone", clone}, std::pair{"make-build", build},
            std::pair{"make-install", install}}) {
        Step(step, v1::INSTALL_STEP_STATE_CHANGED,
             absl::StrCat("would run: ", absl::StrJoin(argv, " ")));
      }
      Result(true, version);
      return absl::OkStatus();
    }
    if (node_.env.Exists(src + "/.git")) {
      Step("git-clone", v1::INSTALL_STEP_STATE_UNCHANGED, absl::StrCat(src, " already cloned"));
    } else {
      if (absl::Status s = node_.env.MakeDirs(absl::StrCat(kCacheDir, "/nccl-src"), 0755);
          !s.ok()) {
        return Fail("git-clone", s);
      }
      if (absl::Status s =
              Tool("git-clone", clone, absl::Minutes(10), absl::StatusCode::kUnavailable);
          !s.ok()) {
        return s;
      }
      Step("git-clone", v1::INSTALL_STEP_STATE_CHANGED, absl::StrCat("cloned ", tag));
    }
    if (absl::Status s =
            Tool("make-build", build, absl::Hours(3), absl::StatusCode::kFailedPrecondition);
        !s.ok()) {
      return s;
    }
    Step("make-build", v1::INSTALL_STEP_STATE_CHANGED, absl::StrCat("built NCCL ", tag));
    if (absl::Status s =
            Tool("make-install", install, absl::Minutes(10), absl::StatusCode::kFailedPrecondition);
        !s.ok()) {
      return s;
    }
    Changed(prefix);
    Step("make-install", v1::INSTALL_STEP_STATE_CHANGED, absl::StrCat("installed in ", prefix));
    if (!node_.env.Exists(library)) {
      return Fail("verify", absl::InternalError(absl::StrCat("`make src.install` succeeded but ",
                                                             library, " is missing")));
    }
    return Verify(version);
  }

  const NcclInstallNode& node_;
  const v1::InstallNcclRequest& request_;
  const InstallNcclEmit& emit_;
  InstallSteps steps_;
  std::vector<v1::ChangeReport> changes_;
};

// Empty, or space-separated "-gencode=arch=compute_XY,code=sm_XY" (code may also be
// compute_XY; XY may end in a letter, 90a): nothing else reaches nvcc's command line.
bool IsGencodeList(absl::string_view gencode) {
  if (gencode.size() > 512) return false;
  auto arch = [](absl::string_view text, absl::string_view prefix) {
    if (!absl::ConsumePrefix(&text, prefix) || text.empty()) return false;
    if (absl::ascii_isalpha(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return absl::ascii_isdigit(static_cast<unsigned char>(c));
    });
  };
  for (absl::string_view flag : absl::StrSplit(gencode, ' ', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&flag, "-gencode=arch=")) return false;
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(flag, absl::MaxSplits(",code=", 1));
    if (!arch(parts.first, "compute_") ||
        !(arch(parts.second, "sm_") || arch(parts.second, "compute_"))) {
      return false;
    }
  }
  return true;
}

// A normalized absolute directory under /opt/ or /usr/local/ of letters, digits and
// "/ . _ -": make install writes there as root.
bool IsInstallPrefix(absl::string_view prefix) {
  if (!absl::StartsWith(prefix, "/opt/") && !absl::StartsWith(prefix, "/usr/local/")) return false;
  if (!OnlyChars(prefix, "/._-")) return false;
  for (absl::string_view part : absl::StrSplit(prefix.substr(1), '/')) {
    if (part.empty() || part == "." || part == ".." || part[0] == '-') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> CudaRepoDistribution(absl::string_view os_release) {
  auto fields = ParseOsRelease(os_release);
  std::string id = fields["ID"];
  std::string version = absl::StrReplaceAll(fields["VERSION_ID"], {{".", ""}});
  static const char* const kServed[] = {"ubuntu2404", "ubuntu2204", "ubuntu2004", "debian12",
                                        "debian11"};
  std::string distro = absl::StrCat(id, version);
  for (const char* served : kServed) {
    if (distro == served) return distro;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "NVIDIA's CUDA apt repository has no \"", distro.empty() ? "unknown" : distro,
      "\" (from /etc/os-release ID and VERSION_ID); it serves Ubuntu 24.04/22.04/20.04 and "
      "Debian 12/11. Use nccl.install: source instead"));
}

absl::StatusOr<std::string> CudaRepoArch(absl::string_view machine) {
  if (machine == "aarch64" || machine == "arm64") return std::string("sbsa");
  if (machine == "x86_64" || machine == "amd64") return std::string("x86_64");
  return absl::FailedPreconditionError(
      absl::StrCat("NVIDIA's CUDA apt repository has no packages for ", machine));
}

std::string GencodeFor(absl::string_view compute_capability) {
  std::vector<absl::string_view> parts = absl::StrSplit(compute_capability, '.');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty() ||
      !OnlyChars(absl::StrCat(parts[0], parts[1]), "")) {
    return "";
  }
  std::string sm = absl::StrCat(parts[0], parts[1]);
  return absl::StrCat("-gencode=arch=compute_", sm, ",code=sm_", sm);
}

absl::Status ValidateInstallNcclRequest(const v1::InstallNcclRequest& request) {
  if (!v1::NcclInstallMethod_IsValid(request.method())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown install method ", request.method()));
  }
  if (!request.version().empty()) {
    if (absl::Status s = ValidateNcclPackageVersion(request.version()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("version ", s.message()));
    }
  }
  if (request.method() != v1::NCCL_INSTALL_METHOD_SOURCE) return absl::OkStatus();
  if (absl::Status s = ValidateNcclSourceTag(request.source_tag()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("source_tag ", s.message()));
  }
  if (!IsGencodeList(request.nvcc_gencode())) {
    return absl::InvalidArgumentError(
        absl::StrCat("nvcc_gencode \"", absl::CHexEscape(request.nvcc_gencode()),
                     "\" is not -gencode=arch=compute_XY,code=sm_XY[ ...]"));
  }
  const std::string& prefix = request.install_prefix();
  if (!prefix.empty() && !IsInstallPrefix(prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("install_prefix \"", absl::CHexEscape(prefix),
                     "\" must be a plain absolute directory under /opt/ or /usr/local/"));
  }
  return absl::OkStatus();
}

absl::Status InstallNccl(const NcclInstallNode& node, const v1::InstallNcclRequest& request,
                         const InstallNcclEmit& emit, const std::function<bool()>& cancelled) {
  if (absl::Status s = ValidateInstallNcclRequest(request); !s.ok()) return s;
  Installer installer(node, request, emit, cancelled);
  return installer.Run();
}

}  // namespace sparkfleet
