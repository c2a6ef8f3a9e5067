// RunCollectiveRequest checked and turned into spark-nccl-worker argv, and the worker's
// protocol lines turned into CollectiveEvent parts. Pure: no process, no file.
#ifndef SPARKFLEET_NODE_AGENT_NCCL_COLLECTIVE_REQUEST_H_
#define SPARKFLEET_NODE_AGENT_NCCL_COLLECTIVE_REQUEST_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node_agent/nccl_worker/line_protocol.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// Defaults (nccl-tests' flags, and sparkctl nccl-test's -e).
inline constexpr int64_t kDefaultMinBytes = 8;
inline constexpr int64_t kDefaultMaxBytes = 128ll << 20;
inline constexpr absl::Duration kDefaultCollectiveTimeout = absl::Minutes(5);

// What RunCollective will run on this node, from a validated request.
struct CollectivePlan {
  int nranks = 0;
  int first_rank = 0;
  int local_ranks = 0;
  std::string unique_id;  // 128 bytes; empty: this node's first rank makes it
  absl::Duration timeout;
  nccl_worker::WorkerOptions worker;  // shared part; rank/device/id set per worker
  std::vector<std::pair<std::string, std::string>> env;  // for every worker
};

// Checks the request against this node's `gpus` and fills the defaults. INVALID_ARGUMENT
// naming the field for anything out of range: unknown enum values, -b > -e, -f 1, a
// root outside the communicator, ranks that do not fit, a unique id that is not 128
// bytes (or missing on a node without rank 0), NCCL_* variables that are not
// NCCL_[A-Z0-9_]+=value-without-whitespace.
[[nodiscard]] absl::StatusOr<CollectivePlan> PlanCollective(const v1::RunCollectiveRequest& request,
                                                            int gpus);

// The worker's options for local rank `local` (0-based) of `plan`, with `unique_id_hex`.
nccl_worker::WorkerOptions WorkerOptionsFor(const CollectivePlan& plan, int local,
                                            const std::string& unique_id_hex);

// Protocol lines as proto messages; names nccl-tests prints map back to the enums.
v1::CollectiveRow RowFromLine(const nccl_worker::RowLine& line);
v1::CollectiveSummary SummaryFromLine(const nccl_worker::SummaryLine& line, int nranks,
                                      const std::string& nccl_version);

// "all_reduce", "float", "sum": the worker's names of the request's enums.
std::string CollectiveOpName(v1::CollectiveOp op);
std::string DataTypeName(v1::NcclDataType type);
std::string ReduceOpName(v1::ReduceOp op);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NCCL_COLLECTIVE_REQUEST_H_
