// NcclTestRun: an NCCL collective across the cluster's GPUs through the agents, the engine
// behind `sparkctl nccl-test` and Coordinator.RunNcclTest.
//
//   1. RunCollective with dry_run on every node, at once: each node checks its GPUs, CUDA
//      driver and NCCL and answers how many ranks it holds. A node that cannot run is
//      reported (its FAILED_PRECONDITION names what is missing) and nothing runs.
//   2. Ranks are placed in cluster.yaml order, one per GPU.
//   3. The node holding rank 0 starts first; its first event carries ncclGetUniqueId's 128
//      bytes, which the other nodes then start with.
//   4. Every rank's rows are merged as they arrive (NcclRowMerger) and streamed. When a
//      node fails, the others are cancelled (their ranks would wait for it until the
//      deadline) and so are all when the caller cancels.
#ifndef SPARKFLEET_COORDINATOR_NCCL_NCCL_TEST_RUN_H_
#define SPARKFLEET_COORDINATOR_NCCL_NCCL_TEST_RUN_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "coordinator/fanout.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

using NcclTestEmit = std::function<void(v1::NcclTestEvent)>;

// Default hard limit of the run on each node (RunNcclTestRequest.run_timeout_ms = 0).
inline constexpr absl::Duration kDefaultNcclRunTimeout = absl::Minutes(5);

// INVALID_ARGUMENT for request values no node could run (sizes, -f 1, iterations, an
// unknown enum), before any node is contacted.
[[nodiscard]] absl::Status ValidateRunNcclTestRequest(const v1::RunNcclTestRequest& request);

// Runs `request` on `nodes`: `call_timeout` bounds the check and the wait for rank 0's
// unique id, `call_timeout` + the run timeout each node's run. Emits started, node, row
// and (last) result events from the calling thread. Returns the result, or an error for
// an invalid request (nothing emitted then) or a cancellation.
absl::StatusOr<v1::NcclTestResult> RunNcclTest(AgentChannels& channels,
                                               const std::vector<ClusterNode>& nodes,
                                               absl::Duration call_timeout,
                                               const v1::RunNcclTestRequest& request,
                                               const NcclTestEmit& emit,
                                               const std::function<bool()>& cancelled);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_NCCL_NCCL_TEST_RUN_H_
