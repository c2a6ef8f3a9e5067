// cluster.yaml, as sparkctl reads it before it contacts any node: the YAML reader, every
// section parser, and what the coordinator derives from an accepted config (each node's
// NCCL settings and link addresses).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "common/cluster_config.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

std::optional<std::string> FixedGetenv(const std::string& name) {
  if (name == "HOME") return std::string("/home/admin");
  return std::nullopt;  // TAILSCALE_AUTH_KEY unset: the file's key is used
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  absl::StatusOr<ClusterConfig> config =
      ParseClusterConfig(fuzz::AsText(data, size), "cluster.yaml", "/srv/cluster", FixedGetenv);
  if (!config.ok()) {
    fuzz::CheckError(config.status(), absl::StatusCode::kInvalidArgument, "ParseClusterConfig");
    fuzz::Check(absl::StartsWith(config.status().message(), "cluster.yaml"),
                "ParseClusterConfig error does not start with the file name",
                config.status().message());
    return 0;
  }
  fuzz::Check(!config->nodes.empty(), "ParseClusterConfig accepted a config without nodes");
  fuzz::Check(config->primary_node() == config->nodes.front().hostname,
              "primary_node is not the first node");
  (void)config->nccl.ConfPath();
  for (size_t i = 0; i < config->nodes.size(); ++i) {
    const ClusterNode& node = config->nodes[i];
    (void)config->nccl.EnvFor(node.hostname);
    if (!config->link.enabled) continue;
    for (const LinkInterfaceSettings& interface : config->link.interfaces) {
      std::string cidr = config->link.AddressFor(i, node.hostname, interface);
      fuzz::Check(!cidr.empty(), "link address of an accepted config is empty", interface.name);
    }
  }
  return 0;
}
