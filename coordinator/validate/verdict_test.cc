#include "coordinator/validate/verdict.h"

#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::CheckResult Check(v1::ValidateTest test) {
  return NewCheck(test, "spark-001", "spark-002", "10.0.0.2");
}

v1::PingResult Ping(bool reachable, double avg_us) {
  v1::PingResult ping;
  ping.set_target("10.0.0.2");
  ping.set_reachable(reachable);
  ping.set_sent(5);
  ping.set_received(reachable ? 5 : 0);
  ping.set_avg_rtt_us(avg_us);
  if (!reachable) ping.set_error("Destination Host Unreachable");
  return ping;
}

TEST(MergeThresholds, RequestOverridesClusterYamlFieldByField) {
  ValidationThresholds config;
  config.min_bandwidth_gbps = 90;
  config.max_latency_ms = 1;
  v1::ValidateThresholds request;
  request.set_max_latency_ms(0.5);
  Thresholds t = MergeThresholds(config, request, /*ssh_trust_set_up=*/true);
  EXPECT_EQ(t.min_bandwidth_gbps, 90);
  EXPECT_EQ(t.max_latency_ms, 0.5);
  EXPECT_FALSE(t.require_ssh);
  EXPECT_TRUE(t.ssh_trust_set_up);
}

TEST(SelectedTests, DefaultIsPingAndBandwidthPlusSshOnceTrustIsSetUp) {
  v1::ValidateRequest request;
  EXPECT_THAT(SelectedTests(request, Thresholds()),
              ElementsAre(v1::VALIDATE_TEST_PING, v1::VALIDATE_TEST_BANDWIDTH));
  Thresholds trusted;
  trusted.ssh_trust_set_up = true;
  EXPECT_THAT(
      SelectedTests(request, trusted),
      ElementsAre(v1::VALIDATE_TEST_PING, v1::VALIDATE_TEST_BANDWIDTH, v1::VALIDATE_TEST_SSH));
  request.add_tests(v1::VALIDATE_TEST_GPU);
  request.add_tests(v1::VALIDATE_TEST_GPU);
  EXPECT_THAT(SelectedTests(request, trusted), ElementsAre(v1::VALIDATE_TEST_GPU));
}

TEST(JudgePing, WithoutThresholdsOnlyNoReplyFails) {
  v1::CheckResult slow = Check(v1::VALIDATE_TEST_PING);
  JudgePing(Ping(true, 50000), Thresholds(), slow);
  EXPECT_EQ(slow.verdict(), v1::CHECK_VERDICT_PASS);
  EXPECT_EQ(slow.ping().avg_rtt_us(), 50000);

  v1::CheckResult dead = Check(v1::VALIDATE_TEST_PING);
  JudgePing(Ping(false, 0), Thresholds(), dead);
  EXPECT_EQ(dead.verdict(), v1::CHECK_VERDICT_FAIL);
  EXPECT_EQ(dead.reason(),
            "no echo reply from 10.0.0.2 to 5 requests: Destination Host Unreachable");
}

TEST(JudgePing, AverageOverMaxLatencyFailsNamingTheThreshold) {
  Thresholds t;
  t.max_latency_ms = 0.5;
  v1::CheckResult check = Check(v1::VALIDATE_TEST_PING);
  JudgePing(Ping(true, 1200), t, check);
  EXPECT_EQ(check.verdict(), v1::CHECK_VERDICT_FAIL);
  EXPECT_THAT(check.reason(), HasSubstr("average RTT 1.200 ms"));
  EXPECT_THAT(check.reason(), HasSubstr("is over max_latency_ms 0.5"));
}

TEST(JudgeBandwidth, UnderMinimumFailsOtherwisePasses) {
  v1::BandwidthResult result;
  result.set_received_bps(9.5e9);
  Thresholds t;
  v1::CheckResult pass = Check(v1::VALIDATE_TEST_BANDWIDTH);
  JudgeBandwidth(result, t, pass);
  EXPECT_EQ(pass.verdict(), v1::CHECK_VERDICT_PASS);
  t.min_bandwidth_gbps = 10;
  v1::CheckResult fail = Check(v1::VALIDATE_TEST_BANDWIDTH);
  JudgeBandwidth(result, t, fail);
  EXPECT_EQ(fail.verdict(), v1::CHECK_VERDICT_FAIL);
  EXPECT_THAT(fail.reason(), HasSubstr("9.50 Gb/s spark-001 -> spark-002 (10.0.0.2) is under "
                                       "min_bandwidth_gbps 10"));
}

