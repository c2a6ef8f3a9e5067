// agent.yaml, spark-agent's settings file: the YAML reader and the agent's keys.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "common/agent_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  absl::string_view text = fuzz::AsText(data, size);
  for (absl::string_view base_dir : {"/etc/sparkfleet", ""}) {
    absl::StatusOr<AgentConfig> config = ParseAgentConfig(text, "agent.yaml", base_dir);
    if (!config.ok()) {
      fuzz::CheckError(config.status(), absl::StatusCode::kInvalidArgument, "ParseAgentConfig");
      fuzz::Check(absl::StartsWith(config.status().message(), "agent.yaml"),
                  "ParseAgentConfig error does not start with the file name",
                  config.status().message());
      return 0;
    }
    fuzz::Check(absl::StartsWith(config->root, "/"), "agent.yaml root is not absolute",
                config->root);
  }
  return 0;
}
