// Reads glibc's /etc/ld.so.cache, so the agent can say where the dynamic loader would find
// a library (libnccl.so.2, libcuda.so.1) without loading it, and under --root too.
#ifndef SPARKFLEET_NODE_AGENT_NCCL_LD_SO_CACHE_H_
#define SPARKFLEET_NODE_AGENT_NCCL_LD_SO_CACHE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

struct LdCacheEntry {
  std::string soname;  // "libnccl.so.2"
  std::string path;    // "/usr/lib/aarch64-linux-gnu/libnccl.so.2"
  uint32_t flags = 0;  // glibc's FLAG_*: ELF class and architecture
};

// Parses the cache's bytes (the "glibc-ld.so.cache1.1" format, alone or after the old
// "ld.so-1.7.0" one). Pure. INVALID_ARGUMENT for a file that is not a cache or is cut
// short.
[[nodiscard]] absl::StatusOr<std::vector<LdCacheEntry>> ParseLdSoCache(absl::string_view bytes);

// True when `entry` is for this process's architecture (x86_64 or aarch64 libraries of
// 64-bit libc6), so a 32-bit copy of a library is never chosen.
bool IsNativeLdCacheEntry(const LdCacheEntry& entry);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NCCL_LD_SO_CACHE_H_
