// `sparkctl bootstrap`: first install of spark-agent over SSH on the nodes of
// cluster.yaml (or those of --limit), the one command that uses SSH instead of the agents'
// API (coordinator/bootstrap.h says what it does on a node).
//
//   sparkctl -c cluster.yaml bootstrap [--agent PATH] [--nccl-worker PATH|none] [--pki DIR]
//       [--known-hosts FILE] [--accept-new-host-keys] [--ssh-port N] [--check]
//       [--health-timeout S]
//
// It logs in as each node's `user` with cluster.yaml's ssh_key_path, checking host keys
// against --known-hosts (default ~/.ssh/known_hosts); --accept-new-host-keys records the
// key of a node seen for the first time instead of refusing it. Node certificates come
// from --pki (default: the directory of agent.tls.ca); sshd's port is cluster.yaml's
// ssh.port unless --ssh-port says otherwise. Global --parallel bounds the nodes
// in progress, --timeout is ssh's connect timeout. The recap reads like Ansible's: ok /
// changed / failed per node, with the failed step and its error; `--json` prints
// {"nodes":[{"node","ok","duration_ms","result":{"state","changed_files",
// "service_actions"}|"error":{"code","message","step"}}],"summary":{"ok","failed"}}.
// Exit 0 when every node is ok or changed, 2 when any failed, 1 for usage/config errors.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_BOOTSTRAP_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_BOOTSTRAP_COMMAND_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "coordinator/bootstrap.h"
#include "coordinator/commands/command.h"

namespace sparkfleet {

// The recap table, each failure with its step, each changed node's files, and the
// summary line. `check` says nothing was changed.
std::string RenderBootstrapRecap(const std::vector<BootstrapNodeResult>& results, bool check);

// The --json document (see above).
std::string BootstrapJson(const std::vector<BootstrapNodeResult>& results);

void RegisterBootstrapCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_BOOTSTRAP_COMMAND_H_
