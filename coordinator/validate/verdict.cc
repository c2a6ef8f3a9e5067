#include "coordinator/validate/verdict.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

std::string Between(const v1::CheckResult& check) {
  return absl::StrCat(check.source(), " -> ", check.target(), " (", check.target_address(), ")");
}

}  // namespace

Thresholds MergeThresholds(const ValidationThresholds& config,
                           const v1::ValidateThresholds& request, bool ssh_trust_set_up) {
  Thresholds out;
  out.min_bandwidth_gbps = request.has_min_bandwidth_gbps()
                               ? std::optional<double>(request.min_bandwidth_gbps())
                               : config.min_bandwidth_gbps;
  out.max_latency_ms = request.has_max_latency_ms()
                           ? std::optional<double>(request.max_latency_ms())
                           : config.max_latency_ms;
  out.require_ssh =
      request.has_require_ssh() ? request.require_ssh() : config.require_ssh.value_or(false);
  out.ssh_trust_set_up = ssh_trust_set_up;
  return out;
}

std::vector<v1::ValidateTest> SelectedTests(const v1::ValidateRequest& request,
                                            const Thresholds& thresholds) {
  std::vector<v1::ValidateTest> tests;
  for (int test : request.tests()) {
    auto kind = static_cast<v1::ValidateTest>(test);
    if (kind != v1::VALIDATE_TEST_UNSPECIFIED &&
        std::find(tests.begin(), tests.end(), kind) == tests.end()) {
      tests.push_back(kind);
    }
  }
  if (!tests.empty()) return tests;
  tests = {v1::VALIDATE_TEST_PING, v1::VALIDATE_TEST_BANDWIDTH};
  if (thresholds.ssh_trust_set_up || thresholds.require_ssh) {
    tests.push_back(v1::VALIDATE_TEST_SSH);
  }
  return tests;
}

std::string TestName(v1::ValidateTest test) {
  switch (test) {
    case v1::VALIDATE_TEST_PING:
      return "ping";
    case v1::VALIDATE_TEST_BANDWIDTH:
      return "bandwidth";
    case v1::VALIDATE_TEST_SSH:
      return "ssh";
    case v1::VALIDATE_TEST_GPU:
      return "gpu";
    case v1::VALIDATE_TEST_RDMA:
      return "rdma";
    default:
      return "unspecified";
  }
}

v1::CheckResult NewCheck(v1::ValidateTest test, const std::string& source,
                         const std::string& target, const std::string& target_address) {
  v1::CheckResult check;
  check.set_test(test);
  check.set_source(source);
  check.set_target(target);
  check.set_target_address(target_address);
  return check;
}

void JudgePing(const v1::PingResult& ping, const Thresholds& thresholds, v1::CheckResult& check) {
  *check.mutable_ping() = ping;
  if (!ping.reachable()) {
    bool plain = ping.error().empty() || ping.error() == "no echo reply";
    FailCheck(check,
              absl::StrCat("no echo reply from ", check.target_address(), " to ", ping.sent(),
                           " requests", plain ? "" : ": ", plain ? "" : ping.error()));
    return;
  }
  double avg_ms = ping.avg_rtt_us() / 1000;
  if (thresholds.max_latency_ms.has_value() && avg_ms > *thresholds.max_latency_ms) {
    FailCheck(check, absl::StrFormat("average RTT %.3f ms %s is over max_latency_ms %g", avg_ms,
                                     Between(check), *thresholds.max_latency_ms));
    return;
  }
  check.set_verdict(v1::CHECK_VERDICT_PASS);
}

void JudgeBandwidth(const v1::BandwidthResult& bandwidth, const Thresholds& thresholds,
                    v1::CheckResult& check) {
  *check.mutable_bandwidth() = bandwidth;
  double gbps = bandwidth.received_bps() / 1e9;
  if (thresholds.min_bandwidth_gbps.has_value() && gbps < *thresholds.min_bandwidth_gbps) {
    FailCheck(check, absl::StrFormat("%.2f Gb/s %s is under min_bandwidth_gbps %g", gbps,
                                     Between(check), *thresholds.min_bandwidth_gbps));
    return;
  }
  check.set_verdict(v1::CHECK_VERDICT_PASS);
}

