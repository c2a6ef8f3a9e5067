// AgentConfig is /etc/sparkfleet/agent.yaml, spark-agent's settings file. Its keys are
// the agent's flags with '_' for '-'; a flag given on the command line wins over the
// file (main.cc does that merge):
//
//   listen: 0.0.0.0:50151      # HOST:PORT; port 0 picks a free port
//   root: /                    # every node path is under this directory
//   tls_cert: /etc/sparkfleet/node.crt
//   tls_key: /etc/sparkfleet/node.key
//   tls_ca: /etc/sparkfleet/ca.crt
//   insecure: false            # plaintext; the server allows it on loopback only
//   node_name: spark-001       # default: the machine's hostname
//   tool_path: [/opt/shims]    # a directory or a list, searched first for programs
//   nccl_search_path: []       # replaces the default search for libnccl.so.2/libcuda.so.1
//   nccl_worker: /usr/bin/spark-nccl-worker  # default: next to spark-agent, else PATH
//   max_concurrent_calls: 256  # calls served at once; past it RESOURCE_EXHAUSTED (1..65536)
//
// Every key is optional; an empty file gives the defaults. Errors are INVALID_ARGUMENT
// "FILE:LINE:COL: what is wrong" (1-based), like cluster.yaml's.
#ifndef SPARKFLEET_COMMON_AGENT_CONFIG_H_
#define SPARKFLEET_COMMON_AGENT_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

inline constexpr int kDefaultMaxConcurrentCalls = 256;
inline constexpr int kMaxMaxConcurrentCalls = 65536;

struct AgentConfig {
  std::string listen = "0.0.0.0:50151";  // HOST:PORT (IPv6 in brackets)
  std::string root = "/";                // absolute
  std::string tls_cert;                  // paths: absolute once resolved, or empty
  std::string tls_key;
  std::string tls_ca;
  bool insecure = false;
  std::string node_name;  // RFC 1123, or empty for the hostname
  std::vector<std::string> tool_path;
  std::vector<std::string> nccl_search_path;
  std::string nccl_worker;  // path of spark-nccl-worker; empty: next to spark-agent
  // Calls served at once; one more is answered RESOURCE_EXHAUSTED instead of queued, so
  // a burst of callers cannot grow the agent's memory without bound.
  int max_concurrent_calls = kDefaultMaxConcurrentCalls;
};

// Parses agent.yaml's text. Pure: `file_name` only prefixes messages. Relative paths
// (tls_*, root, tool_path, nccl_search_path, nccl_worker) are taken relative to `base_dir`,
// normally the file's directory; with an empty `base_dir` they stay as written.
[[nodiscard]] absl::StatusOr<AgentConfig> ParseAgentConfig(absl::string_view yaml_text,
                                                           absl::string_view file_name,
                                                           absl::string_view base_dir = "");

// Reads and parses the file at `path`; relative paths in it are relative to its
// directory. An unreadable file keeps errno's meaning:
// "/etc/sparkfleet/agent.yaml: cannot read: No such file or directory" (NOT_FOUND).
[[nodiscard]] absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_AGENT_CONFIG_H_
