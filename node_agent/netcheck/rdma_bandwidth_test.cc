#include "node_agent/netcheck/rdma_bandwidth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::testing::ScriptedProcessRunner;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What perftest 4.5 prints on a client run with -D 5 -F --report_gbits: in duration mode
// BW peak is not measured (0.00), and a CPU-frequency warning may land inside the table.
constexpr char kClientDuration[] = R"(WARNING: BW peak won't be measured in this run.
---------------------------------------------------------------------------------------
                    RDMA_Write BW Test
 Dual-port       : OFF          Device         : rocep1s0f1
 Number of qps   : 1            Transport type : IB
 Connection type : RC           Using SRQ      : OFF
 PCIe relax order: ON
 TX depth        : 128
 CQ Moderation   : 1
 Mtu             : 4096[B]
 Link type       : Ethernet
 GID index       : 3
 Max inline data : 0[B]
 rdma_cm QPs     : OFF
 Data ex. method : Ethernet
---------------------------------------------------------------------------------------
 local address: LID 0000 QPN 0x0127 PSN 0x3a41c2 RKey 0x181b00 VAddr 0x00ffff8a1f0000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:100:10
 remote address: LID 0000 QPN 0x0127 PSN 0x9b02de RKey 0x181b00 VAddr 0x00ffff9c3e0000
 GID: 00:00:00:00:00:00:00:00:00:00:255:255:192:168:100:11
---------------------------------------------------------------------------------------
 #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]
Conflicting CPU frequency values detected: 1500.000000 != 3300.016000. CPU Frequency is not max.
 65536      883412           0.00               92.63                0.176672
---------------------------------------------------------------------------------------
)";

// Without --report_gbits perftest reports MiB/s (its MB is 2^20 bytes).
constexpr char kClientMebibytes[] = R"(
 #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]
 65536      5000             11043.21            11040.50              0.176648
)";

std::string SparkFixture() {
  return std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark";
}

TEST(ParseIbWriteBwAverageBps, ReadsTheAverageColumnPastWarningsInTheTable) {
  absl::StatusOr<double> bps = ParseIbWriteBwAverageBps(kClientDuration);
  ASSERT_TRUE(bps.ok()) << bps.status();
  EXPECT_DOUBLE_EQ(*bps, 92.63e9);
}

TEST(ParseIbWriteBwAverageBps, ConvertsMebibytesPerSecond) {
  absl::StatusOr<double> bps = ParseIbWriteBwAverageBps(kClientMebibytes);
  ASSERT_TRUE(bps.ok()) << bps.status();
  EXPECT_NEAR(*bps / 1e9, 92.61, 0.01);
}

TEST(ParseIbWriteBwAverageBps, OutputWithoutAResultIsInvalid) {
  EXPECT_THAT(ParseIbWriteBwAverageBps(" Couldn't connect to 10.0.0.2:18515\n").status().message(),
              HasSubstr("no result table"));
  EXPECT_THAT(ParseIbWriteBwAverageBps(" #bytes #iterations BW peak[Gb/sec] BW average[Gb/sec]\n")
                  .status()
                  .message(),
              HasSubstr("no result row"));
}

TEST(IbWriteBwBindFlag, TakesTheFlagThisPerftestsHelpNames) {
  EXPECT_EQ(IbWriteBwBindFlag("      --bind_source_ip  Source IP of the interface used for "
                              "connection establishment."),
            "--bind_source_ip");
  EXPECT_EQ(IbWriteBwBindFlag("      --ipv6 \n      --source_ip  Source IP of the interface"),
            "--source_ip");
  EXPECT_EQ(IbWriteBwBindFlag("  -p, --port=<port>  listen on/connect to port <port>"), "");
}

