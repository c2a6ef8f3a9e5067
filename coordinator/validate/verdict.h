// How `sparkctl validate` turns measurements into PASS / FAIL / SKIPPED. Pure.
//
// Thresholds come from cluster.yaml's `validation:` section, overridden field by field
// by the request. Without a threshold only unreachability fails: no echo reply, a
// bandwidth test that could not run, an SSH login refused where SSH trust was set up
// (or validation.require_ssh). A failed or skipped check always carries its reason.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_VERDICT_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_VERDICT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "sparkfleet/v1/agent.pb.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

struct Thresholds {
  std::optional<double> min_bandwidth_gbps;
  std::optional<double> max_latency_ms;
  bool require_ssh = false;
  // The cluster SSH key exists on the admin box (`sparkctl ssh` has run), so nodes are
  // expected to trust each other.
  bool ssh_trust_set_up = false;
};

// cluster.yaml's values with the request's set fields on top.
Thresholds MergeThresholds(const ValidationThresholds& config,
                           const v1::ValidateThresholds& request, bool ssh_trust_set_up);

// The tests a request asks for; empty = ping, bandwidth, and ssh when trust is set up.
std::vector<v1::ValidateTest> SelectedTests(const v1::ValidateRequest& request,
                                            const Thresholds& thresholds);

// A short lower-case name for messages and tables: "ping", "bandwidth", "ssh", "gpu",
// "rdma".
std::string TestName(v1::ValidateTest test);

// A check between two nodes (or on one node when `target` is empty), not judged yet.
v1::CheckResult NewCheck(v1::ValidateTest test, const std::string& source,
                         const std::string& target, const std::string& target_address);

// Each Judge* fills `check`'s detail, verdict and reason.
void JudgePing(const v1::PingResult& ping, const Thresholds& thresholds, v1::CheckResult& check);
void JudgeBandwidth(const v1::BandwidthResult& bandwidth, const Thresholds& thresholds,
                    v1::CheckResult& check);
// ib_write_bw: the sum of the lanes against min_bandwidth_gbps (shared with iperf3);
// a failure lists each lane's figure.
void JudgeRdma(const v1::BandwidthResult& rdma, const Thresholds& thresholds,
               v1::CheckResult& check);
void JudgeSsh(const v1::SshCheckResult& ssh, const Thresholds& thresholds, v1::CheckResult& check);
// PASS with the GPU count; SKIPPED on a node without GPUs.
void JudgeGpu(const v1::ProbeReply& probe, v1::CheckResult& check);

// FAIL because the check could not run: `what` says which call ("ping from spark-001"),
// `why` is the call's error.
void FailCheck(v1::CheckResult& check, const std::string& what, const absl::Status& why);
void FailCheck(v1::CheckResult& check, const std::string& reason);
void SkipCheck(v1::CheckResult& check, const std::string& reason);

// A human name for an SSH outcome: "ok", "auth refused", "host key unknown", ...
std::string SshOutcomeName(v1::SshCheckOutcome outcome);

// Totals over `checks`; ok when none failed.
v1::ValidateSummary Summarize(const std::vector<v1::CheckResult>& checks, absl::Duration duration);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_VERDICT_H_
