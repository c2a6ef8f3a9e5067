#include "node_agent/agent_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/validate.h"
#include "node_agent/service/agent_service.h"

namespace sparkfleet {
namespace {

constexpr int kMaxMessageBytes = 4 << 20;

std::string DefaultNodeName(Env& env) {
  absl::StatusOr<std::string> text = env.ReadFile("/etc/hostname");
  if (text.ok()) {
    std::string name = text->substr(0, text->find('\n'));
    if (!name.empty()) return name;
  }
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) == 0) return buf;
  return "localhost";
}

}  // namespace

absl::Status ValidateListenAddress(const std::string& listen, bool insecure) {
  absl::StatusOr<HostPort> address = ParseHostPort(listen, 50151, /*allow_port_zero=*/true);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--listen ", address.status().message()));
  }
  if (insecure && !IsLoopbackAddress(address->host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--insecure serves without TLS and is allowed only on a loopback address "
                     "(127.0.0.1 or ::1), not on \"",
                     address->host, "\"; give --tls-cert, --tls-key and --tls-ca instead"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AgentServer>> AgentServer::Start(const AgentServerOptions& options) {
  if (absl::Status s = ValidateListenAddress(options.listen, options.insecure); !s.ok()) {
    return s;
  }
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (options.insecure) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    if (options.tls.ca.empty() || options.tls.cert.empty() || options.tls.key.empty()) {
      return absl::InvalidArgumentError(
          "mTLS needs --tls-cert, --tls-key and --tls-ca (or tls_cert, tls_key and tls_ca in "
          "agent.yaml); --insecure is only for loopback tests");
    }
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> made =
        MakeServerCredentials(options.tls);
    if (!made.ok()) return made.status();
    credentials = *made;
  }

  std::unique_ptr<AgentServer> server(new AgentServer());
  server->env_ = NewRootedEnv(options.root);
  server->runner_ = NewPosixProcessRunner(options.tool_path);
  server->node_name_ =
      options.node_name.empty() ? DefaultNodeName(*server->env_) : options.node_name;
  NodeAgentService::Options service{*server->env_, *server->runner_, server->node_name_,
                                    options.insecure};
  service.nccl_worker = options.nccl_worker;
  service.nccl_search_path = options.nccl_search_path;
  service.max_concurrent_calls = options.max_concurrent_calls;
  server->service_ = std::make_unique<NodeAgentService>(std::move(service));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  absl::StatusOr<HostPort> address = ParseHostPort(options.listen, 50151, /*allow_port_zero=*/true);
  builder.AddListeningPort(FormatHostPort(address->host, address->port), credentials,
                           &server->port_);
  builder.RegisterService(server->service_.get());
  // Without this, a second agent on the same port would share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (address in use, not an address of this host, or no permission)"));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  LogInfo("spark-agent ", SPARKFLEET_VERSION, " node ", server->node_name_, " listening on ",
          FormatHostPort(address->host, static_cast<uint16_t>(server->port_)),
          options.insecure ? " (insecure, loopback only)" : " (mTLS)", ", root ", options.root);
  return server;
}

AgentServer::~AgentServer() { Shutdown(absl::ZeroDuration()); }

void AgentServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

}  // namespace sparkfleet
