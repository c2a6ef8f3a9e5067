#include "node_agent/netcheck/ping.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// iputils 20221126, `ping -n -c 3 -i 0.200 -W 1.000 -s 56 127.0.0.1`.
constexpr char kSuccess[] = R"(PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.090 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.051 ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.052 ms

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 413ms
rtt min/avg/max/mdev = 0.051/0.064/0.090/0.018 ms
)";

// A peer whose link is down, seen from a node on the same bridge.
constexpr char kHostUnreachable[] = R"(PING 10.203.5.103 (10.203.5.103) 56(84) bytes of data.
From 10.203.5.101 icmp_seq=1 Destination Host Unreachable
From 10.203.5.101 icmp_seq=2 Destination Host Unreachable
From 10.203.5.101 icmp_seq=3 Destination Host Unreachable

--- 10.203.5.103 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2046ms

)";

// Replies that simply never come.
constexpr char kSilent[] = R"(PING 10.203.5.150 (10.203.5.150) 56(84) bytes of data.

--- 10.203.5.150 ping statistics ---
5 packets transmitted, 0 received, 100% packet loss, time 818ms

)";

// `-M do -s 1472` through a router whose next hop has MTU 1400.
constexpr char kFragNeeded[] = R"(PING 192.168.100.11 (192.168.100.11) 1472(1500) bytes of data.
From 192.168.100.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)
From 192.168.100.1 icmp_seq=2 Frag needed and DF set (mtu = 1400)

--- 192.168.100.11 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1002ms

)";

TEST(ParsePingOutput, SuccessGivesRttsInMicrosecondsAndNoLoss) {
  v1::PingResult r = ParsePingOutput("127.0.0.1", kSuccess, "");
  EXPECT_EQ(r.target(), "127.0.0.1");
  EXPECT_TRUE(r.reachable());
  EXPECT_EQ(r.sent(), 3u);
  EXPECT_EQ(r.received(), 3u);
  EXPECT_DOUBLE_EQ(r.loss_percent(), 0);
  EXPECT_DOUBLE_EQ(r.min_rtt_us(), 51);
  EXPECT_DOUBLE_EQ(r.avg_rtt_us(), 64);
  EXPECT_DOUBLE_EQ(r.max_rtt_us(), 90);
  EXPECT_DOUBLE_EQ(r.mdev_rtt_us(), 18);
  EXPECT_EQ(r.error(), "");
}

TEST(ParsePingOutput, FullLossSaysWhatTheNetworkAnswered) {
  v1::PingResult r = ParsePingOutput("10.203.5.103", kHostUnreachable, "");
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.sent(), 3u);
  EXPECT_EQ(r.received(), 0u);
  EXPECT_DOUBLE_EQ(r.loss_percent(), 100);
  EXPECT_DOUBLE_EQ(r.avg_rtt_us(), 0);
  EXPECT_EQ(r.error(), "Destination Host Unreachable");
}

TEST(ParsePingOutput, FullLossWithoutAnyAnswerIsNoEchoReply) {
  v1::PingResult r = ParsePingOutput("10.203.5.150", kSilent, "");
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.sent(), 5u);
  EXPECT_DOUBLE_EQ(r.loss_percent(), 100);
  EXPECT_EQ(r.error(), "no echo reply");
}

TEST(ParsePingOutput, FragNeededNamesThePathMtu) {
  v1::PingResult r = ParsePingOutput("192.168.100.11", kFragNeeded, "");
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.error(), "Frag needed and DF set (mtu = 1400)");
}

TEST(ParsePingOutput, LocalMtuErrorFromStderr) {
  v1::PingResult r = ParsePingOutput(
      "10.0.0.2",
      "PING 10.0.0.2 (10.0.0.2) 1473(1501) bytes of data.\n\n--- 10.0.0.2 ping statistics ---\n"
      "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2040ms\n\n",
      "ping: local error: message too long, mtu=1500\nping: local error: message too long, "
      "mtu=1500\n");
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.error(), "local error: message too long, mtu=1500");
}

TEST(ParsePingOutput, NothingSentWhenPingCannotStart) {
  v1::PingResult r = ParsePingOutput("10.0.0.2", "", "ping: connect: Network is unreachable\n");
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.sent(), 0u);
  EXPECT_DOUBLE_EQ(r.loss_percent(), 100);
  EXPECT_EQ(r.error(), "connect: Network is unreachable");
  EXPECT_EQ(ParsePingOutput("x", "", "").error(), "ping printed no statistics");
}

TEST(ParsePingOutput, PartialLossIsReachableWithItsLoss) {
  v1::PingResult r =
      ParsePingOutput("10.0.0.2",
                      "--- 10.0.0.2 ping statistics ---\n"
                      "4 packets transmitted, 3 received, 25% packet loss, time 600ms\n"
                      "rtt min/avg/max/mdev = 0.100/0.200/0.300/0.050 ms\n",
                      "");
  EXPECT_TRUE(r.reachable());
  EXPECT_DOUBLE_EQ(r.loss_percent(), 25);
  EXPECT_DOUBLE_EQ(r.avg_rtt_us(), 200);
}

TEST(PingArgv, IsArgvWithEveryOption) {
  PingOptions options;
  options.interface = "enp1s0f1np1";
  options.count = 5;
  options.payload_bytes = 8972;
  options.dont_fragment = true;
  EXPECT_THAT(PingArgv("192.168.100.11", options),
              ElementsAre("ping", "-n", "-c", "5", "-i", "0.200", "-W", "1.000", "-s", "8972", "-M",
                          "do", "-I", "enp1s0f1np1", "192.168.100.11"));
}

TEST(PingOptionsFromRequest, FillsDefaults) {
  v1::PingRequest request;
  request.add_targets("10.0.0.2");
  absl::StatusOr<PingOptions> options = PingOptionsFromRequest(request);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->count, 3u);
  EXPECT_EQ(options->interval, absl::Milliseconds(200));
  EXPECT_EQ(options->timeout, absl::Seconds(1));
  EXPECT_EQ(options->payload_bytes, 56u);
}

TEST(PingOptionsFromRequest, RefusesWhatCouldReachPingAsAnOption) {
  auto error = [](v1::PingRequest request) {
    absl::StatusOr<PingOptions> options = PingOptionsFromRequest(request);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(options.status().message());
  };
  v1::PingRequest request;
  EXPECT_THAT(error(request), HasSubstr("PingRequest.targets: at least one"));
  request.add_targets("-f");
  EXPECT_THAT(error(request), HasSubstr("PingRequest.targets[0] \"-f\""));
  request.set_targets(0, "10.0.0.2");
  request.set_interface("eth0 -f");
  EXPECT_THAT(error(request), HasSubstr("PingRequest.interface"));
  request.clear_interface();
  request.set_count(1000);
  EXPECT_THAT(error(request), HasSubstr("PingRequest.count"));
  request.set_count(3);
  request.set_interval_ms(1);
  EXPECT_THAT(error(request), HasSubstr("PingRequest.interval_ms"));
  request.set_interval_ms(0);
  request.set_payload_bytes(70000);
  EXPECT_THAT(error(request), HasSubstr("PingRequest.payload_bytes"));
}

}  // namespace
}  // namespace sparkfleet
