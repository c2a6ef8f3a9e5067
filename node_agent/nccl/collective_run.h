// RunCollective on one node: one spark-nccl-worker child per local GPU, its protocol lines
// relayed as CollectiveEvents.
//
// Before any worker starts, everything the run needs is checked and a missing piece is
// FAILED_PRECONDITION naming it: a GPU (from the probe), the CUDA driver and NCCL (from
// the NcclLocator), the worker binary. Then the node's first rank starts; when it holds
// global rank 0 and the request carried no unique id, its UNIQUE_ID line becomes the
// first event (CollectiveStarted.unique_id) and the other local ranks start with it;
// otherwise every local rank starts at once with the request's id. Workers share one hard
// deadline; when one fails, the others are killed (they would wait for it forever), and
// so are all of them when the caller cancels.
#ifndef SPARKFLEET_NODE_AGENT_NCCL_COLLECTIVE_RUN_H_
#define SPARKFLEET_NODE_AGENT_NCCL_COLLECTIVE_RUN_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "node_agent/nccl/nccl_locator.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// What the node brings to a run. References must outlive the run.
struct CollectiveNode {
  Env& env;
  ProcessRunner& runner;
  NcclLocator& locator;
  std::string node_name;
  std::string worker_path;  // absolute path of spark-nccl-worker; empty: not found
};

using CollectiveEmit = std::function<void(v1::CollectiveEvent)>;

// Runs (or, with dry_run, only checks) `request` with the GPUs `probe` found, calling
// `emit` for each event, from several threads but one at a time. Polls `cancelled`.
// Returns OK when every local rank ended with a SUMMARY; INVALID_ARGUMENT for a bad
// request; FAILED_PRECONDITION for a missing GPU, driver, NCCL or worker;
// DEADLINE_EXCEEDED when a worker outlived the timeout; ABORTED when a worker reported an
// error (its message included); INTERNAL when one crashed; CANCELLED.
absl::Status RunCollectiveOnNode(const CollectiveNode& node,
                                 const v1::RunCollectiveRequest& request,
                                 const v1::ProbeReply& probe, const CollectiveEmit& emit,
                                 const std::function<bool()>& cancelled);

// spark-nccl-worker's path: `configured` when set (must be executable), else the file
// next to this process's executable, else the one `runner` finds on its PATH. Empty when
// none is found.
std::string FindNcclWorker(const std::string& configured, const ProcessRunner& runner);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NCCL_COLLECTIVE_RUN_H_
