#include "coordinator/validate/report.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Three nodes, spark-003 unreachable; ring pairs so one cell is untested.
ValidationReport Report() {
  ValidationReport report;
  report.nodes = {"spark-001", "spark-002", "spark-003"};
  report.tests = {v1::VALIDATE_TEST_PING, v1::VALIDATE_TEST_BANDWIDTH, v1::VALIDATE_TEST_GPU};
  report.bandwidth_duration_s = 5;
  report.parallel_streams = 1;
  auto add = [&](v1::ValidateTest test, const char* from, const char* to, bool pass) {
    v1::CheckResult check = NewCheck(test, from, to, "10.0.0." + std::string(1, to[8]));
    if (test == v1::VALIDATE_TEST_PING) {
      v1::PingResult ping;
      ping.set_reachable(pass);
      ping.set_sent(5);
      ping.set_avg_rtt_us(45);
      JudgePing(ping, report.thresholds, check);
    } else {
      v1::BandwidthResult bandwidth;
      bandwidth.set_received_bps(9.41e9);
      if (pass) {
        JudgeBandwidth(bandwidth, report.thresholds, check);
      } else {
        FailCheck(check, "the agent of spark-003 did not answer earlier in this run");
      }
    }
    report.checks.push_back(check);
  };
  add(v1::VALIDATE_TEST_PING, "spark-001", "spark-002", true);
  add(v1::VALIDATE_TEST_PING, "spark-002", "spark-003", false);
  add(v1::VALIDATE_TEST_PING, "spark-003", "spark-001", false);
  add(v1::VALIDATE_TEST_BANDWIDTH, "spark-001", "spark-002", true);
  add(v1::VALIDATE_TEST_BANDWIDTH, "spark-002", "spark-003", false);
  v1::CheckResult gpu = NewCheck(v1::VALIDATE_TEST_GPU, "spark-001", "", "");
  JudgeGpu(v1::ProbeReply(), gpu);
  report.checks.push_back(gpu);
  report.summary = Summarize(report.checks, absl::Seconds(2));
  return report;
}

TEST(RenderValidationText, OneMatrixPerMetricRowsFromColumnsTo) {
  std::string text = RenderValidationText(Report());
  EXPECT_THAT(text, HasSubstr("Latency: average ICMP RTT, ms, on cluster addresses\n"
                              "FROM \\ TO  spark-001  spark-002  spark-003\n"
                              "spark-001  -          0.045      .\n"
                              "spark-002  .          -          FAIL\n"
                              "spark-003  FAIL       .          -\n"));
  EXPECT_THAT(text, HasSubstr("Bandwidth: iperf3 TCP, Gb/s received, 5 s, 1 stream"));
  EXPECT_THAT(text, HasSubstr("spark-001  -          9.41"));
}

TEST(RenderValidationText, ListsEveryFailureWithItsReasonAndEndsWithTheVerdict) {
  std::string text = RenderValidationText(Report());
  EXPECT_THAT(text, HasSubstr("  FAIL ping spark-002 -> spark-003: no echo reply from 10.0.0.3 "
                              "to 5 requests\n"));
  EXPECT_THAT(text, HasSubstr("  FAIL bandwidth spark-002 -> spark-003: the agent of spark-003 "
                              "did not answer earlier in this run\n"));
  EXPECT_THAT(text, HasSubstr("spark-001  skip  no NVIDIA GPU on spark-001"));
  EXPECT_THAT(text, HasSubstr("FAIL: 2 passed, 3 failed, 1 skipped (ping, bandwidth, gpu) in "
                              "2.0 s; thresholds: none (only unreachability fails)\n"));
}

TEST(RenderValidationText, RdmaShowsTheSumAndEachDevicePair) {
  ValidationReport report;
  report.nodes = {"spark-001", "spark-002"};
  report.tests = {v1::VALIDATE_TEST_RDMA};
  report.bandwidth_duration_s = 5;
  v1::CheckResult check =
      NewCheck(v1::VALIDATE_TEST_RDMA, "spark-001", "spark-002", "192.168.100.11");
  v1::BandwidthResult rdma;
  rdma.set_received_bps(189.94e9);
  for (auto [device, bps] : {std::pair<const char*, double>{"rocep1s0f1", 92.61e9},
                             std::pair<const char*, double>{"roceP2p1s0f1", 97.33e9}}) {
    v1::BandwidthLane* lane = rdma.add_lanes();
    lane->set_local_rdma_device(device);
    lane->set_remote_rdma_device(device);
    lane->set_bandwidth_bps(bps);
  }
  JudgeRdma(rdma, report.thresholds, check);
  report.checks.push_back(check);
  report.summary = Summarize(report.checks, absl::Seconds(6));
  std::string text = RenderValidationText(report);
  EXPECT_THAT(text, HasSubstr("RDMA: ib_write_bw, Gb/s summed over the cabled devices"));
  EXPECT_THAT(text, HasSubstr("spark-001  -          189.94"));
  EXPECT_THAT(text, HasSubstr("RDMA per device\n"
                              "FROM       TO         DEVICE        PEER DEVICE   Gb/s\n"
                              "spark-001  spark-002  rocep1s0f1    rocep1s0f1    92.61\n"
                              "spark-001  spark-002  roceP2p1s0f1  roceP2p1s0f1  97.33\n"));
}

TEST(RenderValidationJson, EveryCheckNamesItsSourceAndTarget) {
  std::string json = RenderValidationJson(Report());
  EXPECT_THAT(json, HasSubstr("\"nodes\":[\"spark-001\",\"spark-002\",\"spark-003\"]"));
  EXPECT_THAT(json, HasSubstr("\"tests\":[\"ping\",\"bandwidth\",\"gpu\"]"));
  EXPECT_THAT(json, HasSubstr("{\"test\":\"VALIDATE_TEST_PING\",\"source\":\"spark-002\","
                              "\"target\":\"spark-003\",\"target_address\":\"10.0.0.3\","
                              "\"verdict\":\"CHECK_VERDICT_FAIL\""));
  EXPECT_THAT(json, HasSubstr("\"summary\":{\"passed\":2,\"failed\":3,\"skipped\":1,\"ok\":false"));
  EXPECT_THAT(json, Not(HasSubstr("\n{")));
  EXPECT_EQ(json.back(), '\n');
}

}  // namespace
}  // namespace sparkfleet
