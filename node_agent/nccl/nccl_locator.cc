#include "node_agent/nccl/nccl_locator.h"

#include <dlfcn.h>
#include <fnmatch.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "node_agent/nccl/ld_so_cache.h"
#include "node_agent/nccl_worker/line_protocol.h"

namespace sparkfleet {
namespace {

constexpr char kLoaderEntry[] = "ld.so";
constexpr char kNcclSoname[] = "libnccl.so.2";
constexpr char kCudaSoname[] = "libcuda.so.1";
constexpr char kInstallPrefix[] = "/opt/sparkfleet/nccl/";
constexpr absl::Duration kCacheFor = absl::Seconds(5);

#if defined(__aarch64__)
constexpr char kMultiarch[] = "aarch64-linux-gnu";
#else
constexpr char kMultiarch[] = "x86_64-linux-gnu";
#endif

std::vector<std::string> SplitPath(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(list, ':', absl::SkipEmpty())) {
    out.emplace_back(dir);
  }
  return out;
}

std::vector<std::string> DefaultEntries(Env& env, const NcclSearchOptions& options) {
  std::vector<std::string> entries = {kLoaderEntry};
  for (std::string& dir : SplitPath(options.sparkfleet_nccl_path)) entries.push_back(dir);
  entries.push_back(absl::StrCat(kInstallPrefix, "*/lib"));
  std::vector<std::string> prefixes = {"/usr/lib", "/usr/local/lib"};
  for (const std::string& dir : SplitPath(options.path)) {
    if (!env.Exists(dir + "/python3")) continue;
    absl::string_view parent = dir;
    parent = parent.substr(0, parent.find_last_of('/'));
    if (!parent.empty() && parent != "/usr" && parent != "/usr/local") {
      prefixes.push_back(absl::StrCat(parent, "/lib"));
    }
    break;
  }
  for (const std::string& prefix : prefixes) {
    for (const char* packages : {"site-packages", "dist-packages"}) {
      entries.push_back(absl::StrCat(prefix, "/python3*/", packages, "/nvidia/nccl/lib"));
    }
  }
  return entries;
}

std::string Basename(absl::string_view path) {
  size_t slash = path.find_last_of('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

std::string Dirname(absl::string_view path) {
  size_t slash = path.find_last_of('/');
  if (slash == absl::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

// "2.27.7" when `text` is three dot-separated numbers.
bool IsDottedVersion(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 3) return false;
  for (absl::string_view part : parts) {
    if (part.empty()) return false;
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  return true;
}

}  // namespace

NcclSearchOptions NcclSearchOptions::FromEnvironment(std::vector<std::string> configured) {
  NcclSearchOptions options;
  options.configured = std::move(configured);
  auto get = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value ? value : "");
  };
  options.ld_library_path = get("LD_LIBRARY_PATH");
  options.sparkfleet_nccl_path = get("SPARKFLEET_NCCL_PATH");
  options.path = get("PATH");
  return options;
}

std::string NcclVersionFromName(absl::string_view name) {
  absl::string_view rest = name;
  if (absl::ConsumePrefix(&rest, "libnccl.so.2.")) {
    std::string version = absl::StrCat("2.", rest);
    return IsDottedVersion(version) ? version : "";
  }
  if (absl::StartsWith(rest, "nvidia_nccl_cu") && absl::ConsumeSuffix(&rest, ".dist-info")) {
    rest =
        rest.substr(rest.find('-') == absl::string_view::npos ? rest.size() : rest.find('-') + 1);
    return IsDottedVersion(rest) ? std::string(rest) : "";
  }
  if (absl::ConsumePrefix(&rest, "v")) {
    rest = rest.substr(0, rest.find('-'));
    return IsDottedVersion(rest) ? std::string(rest) : "";
  }
  return "";
}

NcclLocator::NcclLocator(Env& env, NcclSearchOptions options)
    : env_(env),
      options_(std::move(options)),
      entries_(options_.configured.empty() ? DefaultEntries(env, options_) : options_.configured) {}

void NcclLocator::Invalidate() {
  absl::MutexLock lock(&mu_);
  cached_.reset();
}

NcclRuntime NcclLocator::Find() {
  absl::MutexLock lock(&mu_);
  if (cached_.has_value() && absl::Now() - cached_at_ < kCacheFor) return *cached_;
  NcclRuntime runtime;
  runtime.nccl = Search(kNcclSoname);
  runtime.cuda_driver = Search(kCudaSoname);
  if (runtime.nccl.has_value()) runtime.nccl_version = VersionOf(*runtime.nccl);
  std::vector<std::string> words;
  for (const std::string& entry : entries_) {
    words.push_back(entry == kLoaderEntry
                        ? "the dynamic loader (LD_LIBRARY_PATH, /etc/ld.so.cache, /lib, /usr/lib)"
                        : entry);
  }
  runtime.searched = absl::StrJoin(words, ", ");
  cached_ = runtime;
  cached_at_ = absl::Now();
  return runtime;
}

std::optional<LibraryLocation> NcclLocator::Search(absl::string_view soname) {
  for (const std::string& entry : entries_) {
    if (entry == kLoaderEntry) {
      if (auto found = SearchLoader(soname)) return found;
      continue;
    }
    for (const std::string& dir : ExpandEntry(entry)) {
      std::string candidate = absl::StrCat(dir, "/", soname);
      if (env_.Exists(candidate)) return LibraryLocation{candidate, dir};
    }
  }
  return std::nullopt;
}

std::optional<LibraryLocation> NcclLocator::SearchLoader(absl::string_view soname) {
  for (const std::string& dir : SplitPath(options_.ld_library_path)) {
    std::string candidate = absl::StrCat(dir, "/", soname);
    if (env_.Exists(candidate)) return LibraryLocation{candidate, "LD_LIBRARY_PATH"};
  }
  absl::StatusOr<std::string> cache = env_.ReadFile("/etc/ld.so.cache");
  if (cache.ok()) {
    absl::StatusOr<std::vector<LdCacheEntry>> entries = ParseLdSoCache(*cache);
    for (const LdCacheEntry& e : entries.ok() ? *entries : std::vector<LdCacheEntry>{}) {
      if (e.soname == soname && IsNativeLdCacheEntry(e) && env_.Exists(e.path)) {
        return LibraryLocation{e.path, "ld.so.cache"};
      }
    }
  }
  for (std::string dir :
       {std::string("/lib64"), std::string("/usr/lib64"), absl::StrCat("/lib/", kMultiarch),
        absl::StrCat("/usr/lib/", kMultiarch), std::string("/lib"), std::string("/usr/lib")}) {
    std::string candidate = absl::StrCat(dir, "/", soname);
    if (env_.Exists(candidate)) return LibraryLocation{candidate, dir};
  }
  return std::nullopt;
}

std::vector<std::string> NcclLocator::ExpandEntry(const std::string& entry) {
  std::vector<std::string> dirs = {""};
  for (absl::string_view part : absl::StrSplit(entry, '/', absl::SkipEmpty())) {
    std::vector<std::string> next;
    for (const std::string& dir : dirs) {
      if (part.find_first_of("*?[") == absl::string_view::npos) {
        next.push_back(absl::StrCat(dir, "/", part));
        continue;
      }
      absl::StatusOr<std::vector<std::string>> names = env_.ListDir(dir.empty() ? "/" : dir);
      if (!names.ok()) continue;
      std::string pattern(part);
      for (const std::string& name : *names) {
        if (fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0) {
          next.push_back(absl::StrCat(dir, "/", name));
        }
      }
    }
    dirs = std::move(next);
  }
  std::vector<std::string> out;
  for (const std::string& dir : dirs) {
    absl::StatusOr<FileInfo> info = env_.Stat(dir);
    if (info.ok() && info->is_dir) out.push_back(dir);
  }
  return out;
}

std::string NcclLocator::VersionOf(const LibraryLocation& nccl) {
  absl::StatusOr<std::string> real = env_.RealPath(nccl.path);
  std::string version = NcclVersionFromName(Basename(real.ok() ? *real : nccl.path));
  if (!version.empty()) return version;
  std::string dir = Dirname(nccl.path);
  if (absl::StartsWith(dir, kInstallPrefix)) {  // /opt/sparkfleet/nccl/<tag>/lib
    version = NcclVersionFromName(Basename(Dirname(dir)));
    if (!version.empty()) return version;
  }
  absl::string_view site = dir;
  if (absl::ConsumeSuffix(&site, "/nvidia/nccl/lib")) {  // the wheel's .dist-info
    absl::StatusOr<std::vector<std::string>> names = env_.ListDir(site);
    for (const std::string& name : names.ok() ? *names : std::vector<std::string>{}) {
      version = NcclVersionFromName(name);
      if (!version.empty()) return version;
    }
  }
  // Last resort: ask the library, once per file.
  absl::StatusOr<FileInfo> info = env_.Stat(nccl.path);
  std::string key = absl::StrCat(nccl.path, "@", info.ok() ? info->inode : 0, "@",
                                 info.ok() ? info->mtime_ns : 0);
  if (key == dlopen_key_) return dlopen_version_;
  dlopen_key_ = key;
  dlopen_version_.clear();
  if (void* handle = dlopen(env_.HostPath(nccl.path).c_str(), RTLD_LAZY | RTLD_LOCAL)) {
    using GetVersion = int (*)(int*);
    auto get_version = reinterpret_cast<GetVersion>(dlsym(handle, "ncclGetVersion"));
    int code = 0;
    if (get_version != nullptr && get_version(&code) == 0 && code > 0) {
      dlopen_version_ = nccl_worker::NcclVersionText(code);
    }
    dlclose(handle);
  }
  return dlopen_version_;
}

absl::Status CheckNcclRuntime(const NcclRuntime& runtime, absl::string_view node) {
  std::vector<std::string> missing;
  if (!runtime.cuda_driver.has_value()) {
    missing.push_back(absl::StrCat("no CUDA driver (libcuda.so.1 not found on ", runtime.searched,
                                   "); install the NVIDIA driver"));
  }
  if (!runtime.nccl.has_value()) {
    missing.push_back(
        absl::StrCat("NCCL not found (searched: ", runtime.searched,
                     "); install it with `sparkctl nccl` (cluster.yaml nccl.install: apt) or "
                     "`apt-get install libnccl2`"));
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("cannot run NCCL on ", node, ": ", absl::StrJoin(missing, "; ")));
}

}  // namespace sparkfleet
