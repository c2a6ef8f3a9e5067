// Waiting for a freshly installed spark-agent: its gRPC health service
// (grpc.health.v1.Health/Check, overall server status) polled until it says SERVING.
//
//   AgentHealthCheck check = NewGrpcHealthCheck(credentials);
//   absl::Status s = WaitUntilServing(check, node, absl::Seconds(60));
//
// The check is a function so that the bootstrap's tests can stand one in; the gRPC one
// is tested against a real agent (tests/integration/bootstrap_health_test.cc).
#ifndef SPARKFLEET_COORDINATOR_BOOTSTRAP_HEALTH_H_
#define SPARKFLEET_COORDINATOR_BOOTSTRAP_HEALTH_H_

#include <grpcpp/security/credentials.h>

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"

namespace sparkfleet {

// One health check of `node`'s agent with a deadline of `timeout`: OK when it answers
// SERVING; FAILED_PRECONDITION when it answers another status; the call's error
// (UNAVAILABLE, DEADLINE_EXCEEDED, ...) otherwise. Must be thread-safe.
using AgentHealthCheck =
    std::function<absl::Status(const ClusterNode& node, absl::Duration timeout)>;

// Checks over gRPC at node.ip:node.port. `credentials` null means plaintext; with TLS the
// agent's certificate must name node.hostname and be signed by the cluster CA.
AgentHealthCheck NewGrpcHealthCheck(std::shared_ptr<grpc::ChannelCredentials> credentials);

// Calls `check` every `interval` until it returns OK or `deadline` has passed. The error
// says how long it waited and what the last check said.
absl::Status WaitUntilServing(const AgentHealthCheck& check, const ClusterNode& node,
                              absl::Duration deadline,
                              absl::Duration interval = absl::Milliseconds(500));

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_BOOTSTRAP_HEALTH_H_
