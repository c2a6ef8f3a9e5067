// `sparkctl validate`: latency, bandwidth, SSH, GPU and RDMA checks between the nodes,
// measured by the agents (see coordinator/validate/), printed as one matrix per metric
// and a PASS/FAIL summary, or as one JSON document (--json, --output FILE).
// Exit 0 when nothing failed, 2 on any FAIL, 1 for usage or config errors.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_VALIDATE_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_VALIDATE_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "coordinator/commands/command.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// The flags of `sparkctl validate` as given.
struct ValidateFlags {
  std::vector<std::string> tests;  // ssh ping bandwidth gpu rdma
  std::string interface;
  std::string output;
  std::string pairs = "all";  // all | ring | sample:K
  uint32_t duration_s = 0;
  uint32_t parallel_streams = 0;
  std::optional<double> min_bandwidth_gbps;
  std::optional<double> max_latency_ms;
  bool require_ssh = false;
};

// The request the flags describe; INVALID_ARGUMENT naming the flag otherwise
// ("--tests: unknown test \"pnig\"; choose from ssh, ping, bandwidth, gpu, rdma").
absl::StatusOr<v1::ValidateRequest> ValidateRequestFromFlags(const ValidateFlags& flags);

void RegisterValidateCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_VALIDATE_COMMAND_H_
