// ServeIbWriteBw and TestIbWriteBw with processes: scripted servers that really listen,
// and the perftest contract double (tests/fakes/tools/ib_write_bw) on loopback.
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node_agent/netcheck/rdma_bandwidth.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::testing::ScriptedProcessRunner;
using ::testing::HasSubstr;

std::string SparkFixture() {
  return std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark";
}

v1::BandwidthServeRequest ServeRequest(uint32_t accept_timeout_ms) {
  v1::BandwidthServeRequest request;
  request.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  request.set_bind_address("127.0.0.1");
  request.add_rdma_devices("rocep1s0f1");
  request.add_rdma_devices("roceP2p1s0f1");
  request.set_accept_timeout_ms(accept_timeout_ms);
  return request;
}

// A scripted ib_write_bw server that listens on 127.0.0.1:-p until it is killed
// (options.cancelled), or, for a device in `broken`, fails as perftest does.
ScriptedProcessRunner::Program ListeningServer(std::set<std::string> broken) {
  return [broken](const std::vector<std::string>& argv, const ProcessOptions& options) {
    ProcessResult result;
    if (argv.size() < 5) {  // --help
      result.exit_code = 0;
      result.stdout_text = "      --bind_source_ip  Source IP of the interface\n";
      return result;
    }
    if (broken.count(argv[2]) > 0) {
      result.exit_code = 1;
      result.stderr_text = absl::StrCat(" IB device ", argv[2], " not found\n",
                                        " Unable to find the Infiniband/RoCE device\n");
      return result;
    }
    uint32_t port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(argv[4], &port));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
        << std::strerror(errno);
    listen(fd, 1);
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!options.cancelled() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    close(fd);
    result.cancelled = true;
    return result;
  };
}

void WaitForNoServer(BandwidthServers& servers) {
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (servers.running() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
}

TEST(ServeIbWriteBw, OneListeningServerPerDevice) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;
  runner.Script("ib_write_bw", ListeningServer({}));
  BandwidthServers servers(runner);
  absl::StatusOr<v1::BandwidthServeReply> reply =
      ServeIbWriteBw(*env, runner, "spark-002", ServeRequest(10000), servers);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->servers_size(), 2);
  EXPECT_EQ(reply->servers(0).rdma_device(), "rocep1s0f1");
  EXPECT_EQ(reply->servers(1).rdma_device(), "roceP2p1s0f1");
  EXPECT_NE(reply->servers(0).port(), reply->servers(1).port());
  for (const v1::BandwidthServer& server : reply->servers()) {
    EXPECT_EQ(server.address(), "127.0.0.1");
    EXPECT_TRUE(TcpPortListening("127.0.0.1", static_cast<uint16_t>(server.port())));
  }
  // The bind flag came from the program's own --help.
  EXPECT_THAT(runner.calls()[1], ::testing::Contains("--bind_source_ip"));
  servers.Stop();
  EXPECT_EQ(servers.running(), 0);
}

TEST(ServeIbWriteBw, ServerWhoseClientNeverComesIsKilledAtTheAcceptTimeout) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;
  runner.Script("ib_write_bw", ListeningServer({}));
  BandwidthServers servers(runner);
  absl::StatusOr<v1::BandwidthServeReply> reply =
      ServeIbWriteBw(*env, runner, "spark-002", ServeRequest(300), servers);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(servers.running(), 2);
  WaitForNoServer(servers);
  EXPECT_EQ(servers.running(), 0) << "perftest would wait for its client forever";
}

TEST(ServeIbWriteBw, AServerThatCannotStartTakesItsSiblingsDown) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;
  runner.Script("ib_write_bw", ListeningServer({"roceP2p1s0f1"}));
  BandwidthServers servers(runner);
  absl::Status status =
      ServeIbWriteBw(*env, runner, "spark-002", ServeRequest(60000), servers).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("on spark-002: ib_write_bw (roceP2p1s0f1) server on "
                                          "127.0.0.1:"));
  EXPECT_THAT(status.message(), HasSubstr("IB device roceP2p1s0f1 not found"));
  WaitForNoServer(servers);
  EXPECT_EQ(servers.running(), 0) << "rocep1s0f1's server was left waiting";
}

TEST(ServeIbWriteBw, WithoutPerftestSaysHowToInstallIt) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;
  BandwidthServers servers(runner);
  absl::Status status =
      ServeIbWriteBw(*env, runner, "spark-002", ServeRequest(1000), servers).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("ib_write_bw (perftest) is not installed on spark-002"));
}

// The real code path against the perftest contract double, on loopback.
class IbWriteBwWithDouble : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = NewPosixProcessRunner({std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"});
    if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3 (the double's)";
    // -D 5 takes a quarter of a second.
    setenv("FAKE_IB_WRITE_BW_TIME_SCALE", "0.05", 1);
    env_ = NewRootedEnv(SparkFixture());
  }
  void TearDown() override { unsetenv("FAKE_IB_WRITE_BW_TIME_SCALE"); }
  std::unique_ptr<ProcessRunner> runner_;
  std::unique_ptr<Env> env_;
};

TEST_F(IbWriteBwWithDouble, BothHalvesOfTheSparkPortAddUpToAbout190Gbps) {
  BandwidthServers servers(*runner_);
  absl::StatusOr<v1::BandwidthServeReply> served =
      ServeIbWriteBw(*env_, *runner_, "spark-002", ServeRequest(60000), servers);
  ASSERT_TRUE(served.ok()) << served.status();
  v1::BandwidthTestRequest request;
  request.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  *request.mutable_servers() = served->servers();
  request.add_rdma_devices("rocep1s0f1");
  request.add_rdma_devices("roceP2p1s0f1");
  request.set_bind_address("127.0.0.1");
  absl::StatusOr<v1::BandwidthResult> result =
      TestIbWriteBw(*env_, *runner_, "spark-001", request, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NEAR(result->received_bps() / 1e9, 92.61 + 97.33, 0.01);
  ASSERT_EQ(result->lanes_size(), 2);
  EXPECT_NEAR(result->lanes(1).bandwidth_bps() / 1e9, 97.33, 0.01);
  EXPECT_EQ(result->duration_s(), 5);
  WaitForNoServer(servers);
  EXPECT_EQ(servers.running(), 0) << "a server serves one client and exits";
}

TEST_F(IbWriteBwWithDouble, ClientToNobodySaysPerftestsReason) {
  v1::BandwidthTestRequest request;
  request.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  v1::BandwidthServer* server = request.add_servers();
  server->set_address("127.0.0.1");
  server->set_port(9);  // discard: nobody listens
  request.add_rdma_devices("rocep1s0f1");
  absl::Status status = TestIbWriteBw(*env_, *runner_, "spark-001", request, nullptr).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("Couldn't connect to 127.0.0.1:9"));
}

}  // namespace
}  // namespace sparkfleet
