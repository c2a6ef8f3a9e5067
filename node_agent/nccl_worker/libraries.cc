#include "node_agent/nccl_worker/libraries.h"

#include <dlfcn.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace sparkfleet::nccl_worker {
namespace {

constexpr char kLoader[] = "the dynamic loader";

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void AddGlob(const std::string& pattern, std::vector<std::string>* out) {
  glob_t matches;
  if (glob(pattern.c_str(), GLOB_ONLYDIR, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) out->push_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
}

// The prefix of the python3 found on PATH ("/opt/venv" for /opt/venv/bin/python3).
std::string PythonPrefix() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (!dir.empty() && access((dir + "/python3").c_str(), X_OK) == 0) {
      size_t slash = dir.find_last_of('/');
      return slash == std::string::npos || slash == 0 ? "" : dir.substr(0, slash);
    }
    start = end + 1;
  }
  return "";
}

std::string Describe(const std::vector<std::string>& dirs) {
  std::string out = kLoader;
  for (const std::string& dir : dirs) out += ", " + dir;
  return out;
}

// dlopen of `explicit_path`, else of `soname` through the loader, else in each directory.
void* Open(const std::string& explicit_path, const char* soname, std::string* opened,
           std::string* searched) {
  const int flags = RTLD_NOW | RTLD_LOCAL;
  if (!explicit_path.empty()) {
    *searched = explicit_path;
    void* handle = dlopen(explicit_path.c_str(), flags);
    if (handle != nullptr) *opened = explicit_path;
    if (handle == nullptr) {
      const char* why = dlerror();
      *searched += std::string(" (") + (why ? why : "cannot open") + ")";
    }
    return handle;
  }
  std::vector<std::string> dirs = WorkerLibrarySearchPath();
  *searched = Describe(dirs);
  if (void* handle = dlopen(soname, flags)) {
    *opened = soname;
    return handle;
  }
  for (const std::string& dir : dirs) {
    std::string candidate = dir + "/" + soname;
    if (access(candidate.c_str(), R_OK) != 0) continue;
    if (void* handle = dlopen(candidate.c_str(), flags)) {
      *opened = candidate;
      return handle;
    }
  }
  return nullptr;
}

template <typename Fn>
bool Resolve(void* handle, const char* name, Fn* out, std::string* missing) {
  *out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (*out == nullptr) {
    if (!missing->empty()) *missing += ", ";
    *missing += name;
  }
  return *out != nullptr;
}

}  // namespace

std::vector<std::string> WorkerLibrarySearchPath() {
  std::vector<std::string> dirs;
  if (const char* extra = std::getenv("SPARKFLEET_NCCL_PATH")) {
    std::string list = extra;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      std::string dir = list.substr(start, end - start);
      if (!dir.empty() && IsDirectory(dir)) dirs.push_back(dir);
      start = end + 1;
    }
  }
  AddGlob("/opt/sparkfleet/nccl/*/lib", &dirs);
  std::vector<std::string> prefixes = {"/usr/lib", "/usr/local/lib"};
  if (const char* home = std::getenv("HOME")) prefixes.push_back(std::string(home) + "/.local/lib");
  std::string python = PythonPrefix();
  if (!python.empty()) prefixes.push_back(python + "/lib");
  for (const std::string& prefix : prefixes) {
    AddGlob(prefix + "/python3*/site-packages/nvidia/nccl/lib", &dirs);
    AddGlob(prefix + "/python3*/dist-packages/nvidia/nccl/lib", &dirs);
  }
  return dirs;
}

