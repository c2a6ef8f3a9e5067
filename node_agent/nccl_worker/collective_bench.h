// The worker's run on one GPU: device and communicator set-up, then for each size of the
// sweep an out-of-place and an in-place measurement (warm-up, timed iterations, one
// checked iteration), each reported as a protocol line (line_protocol.h).
#ifndef SPARKFLEET_NODE_AGENT_NCCL_WORKER_COLLECTIVE_BENCH_H_
#define SPARKFLEET_NODE_AGENT_NCCL_WORKER_COLLECTIVE_BENCH_H_

#include <functional>
#include <string>

#include "node_agent/nccl_worker/libraries.h"
#include "node_agent/nccl_worker/line_protocol.h"

namespace sparkfleet::nccl_worker {

// Runs `options` on `cuda`'s device options.device with `nccl`, writing each protocol
// line through `emit` (without its newline) as it happens. Returns the exit status: 0
// after SUMMARY, 1 after ERROR. Every rank runs the same sizes: the memory cap is agreed
// on (the smallest over ranks) with an all-reduce right after ncclCommInitRank, because
// ranks that disagreed on the sweep would wait for each other forever.
int RunCollectiveBench(const WorkerOptions& options, const NcclLibrary& nccl,
                       const CudaDriver& cuda, const std::function<void(const std::string&)>& emit);

}  // namespace sparkfleet::nccl_worker

#endif  // SPARKFLEET_NODE_AGENT_NCCL_WORKER_COLLECTIVE_BENCH_H_