TEST(IbWriteBwArgv, ServerAndClientNameDevicePortAndUnits) {
  EXPECT_THAT(IbWriteBwServerArgv("roceP2p1s0f1", 40001, "--bind_source_ip", "192.168.100.11"),
              ElementsAre("ib_write_bw", "-d", "roceP2p1s0f1", "-p", "40001", "-F",
                          "--report_gbits", "--bind_source_ip", "192.168.100.11"));
  EXPECT_THAT(
      IbWriteBwServerArgv("rocep1s0f1", 40000, "", "192.168.100.11"),
      ElementsAre("ib_write_bw", "-d", "rocep1s0f1", "-p", "40000", "-F", "--report_gbits"));
  IbWriteBwLane lane{"rocep1s0f1", "rocep1s0f1", "192.168.100.11", 40000};
  EXPECT_THAT(IbWriteBwClientArgv(lane, 10, "--source_ip", "192.168.100.10"),
              ElementsAre("ib_write_bw", "-d", "rocep1s0f1", "-p", "40000", "-D", "10", "-F",
                          "--report_gbits", "--source_ip", "192.168.100.10", "192.168.100.11"));
  EXPECT_THAT(IbWriteBwClientArgv(lane, 5, "--bind_source_ip", ""),
              ElementsAre("ib_write_bw", "-d", "rocep1s0f1", "-p", "40000", "-D", "5", "-F",
                          "--report_gbits", "192.168.100.11"));
}

v1::BandwidthTestRequest SparkTestRequest(const std::string& address, uint32_t first_port) {
  v1::BandwidthTestRequest request;
  request.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  uint32_t port = first_port;
  for (const char* device : {"rocep1s0f1", "roceP2p1s0f1"}) {
    v1::BandwidthServer* server = request.add_servers();
    server->set_address(address);
    server->set_port(port++);
    server->set_rdma_device(device);
    request.add_rdma_devices(device);
  }
  return request;
}

TEST(IbWriteBwTestOptionsFromRequest, DurationsUnderPerftestsMinimumRunFiveSeconds) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  v1::BandwidthTestRequest request = SparkTestRequest("192.168.100.11", 40000);
  for (uint32_t asked : {0u, 3u}) {
    request.set_duration_s(asked);
    absl::StatusOr<IbWriteBwTestOptions> options = IbWriteBwTestOptionsFromRequest(*env, request);
    ASSERT_TRUE(options.ok()) << options.status();
    EXPECT_EQ(options->duration_s, 5u);
    ASSERT_EQ(options->lanes.size(), 2u);
    EXPECT_EQ(options->lanes[1].local_device, "roceP2p1s0f1");
    EXPECT_EQ(options->lanes[1].server_port, 40001);
  }
  request.set_duration_s(301);
  EXPECT_THAT(IbWriteBwTestOptionsFromRequest(*env, request).status().message(),
              HasSubstr("duration_s: 301 is over 300"));
}

TEST(IbWriteBwTestOptionsFromRequest, RefusesWhatPerftestCannotDo) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  v1::BandwidthTestRequest request = SparkTestRequest("192.168.100.11", 40000);
  request.add_rdma_devices("rocep1s0f0");
  EXPECT_THAT(IbWriteBwTestOptionsFromRequest(*env, request).status().message(),
              HasSubstr("3 devices for 2 servers"));
  request = SparkTestRequest("fd00::11", 40000);
  EXPECT_THAT(IbWriteBwTestOptionsFromRequest(*env, request).status().message(),
              HasSubstr("servers[0].address: \"fd00::11\" is not an IPv4 address"));
  request = SparkTestRequest("192.168.100.11", 40000);
  request.set_reverse(true);
  EXPECT_THAT(IbWriteBwTestOptionsFromRequest(*env, request).status().message(),
              HasSubstr("reverse: is iperf3's"));
}

TEST(IbWriteBwServeOptionsFromRequest, DevicesMustBeNamesOfThisNodesDevices) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  v1::BandwidthServeRequest request;
  request.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  request.set_bind_address("192.168.100.11");
  EXPECT_THAT(IbWriteBwServeOptionsFromRequest(*env, request).status().message(),
              HasSubstr("rdma_devices: ib_write_bw needs at least one device"));
  request.add_rdma_devices("../../etc");
  EXPECT_THAT(IbWriteBwServeOptionsFromRequest(*env, request).status().message(),
              HasSubstr("rdma_devices[0]: \"../../etc\" is not an RDMA device name"));
  request.set_rdma_devices(0, "mlx5_0");
  absl::Status missing = IbWriteBwServeOptionsFromRequest(*env, request).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("no RDMA device mlx5_0 under /sys/class/infiniband"));
  EXPECT_THAT(missing.message(), HasSubstr("rocep1s0f1"));
  request.set_rdma_devices(0, "rocep1s0f1");
  absl::StatusOr<IbWriteBwServeOptions> options = IbWriteBwServeOptionsFromRequest(*env, request);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->accept_timeout, absl::Seconds(30));
}