bool LoadNccl(const std::string& explicit_path, NcclLibrary* out, std::string* error) {
  NcclLibrary lib;
  std::string searched;
  lib.handle = Open(explicit_path, "libnccl.so.2", &lib.path, &searched);
  if (lib.handle == nullptr) {
    *error = "NCCL not found (searched: " + searched +
             "); install it with `sparkctl nccl` or apt-get install libnccl2";
    return false;
  }
  std::string missing;
  Resolve(lib.handle, "ncclGetVersion", &lib.get_version, &missing);
  Resolve(lib.handle, "ncclGetUniqueId", &lib.get_unique_id, &missing);
  Resolve(lib.handle, "ncclCommInitRank", &lib.comm_init_rank, &missing);
  Resolve(lib.handle, "ncclCommDestroy", &lib.comm_destroy, &missing);
  Resolve(lib.handle, "ncclCommAbort", &lib.comm_abort, &missing);
  Resolve(lib.handle, "ncclGetErrorString", &lib.get_error_string, &missing);
  Resolve(lib.handle, "ncclCommGetAsyncError", &lib.comm_get_async_error, &missing);
  Resolve(lib.handle, "ncclAllReduce", &lib.all_reduce, &missing);
  Resolve(lib.handle, "ncclAllGather", &lib.all_gather, &missing);
  Resolve(lib.handle, "ncclReduceScatter", &lib.reduce_scatter, &missing);
  Resolve(lib.handle, "ncclBroadcast", &lib.broadcast, &missing);
  Resolve(lib.handle, "ncclGroupStart", &lib.group_start, &missing);
  Resolve(lib.handle, "ncclGroupEnd", &lib.group_end, &missing);
  if (!missing.empty()) {
    *error = "libnccl.so.2 at " + lib.path + " lacks " + missing + " (NCCL too old?)";
    return false;
  }
  *out = lib;
  return true;
}

bool LoadCudaDriver(const std::string& explicit_path, CudaDriver* out, std::string* error) {
  namespace sym = nccl_api::symbol;
  CudaDriver lib;
  std::string searched;
  lib.handle = Open(explicit_path, "libcuda.so.1", &lib.path, &searched);
  if (lib.handle == nullptr) {
    *error =
        "no CUDA driver (libcuda.so.1 not found on " + searched + "); install the NVIDIA driver";
    return false;
  }
  std::string missing;
  Resolve(lib.handle, sym::kCuInit, &lib.init, &missing);
  Resolve(lib.handle, sym::kCuDriverGetVersion, &lib.driver_get_version, &missing);
  Resolve(lib.handle, sym::kCuDeviceGetCount, &lib.device_get_count, &missing);
  Resolve(lib.handle, sym::kCuDeviceGet, &lib.device_get, &missing);
  Resolve(lib.handle, sym::kCuDeviceGetName, &lib.device_get_name, &missing);
  Resolve(lib.handle, sym::kCuDeviceGetAttribute, &lib.device_get_attribute, &missing);
  Resolve(lib.handle, sym::kCuDevicePrimaryCtxRetain, &lib.primary_ctx_retain, &missing);
  Resolve(lib.handle, sym::kCuDevicePrimaryCtxRelease, &lib.primary_ctx_release, &missing);
  Resolve(lib.handle, sym::kCuCtxSetCurrent, &lib.ctx_set_current, &missing);
  Resolve(lib.handle, sym::kCuMemGetInfo, &lib.mem_get_info, &missing);
  Resolve(lib.handle, sym::kCuMemAlloc, &lib.mem_alloc, &missing);
  Resolve(lib.handle, sym::kCuMemFree, &lib.mem_free, &missing);
  Resolve(lib.handle, sym::kCuMemcpyHtoD, &lib.memcpy_htod, &missing);
  Resolve(lib.handle, sym::kCuMemcpyDtoH, &lib.memcpy_dtoh, &missing);
  Resolve(lib.handle, sym::kCuStreamCreate, &lib.stream_create, &missing);
  Resolve(lib.handle, sym::kCuStreamDestroy, &lib.stream_destroy, &missing);
  Resolve(lib.handle, sym::kCuStreamSynchronize, &lib.stream_synchronize, &missing);
  Resolve(lib.handle, sym::kCuEventCreate, &lib.event_create, &missing);
  Resolve(lib.handle, sym::kCuEventDestroy, &lib.event_destroy, &missing);
  Resolve(lib.handle, sym::kCuEventRecord, &lib.event_record, &missing);
  Resolve(lib.handle, sym::kCuEventQuery, &lib.event_query, &missing);
  Resolve(lib.handle, sym::kCuEventElapsedTime, &lib.event_elapsed_time, &missing);
  Resolve(lib.handle, sym::kCuGetErrorString, &lib.get_error_string, &missing);
  if (!missing.empty()) {
    *error = "libcuda.so.1 at " + lib.path + " lacks " + missing + " (driver too old?)";
    return false;
  }
  std::string optional;
  Resolve(lib.handle, sym::kCuDeviceGetUuid, &lib.device_get_uuid, &optional);
  *out = lib;
  return true;
}

}  // namespace sparkfleet::nccl_worker
