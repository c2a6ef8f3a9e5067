#include "node_agent/nccl/ld_so_cache.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace sparkfleet {
namespace {

constexpr absl::string_view kMagic = "glibc-ld.so.cache1.1";
constexpr size_t kHeaderBytes = 48;  // magic, nlibs, len_strings, flags, extension, unused
constexpr size_t kEntryBytes = 24;   // flags, key, value, osversion, hwcap

constexpr uint32_t kFlagTypeMask = 0x00ff;
constexpr uint32_t kFlagElfLibc6 = 0x0003;
constexpr uint32_t kFlagArchMask = 0xff00;
constexpr uint32_t kFlagX8664Lib64 = 0x0300;
constexpr uint32_t kFlagAarch64Lib64 = 0x0a00;

uint32_t ReadU32(absl::string_view bytes, size_t at) {
  uint32_t v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// The NUL-terminated string at `offset`; false past the end.
bool StringAt(absl::string_view base, uint32_t offset, std::string* out) {
  if (offset >= base.size()) return false;
  size_t end = base.find('\0', offset);
  if (end == absl::string_view::npos) return false;
  *out = std::string(base.substr(offset, end - offset));
  return true;
}

}  // namespace

absl::StatusOr<std::vector<LdCacheEntry>> ParseLdSoCache(absl::string_view bytes) {
  size_t start = bytes.find(kMagic);
  if (start == absl::string_view::npos) {
    return absl::InvalidArgumentError("not a glibc ld.so.cache (no \"glibc-ld.so.cache1.1\")");
  }
  absl::string_view cache = bytes.substr(start);  // string offsets count from here
  if (cache.size() < kHeaderBytes) return absl::InvalidArgumentError("ld.so.cache cut short");
  uint32_t nlibs = ReadU32(cache, kMagic.size());
  if (nlibs > (cache.size() - kHeaderBytes) / kEntryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ld.so.cache says ", nlibs, " libraries but holds fewer"));
  }
  std::vector<LdCacheEntry> entries;
  entries.reserve(nlibs);
  for (uint32_t i = 0; i < nlibs; ++i) {
    size_t at = kHeaderBytes + i * kEntryBytes;
    LdCacheEntry entry;
    entry.flags = ReadU32(cache, at);
    if (!StringAt(cache, ReadU32(cache, at + 4), &entry.soname) ||
        !StringAt(cache, ReadU32(cache, at + 8), &entry.path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ld.so.cache entry ", i, " points past the end of the file"));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

bool IsNativeLdCacheEntry(const LdCacheEntry& entry) {
  if ((entry.flags & kFlagTypeMask) != kFlagElfLibc6) return false;
#if defined(__x86_64__)
  return (entry.flags & kFlagArchMask) == kFlagX8664Lib64;
#elif defined(__aarch64__)
  return (entry.flags & kFlagArchMask) == kFlagAarch64Lib64;
#else
  return true;
#endif
}

}  // namespace sparkfleet
