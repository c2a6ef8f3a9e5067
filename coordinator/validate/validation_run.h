// RunValidation: the checks of one `sparkctl validate` (or Coordinator.Validate), made
// by the nodes' agents and judged here.
//
// Order: a Probe of every node when an interface, GPU or RDMA check needs it; then
// ping (every source at once, each pinging all its targets), ssh (likewise), bandwidth
// (ScheduleRounds' rounds one after the other: BandwidthServe on the round's receivers,
// then BandwidthTest on its senders), RDMA (the same rounds with ib_write_bw on the
// cabled RDMA devices, rdma_lanes.h) and GPU. Every agent call has the request's
// timeout, plus the test's own duration for long calls. A node whose agent did not
// answer (UNAVAILABLE, DEADLINE_EXCEEDED) is not asked again in this run: its later
// checks fail at once, saying so, so one dead node costs about one timeout per kind of
// test rather than one per pair.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_RUN_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_RUN_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "coordinator/fanout.h"
#include "coordinator/validate/report.h"
#include "coordinator/validate/validation_input.h"
#include "coordinator/validate/verdict.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

struct ValidationSetup {
  std::vector<ClusterNode> nodes;  // the nodes to validate, cluster.yaml order
  v1::ValidateRequest request;     // tests, interface, pairs, durations (timeout/limit unused)
  Thresholds thresholds;
  absl::Duration timeout = absl::Seconds(10);  // per agent call
  int parallel = 256;                          // agent calls in flight at most
  uint64_t seed = 0;                           // PAIR_SELECTION_SAMPLE's draw
  // Polled between fan-outs (bandwidth rounds included); when true the run stops and
  // the report holds the checks made so far. May be empty.
  std::function<bool()> cancelled;
};

// Pings per pair, and how.
inline constexpr uint32_t kValidatePingCount = 5;
inline constexpr uint32_t kValidatePingIntervalMs = 200;
inline constexpr uint32_t kValidatePingTimeoutMs = 1000;
inline constexpr uint32_t kValidateSshConnectTimeoutS = 5;
inline constexpr uint32_t kValidateDefaultDurationS = 5;
// ib_write_bw's -D must exceed twice perftest's 2 s warm-up margin.
inline constexpr uint32_t kValidateRdmaMinDurationS = 5;

// Runs every selected check and returns the report; `on_check` (may be empty) sees each
// check as soon as it is judged, on the calling thread.
ValidationReport RunValidation(AgentChannels& channels, const ValidationSetup& setup,
                               const std::function<void(const v1::CheckResult&)>& on_check);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_RUN_H_