TEST(TestIbWriteBw, WithoutPerftestSaysHowToInstallIt) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;
  absl::StatusOr<v1::BandwidthResult> result =
      TestIbWriteBw(*env, runner, "spark-001", SparkTestRequest("192.168.100.11", 40000), nullptr);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status().message(),
            "ib_write_bw (perftest) is not installed on spark-001; apt-get install perftest");
}

// Counts the scripted clients running now, and the most seen at once.
struct Concurrency {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
};

// A scripted ib_write_bw client that waits (up to 5 s) for a second one to run beside
// it, then prints gbps_p1 for rocep1s0f1, gbps_p2 for the other device (< 0: fails).
ScriptedProcessRunner::Program Client(std::shared_ptr<Concurrency> seen, double gbps_p1,
                                      double gbps_p2) {
  return [=](const std::vector<std::string>& argv, const ProcessOptions&) {
    int now = ++seen->now;
    seen->most = std::max(seen->most.load(), now);
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (seen->most.load() < 2 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    ProcessResult result;
    result.exit_code = 0;
    double gbps = argv[2] == "rocep1s0f1" ? gbps_p1 : gbps_p2;
    if (gbps < 0) {
      result.exit_code = 1;
      result.stderr_text =
          "Couldn't connect to 192.168.100.11:40001\n Unable to init the socket "
          "connection\n";
      return result;
    }
    result.stdout_text = absl::StrCat(
        " #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]\n",
        " 65536      883412           0.00               ", gbps, "                0.17\n");
    --seen->now;
    return result;
  };
}

TEST(RunIbWriteBwClients, BothHalvesRunAtOnceAndAddUp) {
  ScriptedProcessRunner runner;
  auto seen = std::make_shared<Concurrency>();
  runner.Script("ib_write_bw", Client(seen, 92.6, 97.3));
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  absl::StatusOr<IbWriteBwTestOptions> options =
      IbWriteBwTestOptionsFromRequest(*env, SparkTestRequest("192.168.100.11", 40000));
  ASSERT_TRUE(options.ok()) << options.status();
  absl::StatusOr<v1::BandwidthResult> result =
      RunIbWriteBwClients(runner, "spark-001", *options, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(seen->most, 2) << "the two halves ran one after the other";
  EXPECT_EQ(result->tool(), v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  EXPECT_NEAR(result->received_bps() / 1e9, 189.9, 1e-6);
  EXPECT_EQ(result->retransmits(), -1);
  ASSERT_EQ(result->lanes_size(), 2);
  EXPECT_EQ(result->lanes(0).local_rdma_device(), "rocep1s0f1");
  EXPECT_EQ(result->lanes(1).remote_rdma_device(), "roceP2p1s0f1");
  EXPECT_EQ(result->lanes(1).server(), "192.168.100.11:40001");
  EXPECT_DOUBLE_EQ(result->lanes(1).bandwidth_bps(), 97.3e9);
}

TEST(RunIbWriteBwClients, AFailedHalfFailsTheTestAndSaysWhatEachHalfDid) {
  ScriptedProcessRunner runner;
  runner.Script("ib_write_bw", Client(std::make_shared<Concurrency>(), 92.6, -1));
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  absl::StatusOr<IbWriteBwTestOptions> options =
      IbWriteBwTestOptionsFromRequest(*env, SparkTestRequest("192.168.100.11", 40000));
  ASSERT_TRUE(options.ok()) << options.status();
  absl::Status status = RunIbWriteBwClients(runner, "spark-001", *options, nullptr).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("rocep1s0f1 -> 192.168.100.11:40000 (rocep1s0f1): 92.60 Gb/s"));
  EXPECT_THAT(status.message(), HasSubstr("roceP2p1s0f1 -> 192.168.100.11:40001 (roceP2p1s0f1): "
                                          "Couldn't connect to 192.168.100.11:40001"));
}

}  // namespace
}  // namespace sparkfleet
