// spark-agent as a process: mTLS and the role allow-list, health and reflection,
// start-up refusals and SIGTERM.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/tls.h"
#include "coordinator/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<v1::NodeAgent::Stub> Stub(const AgentProcess& agent, const std::string& pki,
                                          const std::string& client) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (client.empty()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ClusterHarness::ReadFile(pki + "/ca.crt");
    credentials = grpc::SslCredentials(options);
  } else {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> made =
        MakeClientCredentials({pki + "/ca.crt", absl::StrCat(pki, "/", client, ".crt"),
                               absl::StrCat(pki, "/", client, ".key")});
    EXPECT_TRUE(made.ok()) << made.status();
    credentials = *made;
  }
  return v1::NodeAgent::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", agent.port), credentials));
}

grpc::Status GetInfo(v1::NodeAgent::Stub& stub, v1::NodeInfo* info) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return stub.GetInfo(&context, v1::GetInfoRequest(), info);
}

grpc::Status ConfigureHosts(v1::NodeAgent::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ConfigureHostsRequest request;
  request.set_dry_run(true);
  v1::ConfigureHostsReply reply;
  return stub.ConfigureHosts(&context, request, &reply);
}

class AgentAuthorization : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<AgentProcess*> started = cluster_.StartAgent("spark-001");
    ASSERT_TRUE(started.ok()) << started.status();
    agent_ = *started;
  }
  ClusterHarness cluster_;
  AgentProcess* agent_ = nullptr;
};

TEST_F(AgentAuthorization, AdminReachesEveryMethod) {
  auto stub = Stub(*agent_, cluster_.pki(), "admin");
  v1::NodeInfo info;
  ASSERT_TRUE(GetInfo(*stub, &info).ok());
  EXPECT_EQ(info.hostname(), "spark-001");
  EXPECT_EQ(info.node_name(), "spark-001");
  grpc::Status mutating = ConfigureHosts(*stub);
  // Admitted: it reaches the method (a dry run with nothing to change).
  EXPECT_TRUE(mutating.ok()) << mutating.error_message();
}

TEST_F(AgentAuthorization, ReaderReadsButCannotChange) {
  auto stub = Stub(*agent_, cluster_.pki(), "reader");
  v1::NodeInfo info;
  EXPECT_TRUE(GetInfo(*stub, &info).ok());
  grpc::Status mutating = ConfigureHosts(*stub);
  EXPECT_EQ(mutating.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(mutating.error_message(), HasSubstr("ConfigureHosts"));
  std::string log = ClusterHarness::ReadFile(agent_->log_path);
  EXPECT_THAT(log, HasSubstr("refused /sparkfleet.v1.NodeAgent/ConfigureHosts"));
  EXPECT_THAT(log, HasSubstr("reader"));
}

TEST_F(AgentAuthorization, NoClientCertificateFailsTheHandshake) {
  auto stub = Stub(*agent_, cluster_.pki(), "");
  v1::NodeInfo info;
  EXPECT_EQ(GetInfo(*stub, &info).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AgentAuthorization, CertificateFromAnotherCaFailsTheHandshake) {
  TempDir other;
  ASSERT_TRUE(InitCa(other.path()).ok());
  ASSERT_TRUE(IssueClientCertificate(other.path(), "admin", Role::kAdmin).ok());
  // Trust our CA for the server, but present a client certificate of another CA.
  std::filesystem::copy_file(cluster_.pki() + "/ca.crt", other.path() + "/ca.crt",
                             std::filesystem::copy_options::overwrite_existing);
  auto stub = Stub(*agent_, other.path(), "admin");
  v1::NodeInfo info;
  EXPECT_EQ(GetInfo(*stub, &info).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AgentAuthorization, HealthServiceAnswersServing) {
  auto credentials = MakeClientCredentials(
      {cluster_.pki() + "/ca.crt", cluster_.pki() + "/reader.crt", cluster_.pki() + "/reader.key"});
  ASSERT_TRUE(credentials.ok());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", agent_->port), *credentials);
  grpc::GenericStub generic(channel);
  // grpc.health.v1.HealthCheckRequest{service=""} is an empty message.
  grpc::ByteBuffer request;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status: SERVING (1)} is field 1, varint 1: 0x08 0x01.
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST(AgentStartup, InsecureOnANonLoopbackAddressIsRefused) {
  TempDir dir;
  testing::ChildProcess agent(
      {SPARK_AGENT_PATH, "--insecure", "--listen=0.0.0.0:0", "--root=" + dir.path()},
      dir.path() + "/log");
  std::optional<int> status = agent.WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_THAT(ClusterHarness::ReadFile(dir.path() + "/log"),
              HasSubstr("--insecure serves without TLS and is allowed only on a loopback"));
}

TEST(AgentStartup, MissingTlsFilesAreRefusedWithWhatToDo) {
  TempDir dir;
  testing::ChildProcess agent({SPARK_AGENT_PATH, "--listen=127.0.0.1:0", "--root=" + dir.path()},
                              dir.path() + "/log");
  std::optional<int> status = agent.WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_THAT(ClusterHarness::ReadFile(dir.path() + "/log"), HasSubstr("--tls-cert"));
}

TEST(AgentStartup, SigtermStopsTheAgentWithinOneSecond) {
  ClusterHarness cluster;
  absl::StatusOr<AgentProcess*> agent = cluster.StartAgent("spark-001");
  ASSERT_TRUE(agent.ok()) << agent.status();
  // A call in flight must not hold the shutdown up.
  auto stub = Stub(**agent, cluster.pki(), "admin");
  v1::NodeInfo info;
  ASSERT_TRUE(GetInfo(*stub, &info).ok());
  absl::Time start = absl::Now();
  (*agent)->process->Signal(SIGTERM);
  std::optional<int> status = (*agent)->process->WaitExit(absl::Seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(AgentStartup, InsecureOnLoopbackServes) {
  ClusterHarness cluster;
  TempDir root;
  std::string port_file = root.path() + "/port";
  testing::ChildProcess agent(
      {SPARK_AGENT_PATH, "--insecure", "--listen=127.0.0.1:0", "--root=" + root.path(),
       "--node-name=lo-node", "--port-file=" + port_file},
      root.path() + "/log");
  int port = 0;
  for (int i = 0; i < 2000 && port == 0; ++i) {
    absl::SimpleAtoi(absl::StripAsciiWhitespace(ClusterHarness::ReadFile(port_file)), &port);
    if (port == 0) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(port, 0);
  auto stub = v1::NodeAgent::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  v1::NodeInfo info;
  ASSERT_TRUE(GetInfo(*stub, &info).ok());
  EXPECT_EQ(info.node_name(), "lo-node");
}

}  // namespace
}  // namespace sparkfleet::testing
