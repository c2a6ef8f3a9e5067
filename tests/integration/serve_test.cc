// `sparkctl serve`: the Coordinator answers downstream tools over mTLS and checks their
// roles itself, so a reader can never get nodes changed through it.
#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/tls.h"
#include "coordinator/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sparkfleet/v1/coordinator.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;

class CoordinatorServe : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent("spark-001");
    ASSERT_TRUE(agent.ok()) << agent.status();
    std::string yaml = cluster_.WriteClusterYaml({*agent}, "admin");
    ASSERT_TRUE(IssueNodeCertificate(cluster_.pki(), "coordinator", {"127.0.0.1"}).ok());
    std::string port_file = cluster_.dir() + "/serve.port";
    serve_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{SPARKCTL_PATH, "-c", yaml, "serve", "--listen=127.0.0.1:0",
                                 "--tls-cert=" + cluster_.pki() + "/coordinator.crt",
                                 "--tls-key=" + cluster_.pki() + "/coordinator.key",
                                 "--tls-ca=" + cluster_.pki() + "/ca.crt",
                                 "--port-file=" + port_file},
        cluster_.dir() + "/serve.log");
    for (int i = 0; i < 2000 && port_ == 0; ++i) {
      absl::SimpleAtoi(absl::StripAsciiWhitespace(ClusterHarness::ReadFile(port_file)), &port_);
      if (port_ == 0) absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_GT(port_, 0) << ClusterHarness::ReadFile(cluster_.dir() + "/serve.log");
  }

  std::unique_ptr<v1::Coordinator::Stub> Stub(const std::string& client) {
    auto credentials = MakeClientCredentials({cluster_.pki() + "/ca.crt",
                                              absl::StrCat(cluster_.pki(), "/", client, ".crt"),
                                              absl::StrCat(cluster_.pki(), "/", client, ".key")});
    EXPECT_TRUE(credentials.ok());
    return v1::Coordinator::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), *credentials));
  }

  static void Deadline(grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  ClusterHarness cluster_;
  std::unique_ptr<ChildProcess> serve_;
  int port_ = 0;
};

TEST_F(CoordinatorServe, ReaderGetsConfigAndStatus) {
  auto stub = Stub("reader");
  grpc::ClientContext context;
  Deadline(context);
  v1::ClusterConfig config;
  ASSERT_TRUE(stub->GetClusterConfig(&context, v1::GetClusterConfigRequest(), &config).ok());
  EXPECT_EQ(config.cluster_name(), "it");
  EXPECT_EQ(config.node_count(), 1u);
  EXPECT_EQ(config.primary_node(), "spark-001");

  grpc::ClientContext status_context;
  Deadline(status_context);
  v1::StatusReply status;
  ASSERT_TRUE(stub->Status(&status_context, v1::StatusRequest(), &status).ok());
  ASSERT_EQ(status.nodes_size(), 1);
  EXPECT_TRUE(status.nodes(0).result().ok());
  EXPECT_EQ(status.nodes(0).info().hostname(), "spark-001");
  EXPECT_EQ(status.summary().ok(), 1u);
}

TEST_F(CoordinatorServe, ReaderCannotDeploy) {
  auto stub = Stub("reader");
  grpc::ClientContext context;
  Deadline(context);
  v1::DeployRequest request;
  auto reader = stub->Deploy(&context, request);
  v1::DeployEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CoordinatorServe, EndpointsAndConnectionInfoHonourLimit) {
  auto stub = Stub("reader");
  grpc::ClientContext context;
  Deadline(context);
  v1::GetEndpointsRequest request;
  request.add_limit("spark-404");
  v1::GetEndpointsReply reply;
  grpc::Status status = stub->GetEndpoints(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("spark-404"));
}

TEST_F(CoordinatorServe, ReaderValidatesAndGetsEachCheckThenTheSummary) {
  auto stub = Stub("reader");
  grpc::ClientContext context;
  Deadline(context);
  v1::ValidateRequest request;
  request.add_tests(v1::VALIDATE_TEST_GPU);
  request.add_tests(v1::VALIDATE_TEST_PING);  // one node: no pair to ping
  auto reader = stub->Validate(&context, request);
  std::vector<v1::ValidateEvent> events;
  for (v1::ValidateEvent event; reader->Read(&event);) events.push_back(event);
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[0].has_check());
  EXPECT_EQ(events[0].check().test(), v1::VALIDATE_TEST_GPU);
  EXPECT_EQ(events[0].check().source(), "spark-001");
  EXPECT_EQ(events[0].check().verdict(), v1::CHECK_VERDICT_SKIPPED);
  EXPECT_THAT(events[0].check().reason(), HasSubstr("no NVIDIA GPU on spark-001"));
  ASSERT_TRUE(events[1].has_summary());
  EXPECT_EQ(events[1].summary().skipped(), 1u);
  EXPECT_TRUE(events[1].summary().ok());
}

TEST_F(CoordinatorServe, ValidateRefusesABadRequestNamingTheField) {
  auto stub = Stub("reader");
  grpc::ClientContext context;
  Deadline(context);
  v1::ValidateRequest request;
  request.set_interface("eth0/../x");
  auto reader = stub->Validate(&context, request);
  v1::ValidateEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ValidateRequest.interface"));
}

}  // namespace
}  // namespace sparkfleet::testing
