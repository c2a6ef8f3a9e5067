// ValidationRunner: the state and steps of one RunValidation (validation_run.h). Internal
// to validation_run.cc (probes, ping, ssh, GPU, the run) and validation_bandwidth.cc
// (the iperf3 and ib_write_bw rounds); nothing else includes it.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_RUNNER_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_RUNNER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/fanout.h"
#include "coordinator/validate/pair_schedule.h"
#include "coordinator/validate/rdma_lanes.h"
#include "coordinator/validate/validation_run.h"

namespace sparkfleet::validate_internal {

// The agent did not answer: it is not asked again in this run.
inline bool AgentUnreachable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

// One pair of a bandwidth round; `lanes` only for RDMA.
struct PairTest {
  NodePair pair;
  RdmaLanes lanes;
};

class ValidationRunner {
 public:
  ValidationRunner(AgentChannels& channels, const ValidationSetup& setup,
                   const std::function<void(const v1::CheckResult&)>& on_check)
      : channels_(channels),
        setup_(setup),
        on_check_(on_check),
        n_(static_cast<int>(setup.nodes.size())),
        address_(n_),
        address_problem_(n_),
        unreachable_(n_),
        probes_(n_) {}

  ValidationReport Run();

 private:
  // One call per listed node, in parallel; results in `nodes` order.
  template <typename Request, typename Reply>
  std::vector<NodeResult<Reply>> Call(const std::vector<int>& nodes, absl::Duration timeout,
                                      const std::string& label,
                                      const std::function<Request(int)>& make_request,
                                      const fanout_internal::StartCall<Request, Reply>& start) {
    std::vector<ClusterNode> selected;
    std::map<std::string, int> index;
    for (int i : nodes) {
      selected.push_back(setup_.nodes[i]);
      index[setup_.nodes[i].hostname] = i;
    }
    FanOutOptions options;
    options.timeout = timeout;
    options.parallel = setup_.parallel;
    options.progress_label = label;
    std::vector<NodeResult<Reply>> results = FanOut<Request, Reply>(
        channels_, selected, options,
        [&](const ClusterNode& node) { return make_request(index[node.hostname]); }, start);
    for (size_t k = 0; k < results.size(); ++k) {
      if (AgentUnreachable(results[k].status)) unreachable_[nodes[k]] = results[k].status;
    }
    return results;
  }

  const std::string& Name(int i) const { return setup_.nodes[i].hostname; }
  bool Cancelled() const { return setup_.cancelled && setup_.cancelled(); }
  void Emit(v1::CheckResult check, absl::Duration duration);
  v1::CheckResult PairCheck(v1::ValidateTest test, const NodePair& pair) const;
  // FAILs the check when a node of the pair cannot take part; true when it did.
  bool FailIfUnusable(v1::CheckResult& check, const NodePair& pair, bool needs_target_agent);

  void RunProbes();
  void ResolveAddresses();
  std::map<int, std::vector<NodePair>> BySource(v1::ValidateTest test,
                                                const std::vector<NodePair>& pairs);
  void RunPing(const std::vector<NodePair>& pairs);
  void RunSsh(const std::vector<NodePair>& pairs);
  // iperf3 (BANDWIDTH) or ib_write_bw (RDMA), in ScheduleRounds' rounds.
  void RunBandwidth(v1::ValidateTest test, const std::vector<NodePair>& pairs);
  void RunBandwidthRound(v1::ValidateTest test, const std::vector<PairTest>& round);
  // BandwidthServe on the round's receivers; judges the checks whose server did not
  // start and returns the others' servers, by sender.
  std::map<int, v1::BandwidthServeReply> ServeRound(v1::ValidateTest test,
                                                    const std::vector<PairTest>& round);
  // The devices an RDMA check uses; false when `check` was skipped or failed instead.
  bool ChooseLanes(v1::CheckResult& check, const NodePair& pair, RdmaLanes& lanes);
  // A serve or test call failed: FAIL, or SKIPPED for RDMA where perftest is missing.
  void JudgeRoundFailure(v1::CheckResult& check, const std::string& what,
                         const absl::Status& status);
  void RunGpu();

  AgentChannels& channels_;
  const ValidationSetup& setup_;
  const std::function<void(const v1::CheckResult&)>& on_check_;
  const int n_;
  std::vector<std::string> address_;                      // per node: the address tests use
  std::vector<std::string> address_problem_;              // per node: why it has none
  std::vector<std::optional<absl::Status>> unreachable_;  // agent did not answer
  std::vector<std::optional<absl::StatusOr<v1::ProbeReply>>> probes_;
  std::vector<v1::CheckResult> checks_;
};

}  // namespace sparkfleet::validate_internal

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_VALIDATION_RUNNER_H_
