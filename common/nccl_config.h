// NcclConfig is the `nccl:` section of cluster.yaml, plus the rules for NCCL settings that
// the coordinator (when it loads the file) and the agent (when a request arrives) both
// enforce, so a bad value is refused at whichever end sees it first.
//
//   nccl:
//     install: apt             # none | apt | source; default apt (no change when present)
//     version: ""              # apt: package version, empty = newest
//     source_tag: v2.27.7-1    # source: the NCCL release tag to build
//     conf_path: /etc/nccl.conf
//     env: {NCCL_DEBUG: WARN}  # passed through to every node's nccl.conf
//     nodes:                   # per-node overrides, by hostname from `nodes`
//       spark-002: {gid_index: 3, env: {NCCL_DEBUG: INFO}}
//
// NCCL_IB_GID_INDEX is refused in the cluster-wide env: the RoCE v2 index differs between
// nodes and drifts, so it is left automatic or pinned per node with `gid_index`.
#ifndef SPARKFLEET_COMMON_NCCL_CONFIG_H_
#define SPARKFLEET_COMMON_NCCL_CONFIG_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

class YamlField;

// Where NCCL reads its system-wide settings, and the default nccl.conf path.
inline constexpr char kDefaultNcclConfPath[] = "/etc/nccl.conf";

enum class NcclInstall { kNone, kApt, kSource };

// One node's entry of nccl.nodes.
struct NcclNodeSettings {
  std::map<std::string, std::string> env;  // wins over the cluster-wide env
  std::optional<int> gid_index;            // NCCL_IB_GID_INDEX for this node only
};

struct NcclConfig {
  NcclInstall install = NcclInstall::kApt;
  std::string version;     // apt package version; empty = newest
  std::string source_tag;  // source build's git tag; empty = the installer's default
  std::string conf_path;   // node path; empty = kDefaultNcclConfPath
  std::map<std::string, std::string> env;
  std::map<std::string, NcclNodeSettings> nodes;  // by hostname as written in `nodes`

  // The NCCL_* settings for `hostname`: env, then the node's env, then its gid_index.
  std::map<std::string, std::string> EnvFor(const std::string& hostname) const;
  // conf_path, or the default.
  std::string ConfPath() const;
};

// "none", "apt", "source".
absl::string_view NcclInstallName(NcclInstall install);

// A variable NCCL reads from nccl.conf: NCCL_ then upper-case letters, digits and '_'.
// NCCL_CONF_FILE is refused: NCCL reads it from the environment only.
absl::Status ValidateNcclKey(absl::string_view key);

// A value NCCL reads as written: not empty, at most 1023 bytes (NCCL truncates longer
// ones), printable ASCII without whitespace (NCCL does not trim), without '#' and without
// the shell's special characters $ ` ; | & < > ( ) { } \ ' " * ? ! (no NCCL variable takes
// them; a shell sourcing nccl.conf would act on them).
absl::Status ValidateNcclValue(absl::string_view value);

// Where nccl.conf may be written: an absolute, normalized path (no "." or ".." parts, no
// "//") under /etc/, /root/ or /home/<user>/, to a file whose name holds "nccl" and ends
// in ".conf", not inside a "*.d" drop-in directory (/etc/passwd, ~/.bashrc and
// /etc/apt/apt.conf.d/nccl.conf are refused).
absl::Status ValidateNcclConfPath(absl::string_view path);

// An apt package version of NCCL ("2.27.7-1+cuda13.0"): a digit first (so it never reads
// as an apt-get option), then letters, digits and . + : ~ -, at most 64 bytes.
absl::Status ValidateNcclPackageVersion(absl::string_view version);

// An NCCL release tag to build from source ("v2.27.7-1"): 'v', a digit, then letters,
// digits and . _ -, at most 64 bytes.
absl::Status ValidateNcclSourceTag(absl::string_view tag);

// Parses the `nccl` section at `value` into `out`. `hostnames` are the nodes already
// parsed; an nccl.nodes key naming none of them is an error. Errors carry FILE:LINE:COL.
absl::Status ParseNcclSection(const YamlField& value, const std::vector<std::string>& hostnames,
                              NcclConfig* out);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_NCCL_CONFIG_H_
