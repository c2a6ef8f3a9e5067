#include "node_agent/netcheck/bandwidth.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Testdata(const std::string& name) {
  std::ifstream in(std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/netcheck/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

BandwidthTestOptions ClientOptions(bool reverse = false) {
  BandwidthTestOptions options;
  options.server_address = "127.0.0.1";
  options.server_port = 5997;
  options.duration_s = 1;
  options.parallel_streams = 2;
  options.reverse = reverse;
  return options;
}

TEST(ParseIperf3ClientJson, ReadsSentReceivedAndRetransmits) {
  absl::StatusOr<v1::BandwidthResult> result =
      ParseIperf3ClientJson(Testdata("iperf3-3.12-client-P2.json"), ClientOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->tool(), v1::BANDWIDTH_TOOL_IPERF3);
  EXPECT_GT(result->sent_bps(), 1e9);
  EXPECT_GT(result->received_bps(), 1e9);
  EXPECT_GE(result->retransmits(), 0);
  EXPECT_NEAR(result->duration_s(), 1.0, 0.1);
  EXPECT_EQ(result->parallel_streams(), 2u);
  EXPECT_FALSE(result->reverse());
  ASSERT_EQ(result->lanes_size(), 1);
  EXPECT_EQ(result->lanes(0).server(), "127.0.0.1:5997");
  EXPECT_DOUBLE_EQ(result->lanes(0).bandwidth_bps(), result->received_bps());
}

TEST(ParseIperf3ClientJson, ReverseModeIsReported) {
  absl::StatusOr<v1::BandwidthResult> result = ParseIperf3ClientJson(
      Testdata("iperf3-3.12-client-P2-reverse.json"), ClientOptions(/*reverse=*/true));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->reverse());
  EXPECT_GT(result->received_bps(), 1e9);
}

TEST(ParseIperf3ClientJson, Iperf3sErrorIsAFailedPreconditionSayingIt) {
  absl::StatusOr<v1::BandwidthResult> result =
      ParseIperf3ClientJson(Testdata("iperf3-3.12-client-refused.json"), ClientOptions());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(),
              HasSubstr("iperf3 client to 127.0.0.1:5997 failed: unable to connect to server: "
                        "Connection refused"));
}

// fuzz_iperf3_json: num_streams 1e30 (or retransmits 1e300, or -1 streams) was cast to an
// integer it does not fit (undefined behaviour); such numbers count as not reported.
TEST(ParseIperf3ClientJson, FuzzRegressionOutOfRangeNumbersAreNotReported) {
  absl::StatusOr<v1::BandwidthResult> result =
      ParseIperf3ClientJson(R"({"start":{"test_start":{"num_streams":1e30}},"end":{"sum_sent": )"
                            R"({"bits_per_second":5},"sum_received":{"bits_per_second":9}}})",
                            ClientOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->parallel_streams(), 2u);  // the request's
  EXPECT_EQ(result->retransmits(), -1);

  result = ParseIperf3ClientJson(
      R"({"start":{"test_start":{"num_streams":-1}},"end":{"sum_sent":)"
      R"({"bits_per_second":5,"retransmits":1e300},"sum_received":{"bits_per_second":9}}})",
      ClientOptions());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->parallel_streams(), 2u);
  EXPECT_EQ(result->retransmits(), -1);
}

TEST(ParseIperf3ClientJson, TextThatIsNotTheReportIsInvalid) {
  EXPECT_EQ(ParseIperf3ClientJson("iperf3: error", ClientOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseIperf3ClientJson("{\"end\": {}}", ClientOptions()).status().message(),
              HasSubstr("no end.sum_sent"));
}

TEST(Iperf3Argv, ClientAndServerAreArgvWithJsonOutput) {
  BandwidthTestOptions options = ClientOptions(/*reverse=*/true);
  options.bind_address = "127.0.0.2";
  EXPECT_THAT(Iperf3ClientArgv(options),
              ElementsAre("iperf3", "-c", "127.0.0.1", "-p", "5997", "-t", "1", "-P", "2",
                          "--connect-timeout", "5000", "--json", "-R", "-B", "127.0.0.2"));
  EXPECT_THAT(Iperf3ServerArgv("10.0.0.2", 40000, absl::Milliseconds(1500)),
              ElementsAre("iperf3", "-s", "-1", "--idle-timeout", "2", "-B", "10.0.0.2", "-p",
                          "40000", "--json"));
}

TEST(BandwidthTestOptionsFromRequest, DefaultsAndRefusals) {
  v1::BandwidthTestRequest request;
  v1::BandwidthServer* server = request.add_servers();
  server->set_address("10.0.0.2");
  server->set_port(40000);
  absl::StatusOr<BandwidthTestOptions> options = BandwidthTestOptionsFromRequest(request);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->duration_s, 5u);
  EXPECT_EQ(options->parallel_streams, 1u);

  server->set_address("spark-002");
  EXPECT_THAT(BandwidthTestOptionsFromRequest(request).status().message(),
              HasSubstr("BandwidthTestRequest.servers[0].address"));
  server->set_address("10.0.0.2");
  request.set_duration_s(301);
  EXPECT_THAT(BandwidthTestOptionsFromRequest(request).status().message(),
              HasSubstr("duration_s: 301 is over 300"));
  request.set_duration_s(1);
  request.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  EXPECT_THAT(BandwidthTestOptionsFromRequest(request).status().message(),
              HasSubstr("BandwidthTestRequest.tool: ib_write_bw is not iperf3"));
}

