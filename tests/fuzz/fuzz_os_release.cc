// The text files GetInfo reads: /etc/os-release and dpkg's status file (which also says
// whether tailscale is installed, and which version).
//
// Input: os-release, a "%%%%" line, dpkg's status file.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "node_agent/info/os_release.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  absl::string_view whole = fuzz::AsText(data, size);
  std::vector<absl::string_view> parts = fuzz::SplitParts(whole, 2);
  for (absl::string_view text : {whole, parts[0]}) {
    for (const auto& [key, value] : ParseOsRelease(text)) {
      fuzz::Check(!key.empty(), "os-release key is empty");
      fuzz::Check(value.size() <= text.size(), "os-release value longer than the file");
    }
  }
  for (absl::string_view text : {whole, parts[1]}) {
    for (const auto& [package, version] : ParseDpkgStatus(text)) {
      fuzz::Check(!package.empty(), "dpkg package name is empty");
    }
  }
  return 0;
}
