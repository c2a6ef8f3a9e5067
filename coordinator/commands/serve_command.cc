#include "coordinator/commands/serve_command.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/validate.h"
#include "coordinator/cluster_session.h"
#include "coordinator/coordinator_service.h"

namespace sparkfleet {
namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:50150";
  TlsFiles tls;
  bool insecure = false;
  std::string port_file;
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServeFlags& flags,
                                                                     const HostPort& address) {
  if (flags.insecure) {
    if (!IsLoopbackAddress(address.host)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--insecure is allowed only on a loopback address, not on \"", address.host, "\""));
    }
    return grpc::InsecureServerCredentials();
  }
  if (flags.tls.ca.empty() || flags.tls.cert.empty() || flags.tls.key.empty()) {
    return absl::InvalidArgumentError(
        "serve needs --tls-cert, --tls-key and --tls-ca (a server certificate from `sparkctl "
        "pki issue --node NAME`), or --insecure on a loopback address");
  }
  return MakeServerCredentials(flags.tls);
}

int RunServe(CommandContext& context, const ServeFlags& flags) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  absl::StatusOr<HostPort> address = ParseHostPort(flags.listen, 50150, /*allow_port_zero=*/true);
  if (!address.ok()) return UsageError(context, address.status());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      Credentials(flags, *address);
  if (!credentials.ok()) return UsageError(context, credentials.status());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CoordinatorService service(*session, flags.insecure);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(FormatHostPort(address->host, address->port), *credentials, &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return UsageError(context,
                      absl::UnavailableError(absl::StrCat("cannot listen on ", flags.listen)));
  }
  if (!flags.port_file.empty()) {
    std::unique_ptr<Env> host = NewRootedEnv("/");
    WriteOptions write;
    write.backup = false;
    absl::StatusOr<std::string> written =
        host->WriteFileAtomic(AbsolutePath(flags.port_file), absl::StrCat(port, "\n"), write);
    if (!written.ok()) return UsageError(context, written.status());
  }
  LogInfo("sparkctl serve: Coordinator for ", session->config.cluster_name, " (",
          session->nodes.size(), " nodes) on ", FormatHostPort(address->host, port));
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  server->Wait();
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Serve the Coordinator gRPC API");
  serve->add_option("--listen", flags->listen, "HOST:PORT (default 127.0.0.1:50150)");
  serve->add_option("--tls-cert", flags->tls.cert, "server certificate (PEM)");
  serve->add_option("--tls-key", flags->tls.key, "server private key (PEM)");
  serve->add_option("--tls-ca", flags->tls.ca, "cluster CA that signs client certificates");
  serve->add_flag("--insecure", flags->insecure, "no TLS; loopback addresses only");
  serve->add_option("--port-file", flags->port_file, "write the bound port here once serving");
  serve->callback([&context, flags] { context.exit_code = RunServe(context, *flags); });
}

}  // namespace sparkfleet
