// What a validation run starts from, checked before any node is called: the request's
// fields, whether SSH trust is expected, and each node's address on an interface.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_INPUT_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_INPUT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/cluster_config.h"
#include "sparkfleet/v1/agent.pb.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// INVALID_ARGUMENT naming the field for an unknown test, a bad interface name,
// PAIR_SELECTION_SAMPLE without sample_k, a bandwidth duration over 300 s or more than
// 128 parallel streams.
[[nodiscard]] absl::Status CheckValidateRequest(const v1::ValidateRequest& request);

// The cluster SSH key (cluster.yaml ssh_key_path) exists on this machine: `sparkctl ssh`
// has run, so the nodes are expected to trust each other.
bool ClusterSshKeyExists(const ClusterConfig& config);

// The address of `interface` on a probed node: its first IPv4 address, else its first
// IPv6 address that is not link-local. NOT_FOUND saying what the node has instead.
absl::StatusOr<std::string> InterfaceAddress(const v1::ProbeReply& probe,
                                             const std::string& interface);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_INPUT_H_