TEST(BandwidthServeOptionsFromRequest, NeedsAnAddressAndABoundedTimeout) {
  v1::BandwidthServeRequest request;
  EXPECT_EQ(BandwidthServeOptionsFromRequest(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_bind_address("127.0.0.1");
  EXPECT_EQ(BandwidthServeOptionsFromRequest(request)->accept_timeout, absl::Seconds(30));
  request.set_accept_timeout_ms(700000);
  EXPECT_THAT(BandwidthServeOptionsFromRequest(request).status().message(),
              HasSubstr("accept_timeout_ms"));
}

// With the real iperf3 on loopback: what BandwidthServe and BandwidthTest do.
class BandwidthWithIperf3 : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = NewPosixProcessRunner({});
    if (!runner_->Find("iperf3").ok()) GTEST_SKIP() << "iperf3 is not installed";
  }
  std::unique_ptr<ProcessRunner> runner_;
};

TEST_F(BandwidthWithIperf3, ServerAnswersWithAListeningPortAndServesOneTest) {
  BandwidthServers servers(*runner_);
  absl::StatusOr<v1::BandwidthServer> server =
      StartIperf3Server(servers, {"127.0.0.1", absl::Seconds(10)});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(TcpPortListening("127.0.0.1", static_cast<uint16_t>(server->port())));

  BandwidthTestOptions options;
  options.server_address = "127.0.0.1";
  options.server_port = static_cast<uint16_t>(server->port());
  options.duration_s = 1;
  absl::StatusOr<v1::BandwidthResult> result = RunBandwidthTest(*runner_, options, nullptr);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->received_bps(), 0);
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (servers.running() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(servers.running(), 0) << "a one-shot server serves one test and exits";
}

TEST_F(BandwidthWithIperf3, ServerWhoseClientNeverComesGivesUpAndFreesItsPort) {
  BandwidthServers servers(*runner_);
  absl::StatusOr<v1::BandwidthServer> server =
      StartIperf3Server(servers, {"127.0.0.1", absl::Milliseconds(800)});
  ASSERT_TRUE(server.ok()) << server.status();
  uint16_t port = static_cast<uint16_t>(server->port());
  ASSERT_TRUE(TcpPortListening("127.0.0.1", port));
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (TcpPortListening("127.0.0.1", port) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_FALSE(TcpPortListening("127.0.0.1", port));
  while (servers.running() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(servers.running(), 0);
}

TEST_F(BandwidthWithIperf3, StopKillsWaitingServersAtOnce) {
  BandwidthServers servers(*runner_);
  absl::StatusOr<v1::BandwidthServer> server =
      StartIperf3Server(servers, {"127.0.0.1", absl::Seconds(60)});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Time start = absl::Now();
  servers.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(TcpPortListening("127.0.0.1", static_cast<uint16_t>(server->port())));
  EXPECT_EQ(StartIperf3Server(servers, {"127.0.0.1", absl::Seconds(1)}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(BandwidthWithIperf3, AddressNotOnThisNodeIsInvalidArgument) {
  BandwidthServers servers(*runner_);
  absl::StatusOr<v1::BandwidthServer> server =
      StartIperf3Server(servers, {"192.0.2.7", absl::Seconds(1)});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("192.0.2.7 is not an address of this node"));
}

TEST_F(BandwidthWithIperf3, ClientToNobodySaysIperf3sReason) {
  BandwidthTestOptions options;
  options.server_address = "127.0.0.1";
  options.server_port = 9;  // discard: nobody listens
  options.duration_s = 1;
  absl::StatusOr<v1::BandwidthResult> result = RunBandwidthTest(*runner_, options, nullptr);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(), HasSubstr("Connection refused"));
}

}  // namespace
}  // namespace sparkfleet
