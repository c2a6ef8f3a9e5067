// spark-agent: the sparkfleet node agent. Flags (or the same keys in agent.yaml),
// wiring, and the wait for SIGTERM; everything else lives in AgentServer.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "common/agent_config.h"
#include "common/log.h"
#include "common/process_setup.h"
#include "node_agent/agent_server.h"

namespace {

using sparkfleet::AgentServerOptions;

// Flags given on the command line win over agent.yaml.
struct Flags {
  std::string config;
  std::string port_file;
  std::optional<std::string> listen, root, tls_cert, tls_key, tls_ca, node_name;
  std::vector<std::string> tool_path;
  std::optional<std::string> nccl_worker;
  std::vector<std::string> nccl_search_path;
  std::optional<int> max_concurrent_calls;
  bool insecure = false;
  bool verbose = false;
};

absl::StatusOr<AgentServerOptions> Resolve(const Flags& flags) {
  sparkfleet::AgentConfig file;
  if (!flags.config.empty()) {
    absl::StatusOr<sparkfleet::AgentConfig> loaded = sparkfleet::LoadAgentConfig(flags.config);
    if (!loaded.ok()) return loaded.status();
    file = *loaded;
  }
  AgentServerOptions options;
  options.listen = flags.listen.value_or(file.listen);
  options.root = flags.root.value_or(file.root);
  options.tls.cert = flags.tls_cert.value_or(file.tls_cert);
  options.tls.key = flags.tls_key.value_or(file.tls_key);
  options.tls.ca = flags.tls_ca.value_or(file.tls_ca);
  options.node_name = flags.node_name.value_or(file.node_name);
  options.tool_path = flags.tool_path.empty() ? file.tool_path : flags.tool_path;
  options.nccl_worker = flags.nccl_worker.value_or(file.nccl_worker);
  options.nccl_search_path =
      flags.nccl_search_path.empty() ? file.nccl_search_path : flags.nccl_search_path;
  options.insecure = flags.insecure || file.insecure;
  options.max_concurrent_calls = flags.max_concurrent_calls.value_or(file.max_concurrent_calls);
  if (options.root.empty() || options.root.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("--root \"", options.root, "\" must be an absolute directory"));
  }
  return options;
}

// Blocks the shutdown signals in every thread (gRPC's threads inherit the mask) so that
// main can wait for them synchronously.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  sparkfleet::SetUpProcess();
  CLI::App app{"spark-agent: sparkfleet node agent (gRPC, mTLS)", "spark-agent"};
  Flags flags;
  app.add_option("--config", flags.config, "agent.yaml with the same keys as these flags");
  app.add_option("--listen", flags.listen, "HOST:PORT to serve on (default 0.0.0.0:50151)");
  app.add_option("--root", flags.root, "directory every node path is under (default /)");
  app.add_option("--tls-cert", flags.tls_cert, "server certificate (PEM)");
  app.add_option("--tls-key", flags.tls_key, "server private key (PEM)");
  app.add_option("--tls-ca", flags.tls_ca, "cluster CA that signs client certificates");
  app.add_flag("--insecure", flags.insecure, "serve without TLS; loopback addresses only");
  app.add_option("--node-name", flags.node_name, "this node's name (default: hostname)");
  app.add_option("--tool-path", flags.tool_path, "directory searched first for programs")
      ->delimiter(':');
  app.add_option("--nccl-worker", flags.nccl_worker,
                 "spark-nccl-worker to run (default: next to spark-agent, else on PATH)");
  app.add_option("--nccl-search-path", flags.nccl_search_path,
                 "directories searched for libnccl.so.2 and libcuda.so.1 instead of the "
                 "default (\"ld.so\" = the dynamic loader)")
      ->delimiter(':');
  app.add_option("--max-concurrent-calls", flags.max_concurrent_calls,
                 "calls served at once; more are answered RESOURCE_EXHAUSTED (default 256)")
      ->check(CLI::Range(1, sparkfleet::kMaxMaxConcurrentCalls));
  app.add_option("--port-file", flags.port_file,
                 "write the port actually bound here once serving (useful with port 0)");
  app.add_flag("-v,--verbose", flags.verbose, "log debug records");
  CLI11_PARSE(app, argc, argv);
  if (flags.verbose) sparkfleet::SetLogLevel(sparkfleet::LogLevel::kDebug);

  absl::StatusOr<AgentServerOptions> options = Resolve(flags);
  if (!options.ok()) {
    std::cerr << "spark-agent: " << options.status().message() << "\n";
    return 1;
  }
  sigset_t signals = BlockShutdownSignals();
  auto server = sparkfleet::AgentServer::Start(*options);
  if (!server.ok()) {
    std::cerr << "spark-agent: " << server.status().message() << "\n";
    return 1;
  }
  if (!flags.port_file.empty()) {
    std::unique_ptr<sparkfleet::Env> host = sparkfleet::NewRootedEnv("/");
    sparkfleet::WriteOptions write;
    write.backup = false;
    absl::StatusOr<std::string> written = host->WriteFileAtomic(
        sparkfleet::AbsolutePath(flags.port_file), absl::StrCat((*server)->port(), "\n"), write);
    if (!written.ok()) {
      std::cerr << "spark-agent: --port-file: " << written.status().message() << "\n";
      return 1;
    }
  }
  sd_notifyf(0, "READY=1\nSTATUS=serving on port %d", (*server)->port());

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  sparkfleet::LogInfo("received signal ", signal_number, ", shutting down");
  sd_notify(0, "STOPPING=1");
  (*server)->Shutdown(absl::Milliseconds(250));
  return 0;
}
