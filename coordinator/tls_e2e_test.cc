// mTLS end to end: certificates from coordinator/pki, credentials from common/tls, the
// caller's role from common/roles, over a real gRPC server on 127.0.0.1.
#include <gmock/gmock.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "common/roles.h"
#include "common/tls.h"
#include "coordinator/pki.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

constexpr char kGetInfo[] = "/sparkfleet.v1.NodeAgent/GetInfo";
constexpr char kConfigureSsh[] = "/sparkfleet.v1.NodeAgent/ConfigureSsh";

// Answers every method the way the agent will: role from the certificate, then the
// allow-list, then the call. The role and identity it saw go back in trailing metadata.
class AuthorizingReactor final : public grpc::ServerGenericBidiReactor {
 public:
  AuthorizingReactor(grpc::GenericCallbackServerContext* context, std::atomic<int>* calls)
      : context_(context) {
    calls->fetch_add(1);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "no request"));
    const grpc::AuthContext& auth = *context_->auth_context();
    Role role = RoleOfPeer(auth);
    context_->AddTrailingMetadata("x-role", std::string(RoleName(role)));
    context_->AddTrailingMetadata("x-peer", PeerIdentity(auth));
    absl::Status allowed = NodeAgentPolicy().Authorize(role, context_->method());
    if (!allowed.ok()) return Finish(ToGrpcStatus(allowed));
    grpc::Slice slice(std::string("ok"));
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  grpc::GenericCallbackServerContext* const context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class AuthorizingService final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new AuthorizingReactor(context, &calls_);
  }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
};

struct CallResult {
  grpc::Status status;
  std::string role;  // as the server saw it
  std::string peer;
};

class TlsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/tls_e2e.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    pki_ = root_ + "/pki";
    other_ = root_ + "/other";
    ASSERT_TRUE(InitCa(pki_).ok());
    ASSERT_TRUE(IssueNodeCertificate(pki_, "spark-001", {"127.0.0.1"}).ok());
    ASSERT_TRUE(IssueClientCertificate(pki_, "admin", Role::kAdmin).ok());
    ASSERT_TRUE(IssueClientCertificate(pki_, "reader", Role::kReader).ok());
    ASSERT_TRUE(InitCa(other_).ok());
    ASSERT_TRUE(IssueClientCertificate(other_, "intruder", Role::kAdmin).ok());

    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(Files(pki_, "spark-001"));
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    }
    std::filesystem::remove_all(root_);
  }

  static TlsFiles Files(const std::string& dir, const std::string& name) {
    return TlsFiles{dir + "/ca.crt", CertificatePath(dir, name), PrivateKeyPath(dir, name)};
  }

  std::string Target() const { return "127.0.0.1:" + std::to_string(port_); }

  // One unary call with a deadline, as `client`'s credentials.
  CallResult Call(const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                  const std::string& method,
                  const grpc::ChannelArguments& arguments = grpc::ChannelArguments()) {
    grpc::GenericStub stub(grpc::CreateCustomChannel(Target(), credentials, arguments));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice slice(std::string("request"));
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    CallResult result;
    absl::Notification done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status status) {
                     result.status = std::move(status);
                     done.Notify();
                   });
    done.WaitForNotification();
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      if (key == "x-role") result.role.assign(value.data(), value.size());
      if (key == "x-peer") result.peer.assign(value.data(), value.size());
    }
    return result;
  }

  std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const std::string& dir,
                                                              const std::string& name) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeClientCredentials(
        TlsFiles{pki_ + "/ca.crt", CertificatePath(dir, name), PrivateKeyPath(dir, name)});
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return credentials.ok() ? *credentials : nullptr;
  }

  std::string root_, pki_, other_;
  AuthorizingService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(TlsEndToEndTest, AdminCertificateMayChangeTheNode) {
  CallResult result = Call(ClientCredentials(pki_, "admin"), kConfigureSsh);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.role, "admin");
  EXPECT_EQ(result.peer, "admin");
}

TEST_F(TlsEndToEndTest, ReaderCertificateReadsButCannotChange) {
  std::shared_ptr<grpc::ChannelCredentials> reader = ClientCredentials(pki_, "reader");
  CallResult read = Call(reader, kGetInfo);
  EXPECT_TRUE(read.status.ok()) << read.status.error_message();
  EXPECT_EQ(read.role, "reader");
  CallResult change = Call(reader, kConfigureSsh);
  EXPECT_EQ(change.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(change.status.error_message(), HasSubstr("needs the admin role"));
}

TEST_F(TlsEndToEndTest, UnknownMethodIsRefusedToAdmin) {
  CallResult result = Call(ClientCredentials(pki_, "admin"), "/sparkfleet.v1.NodeAgent/Reboot");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(result.status.error_message(), HasSubstr("not in the agent's allow-list"));
}

TEST_F(TlsEndToEndTest, NoClientCertificateFailsTheHandshake) {
  grpc::SslCredentialsOptions options;
  std::ifstream ca(pki_ + "/ca.crt");
  options.pem_root_certs.assign(std::istreambuf_iterator<char>(ca), {});
  CallResult result = Call(grpc::SslCredentials(options), kGetInfo);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.calls(), 0);
}

TEST_F(TlsEndToEndTest, CertificateFromAnotherCaFailsTheHandshake) {
  CallResult result = Call(ClientCredentials(other_, "intruder"), kGetInfo);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.calls(), 0);
}

TEST_F(TlsEndToEndTest, ClientChecksServerNameAgainstIpSanOrExpectedName) {
  std::shared_ptr<grpc::ChannelCredentials> admin = ClientCredentials(pki_, "admin");
  grpc::ChannelArguments node_name;
  SetExpectedServerName(node_name, "spark-001");
  EXPECT_TRUE(Call(admin, kGetInfo, node_name).status.ok());
  grpc::ChannelArguments wrong_name;
  SetExpectedServerName(wrong_name, "spark-002");
  EXPECT_EQ(Call(admin, kGetInfo, wrong_name).status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsEndToEndTest, CredentialErrorsNameTheFile) {
  TlsFiles files = Files(pki_, "admin");
  files.key = root_ + "/missing.key";
  absl::Status missing = MakeClientCredentials(files).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("missing.key"));

  files = Files(pki_, "admin");
  files.ca = files.key;  // a key where a certificate belongs
  absl::Status not_cert = MakeServerCredentials(files).status();
  EXPECT_EQ(not_cert.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_cert.message(), HasSubstr("admin.key is not a PEM certificate"));

  files = Files(pki_, "admin");
  files.key = PrivateKeyPath(pki_, "reader");
  absl::Status mismatch = MakeServerCredentials(files).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), HasSubstr("does not belong to certificate"));
}

}  // namespace
}  // namespace sparkfleet
