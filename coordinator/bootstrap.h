// First install over SSH: puts spark-agent, its certificate and key, the cluster CA,
// agent.yaml and the systemd unit on nodes that have no agent yet, starts the service
// and waits until the agent's health check says SERVING. The one place the coordinator
// uses SSH; everything after it goes through the agents' gRPC API.
//
// Per node, in parallel (at most `parallel` nodes at once), every program started as an
// argv vector through the ProcessRunner (so a test puts doubles of ssh and scp first):
//   connect  ssh: `id -u`, to learn whether the user is root, and `uname -m`: the agent
//            (and worker) must be built for the node's machine (ELF header)
//   sudo     ssh: `sudo -n true` when not root (passwordless sudo is required)
//   compare  ssh: `sha256sum` of the installed files and `systemctl show` of the unit
//   stage    ssh: `mktemp -d`, a private directory in the node's /tmp
//   copy     scp: the files that differ, into that directory
//   install  ssh: `install -D -m MODE` of each into its place (key 0600), then `rm -rf` of
//            the directory (also after a failed install)
//   systemd  ssh: `systemctl daemon-reload` when the unit changed, `enable --now` when
//            the agent is not running or not enabled, `restart` when it ran and changed
//   health   grpc.health.v1 over mTLS until SERVING or the deadline
// A node whose files and service are already as wanted is "ok" (nothing copied), one
// that got anything new "changed", and one where a step failed "failed", with the step
// and the last line ssh (or the program) wrote to stderr. `check` stops after compare.
//
// Every remote word goes through RemoteWord() (bootstrap_ssh.h): the node's shell reads
// them. Files on the admin box are read through `local` (an Env).
#ifndef SPARKFLEET_COORDINATOR_BOOTSTRAP_H_
#define SPARKFLEET_COORDINATOR_BOOTSTRAP_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "coordinator/bootstrap_health.h"
#include "coordinator/bootstrap_ssh.h"

namespace sparkfleet {

// Where bootstrap puts things on a node.
inline constexpr absl::string_view kNodeAgentPath = "/usr/local/bin/spark-agent";
inline constexpr absl::string_view kNodeWorkerPath = "/usr/local/bin/spark-nccl-worker";
inline constexpr absl::string_view kNodeConfigDir = "/etc/sparkfleet";
inline constexpr absl::string_view kNodeUnitPath = "/etc/systemd/system/spark-agent.service";
inline constexpr absl::string_view kAgentUnitName = "spark-agent.service";

// deploy/spark-agent.service as built into sparkctl (its ExecStart is kNodeAgentPath).
absl::string_view SparkAgentUnit();

// What bootstrap installs, as paths on the admin box (read through the Env).
struct BootstrapSources {
  std::string agent_binary;  // spark-agent built for the nodes' architecture
  std::string nccl_worker;   // spark-nccl-worker; empty: not installed
  // The cluster CA's directory (`sparkctl pki`): ca.crt, and NODE.crt / NODE.key for
  // every node, named by its hostname.
  std::string pki_dir;
  std::string unit_text;  // spark-agent.service
  // An existing, empty, private (0700) directory for the files made for each node
  // (agent.yaml); the caller removes it afterwards.
  std::string staging_dir;
};

struct BootstrapOptions {
  SshConnection ssh;   // key_path and known_hosts_path as the Env sees them
  bool check = false;  // compare only: report what would change, change nothing
  int parallel = 16;   // nodes in progress at once
  absl::Duration command_timeout = absl::Seconds(120);  // each ssh command
  absl::Duration copy_timeout = absl::Seconds(600);     // the scp of a node's files
  absl::Duration health_timeout = absl::Seconds(60);    // until SERVING
  absl::Duration health_interval = absl::Milliseconds(500);
};

enum class BootstrapState { kOk, kChanged, kFailed };

struct BootstrapNodeResult {
  std::string node;
  BootstrapState state = BootstrapState::kFailed;
  std::string failed_step;  // "connect", "sudo", ... (see above); empty unless failed
  absl::Status error;       // why it failed
  std::vector<std::string> changed_files;    // node paths replaced (or that would be)
  std::vector<std::string> service_actions;  // "daemon-reload", "enable --now", "restart"
  absl::Duration duration;
};

// agent.yaml for `node`: listens on all addresses at node.port, the certificate, key and
// CA under kNodeConfigDir, node_name = node.hostname.
std::string RenderBootstrapAgentYaml(const ClusterNode& node);

// Checks what every node shares before any node is contacted: the agent binary (and
// worker) and ca.crt are readable files, the ssh key and known hosts paths usable.
// INVALID_ARGUMENT / NOT_FOUND naming the file and what to do.
absl::Status CheckBootstrapSources(const BootstrapSources& sources, const BootstrapOptions& options,
                                   Env& local);

// Bootstraps `nodes`; one result per node, in order. Never all or nothing.
// REQUIRES: CheckBootstrapSources() returned OK.
std::vector<BootstrapNodeResult> BootstrapNodes(const std::vector<ClusterNode>& nodes,
                                                const BootstrapSources& sources,
                                                const BootstrapOptions& options, Env& local,
                                                ProcessRunner& runner,
                                                const AgentHealthCheck& health);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_BOOTSTRAP_H_