TEST(JudgeRdma, SumOfBothHalvesIsJudgedAndAFailureListsEachHalf) {
  v1::BandwidthResult result;
  result.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  result.set_received_bps(21.4e9);
  for (auto [device, bps] : {std::pair<const char*, double>{"rocep1s0f1", 12.1e9},
                             std::pair<const char*, double>{"roceP2p1s0f1", 9.3e9}}) {
    v1::BandwidthLane* lane = result.add_lanes();
    lane->set_local_rdma_device(device);
    lane->set_bandwidth_bps(bps);
  }
  Thresholds t;
  t.min_bandwidth_gbps = 20;
  v1::CheckResult pass = Check(v1::VALIDATE_TEST_RDMA);
  JudgeRdma(result, t, pass);
  EXPECT_EQ(pass.verdict(), v1::CHECK_VERDICT_PASS);
  EXPECT_EQ(pass.bandwidth().lanes_size(), 2);
  t.min_bandwidth_gbps = 150;
  v1::CheckResult fail = Check(v1::VALIDATE_TEST_RDMA);
  JudgeRdma(result, t, fail);
  EXPECT_EQ(fail.verdict(), v1::CHECK_VERDICT_FAIL);
  EXPECT_THAT(fail.reason(), HasSubstr("RDMA 21.40 Gb/s (rocep1s0f1 12.10 + roceP2p1s0f1 9.30) "
                                       "spark-001 -> spark-002 (10.0.0.2) is under "
                                       "min_bandwidth_gbps 150"));
}

TEST(JudgeSsh, RefusalFailsWhereTrustIsSetUpAndIsSkippedOtherwise) {
  v1::SshCheckResult refused;
  refused.set_outcome(v1::SSH_CHECK_OUTCOME_AUTH_REFUSED);
  refused.set_user("nvidia");
  refused.set_port(22);
  refused.set_detail("nvidia@10.0.0.2: Permission denied (publickey).");
  v1::CheckResult before = Check(v1::VALIDATE_TEST_SSH);
  JudgeSsh(refused, Thresholds(), before);
  EXPECT_EQ(before.verdict(), v1::CHECK_VERDICT_SKIPPED);
  EXPECT_THAT(before.reason(), HasSubstr("auth refused as nvidia@10.0.0.2:22"));
  EXPECT_THAT(before.reason(), HasSubstr("not counted: no cluster SSH key"));

  Thresholds trusted;
  trusted.ssh_trust_set_up = true;
  v1::CheckResult after = Check(v1::VALIDATE_TEST_SSH);
  JudgeSsh(refused, trusted, after);
  EXPECT_EQ(after.verdict(), v1::CHECK_VERDICT_FAIL);
  EXPECT_EQ(after.reason(),
            "auth refused as nvidia@10.0.0.2:22: nvidia@10.0.0.2: Permission denied (publickey).");

  v1::SshCheckResult ok;
  ok.set_outcome(v1::SSH_CHECK_OUTCOME_OK);
  v1::CheckResult good = Check(v1::VALIDATE_TEST_SSH);
  JudgeSsh(ok, Thresholds(), good);
  EXPECT_EQ(good.verdict(), v1::CHECK_VERDICT_PASS);
}

TEST(JudgeGpu, NodeWithoutGpuIsSkippedNotFailed) {
  v1::CheckResult none = NewCheck(v1::VALIDATE_TEST_GPU, "spark-003", "", "");
  JudgeGpu(v1::ProbeReply(), none);
  EXPECT_EQ(none.verdict(), v1::CHECK_VERDICT_SKIPPED);
  EXPECT_EQ(none.reason(), "no NVIDIA GPU on spark-003");

  v1::ProbeReply probe;
  probe.add_gpus()->set_name("NVIDIA GB10");
  v1::CheckResult one = NewCheck(v1::VALIDATE_TEST_GPU, "spark-001", "", "");
  JudgeGpu(probe, one);
  EXPECT_EQ(one.verdict(), v1::CHECK_VERDICT_PASS);
  EXPECT_EQ(one.gpu().gpus(0).name(), "NVIDIA GB10");
}

TEST(Summarize, CountsVerdictsAndIsOkOnlyWithoutFailures) {
  std::vector<v1::CheckResult> checks(4);
  checks[0].set_verdict(v1::CHECK_VERDICT_PASS);
  checks[1].set_verdict(v1::CHECK_VERDICT_SKIPPED);
  checks[2].set_verdict(v1::CHECK_VERDICT_PASS);
  checks[3].set_verdict(v1::CHECK_VERDICT_FAIL);
  v1::ValidateSummary summary = Summarize(checks, absl::Milliseconds(1500));
  EXPECT_EQ(summary.passed(), 2u);
  EXPECT_EQ(summary.skipped(), 1u);
  EXPECT_EQ(summary.failed(), 1u);
  EXPECT_FALSE(summary.ok());
  EXPECT_EQ(summary.duration_ms(), 1500);
  checks.pop_back();
  EXPECT_TRUE(Summarize(checks, absl::ZeroDuration()).ok());
}

}  // namespace
}  // namespace sparkfleet
