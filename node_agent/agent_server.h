// AgentServer owns spark-agent's gRPC server: the NodeAgent service, the standard
// health service and server reflection, on one listening address, with mTLS (or, only
// on a loopback address, --insecure).
#ifndef SPARKFLEET_NODE_AGENT_AGENT_SERVER_H_
#define SPARKFLEET_NODE_AGENT_AGENT_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "common/tls.h"

namespace sparkfleet {

class NodeAgentService;

struct AgentServerOptions {
  std::string listen = "0.0.0.0:50151";  // HOST:PORT; port 0 picks a free one
  bool insecure = false;                 // plaintext, only on a loopback address
  TlsFiles tls;                          // required unless insecure
  std::string root = "/";                // the Env root
  std::string node_name;                 // defaults to the node's hostname
  std::vector<std::string> tool_path;    // searched first for every program run
  std::string nccl_worker;               // spark-nccl-worker; empty: next to spark-agent
  // Replaces the default search for libnccl.so.2 and libcuda.so.1 when not empty.
  std::vector<std::string> nccl_search_path;
  int max_concurrent_calls = 256;  // past this, RESOURCE_EXHAUSTED
};

class AgentServer {
 public:
  // Validates the options, builds the server and starts listening. Fails with
  // INVALID_ARGUMENT for --insecure on a non-loopback address or missing TLS files,
  // UNAVAILABLE when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<AgentServer>> Start(
      const AgentServerOptions& options);

  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;
  ~AgentServer();

  int port() const { return port_; }
  const std::string& node_name() const { return node_name_; }

  // Stops accepting calls and cancels those still running after `grace`.
  void Shutdown(absl::Duration grace);

 private:
  AgentServer() = default;

  std::unique_ptr<Env> env_;
  std::unique_ptr<ProcessRunner> runner_;
  std::unique_ptr<NodeAgentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string node_name_;
  int port_ = 0;
};

// Checks that `listen` parses as HOST:PORT and, when `insecure`, that HOST is a
// loopback address. Pure; used at start-up before anything is bound.
absl::Status ValidateListenAddress(const std::string& listen, bool insecure);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_AGENT_SERVER_H_
