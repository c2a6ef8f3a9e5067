// Parsers for the text files GetInfo reads: /etc/os-release and dpkg's status file.
// Pure functions: text in, struct out; never fail, unknown lines are skipped.
#ifndef SPARKFLEET_NODE_AGENT_INFO_OS_RELEASE_H_
#define SPARKFLEET_NODE_AGENT_INFO_OS_RELEASE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// os-release(5): KEY=value lines, values optionally in single or double quotes with
// backslash escapes inside double quotes. Returns every key.
absl::flat_hash_map<std::string, std::string> ParseOsRelease(absl::string_view text);

// dpkg's /var/lib/dpkg/status: package name -> version, for packages whose Status is
// "install ok installed" (half-installed or removed-with-config packages are left out).
absl::flat_hash_map<std::string, std::string> ParseDpkgStatus(absl::string_view text);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_INFO_OS_RELEASE_H_