void JudgeRdma(const v1::BandwidthResult& rdma, const Thresholds& thresholds,
               v1::CheckResult& check) {
  *check.mutable_bandwidth() = rdma;
  double gbps = rdma.received_bps() / 1e9;
  if (thresholds.min_bandwidth_gbps.has_value() && gbps < *thresholds.min_bandwidth_gbps) {
    std::vector<std::string> lanes;
    for (const v1::BandwidthLane& lane : rdma.lanes()) {
      lanes.push_back(
          absl::StrFormat("%s %.2f", lane.local_rdma_device(), lane.bandwidth_bps() / 1e9));
    }
    FailCheck(check, absl::StrFormat("RDMA %.2f Gb/s (%s) %s is under min_bandwidth_gbps %g", gbps,
                                     absl::StrJoin(lanes, " + "), Between(check),
                                     *thresholds.min_bandwidth_gbps));
    return;
  }
  check.set_verdict(v1::CHECK_VERDICT_PASS);
}

void JudgeSsh(const v1::SshCheckResult& ssh, const Thresholds& thresholds, v1::CheckResult& check) {
  *check.mutable_ssh() = ssh;
  if (ssh.outcome() == v1::SSH_CHECK_OUTCOME_OK) {
    check.set_verdict(v1::CHECK_VERDICT_PASS);
    return;
  }
  std::string what =
      absl::StrCat(SshOutcomeName(ssh.outcome()), " as ", ssh.user(), "@",
                   FormatHostPort(check.target_address(), static_cast<uint16_t>(ssh.port())), ": ",
                   ssh.detail());
  if (thresholds.ssh_trust_set_up || thresholds.require_ssh) {
    FailCheck(check, what);
  } else {
    SkipCheck(check, absl::StrCat(what,
                                  "; not counted: no cluster SSH key on this machine yet (run "
                                  "`sparkctl ssh`, or set validation.require_ssh)"));
  }
}

void JudgeGpu(const v1::ProbeReply& probe, v1::CheckResult& check) {
  v1::GpuCheck* gpu = check.mutable_gpu();
  gpu->mutable_gpus()->CopyFrom(probe.gpus());
  *gpu->mutable_topology() = probe.topology();
  if (probe.gpus().empty()) {
    SkipCheck(check,
              absl::StrCat("no NVIDIA GPU on ", check.source(),
                           probe.sandboxed_root() ? " (hardware read from its --root tree)" : ""));
    return;
  }
  check.set_verdict(v1::CHECK_VERDICT_PASS);
}

void FailCheck(v1::CheckResult& check, const std::string& what, const absl::Status& why) {
  FailCheck(check,
            absl::StrCat(what, ": ", absl::StatusCodeToString(why.code()), ": ", why.message()));
}

void FailCheck(v1::CheckResult& check, const std::string& reason) {
  check.set_verdict(v1::CHECK_VERDICT_FAIL);
  check.set_reason(reason);
}

void SkipCheck(v1::CheckResult& check, const std::string& reason) {
  check.set_verdict(v1::CHECK_VERDICT_SKIPPED);
  check.set_reason(reason);
}

std::string SshOutcomeName(v1::SshCheckOutcome outcome) {
  switch (outcome) {
    case v1::SSH_CHECK_OUTCOME_OK:
      return "ok";
    case v1::SSH_CHECK_OUTCOME_AUTH_REFUSED:
      return "auth refused";
    case v1::SSH_CHECK_OUTCOME_HOST_KEY_UNKNOWN:
      return "host key unknown";
    case v1::SSH_CHECK_OUTCOME_HOST_KEY_CHANGED:
      return "host key changed";
    case v1::SSH_CHECK_OUTCOME_CONNECTION_REFUSED:
      return "connection refused";
    case v1::SSH_CHECK_OUTCOME_TIMEOUT:
      return "timeout";
    case v1::SSH_CHECK_OUTCOME_NAME_UNRESOLVED:
      return "name unresolved";
    default:
      return "failed";
  }
}

v1::ValidateSummary Summarize(const std::vector<v1::CheckResult>& checks, absl::Duration duration) {
  v1::ValidateSummary summary;
  for (const v1::CheckResult& check : checks) {
    switch (check.verdict()) {
      case v1::CHECK_VERDICT_PASS:
        summary.set_passed(summary.passed() + 1);
        break;
      case v1::CHECK_VERDICT_SKIPPED:
        summary.set_skipped(summary.skipped() + 1);
        break;
      default:
        summary.set_failed(summary.failed() + 1);
        break;
    }
  }
  summary.set_ok(summary.failed() == 0);
  summary.set_duration_ms(absl::ToInt64Milliseconds(duration));
  return summary;
}

}  // namespace sparkfleet
