// The set-up commands, each a sequence of SetupRun steps (setup_steps.h) over the nodes
// --limit selects, with the same flags: `--check` (a dry run on every node, diffs shown)
// and `--diff` (diffs shown on a real run too).
//
//   sparkctl single-node  SSH access to each node: the cluster key (ssh_key_path, made
//                         with ssh-keygen when missing) authorized for the node's user,
//                         and the sshd hardening drop-in. Node users' keys that already
//                         exist stay trusted (KEYS is a read-only GenerateSshKey here).
//   sparkctl multi-node   node <-> node trust (each user's key made, every key authorized
//                         everywhere, every host key in known_hosts), /etc/hosts, the
//                         direct link when cluster.yaml has `link`, NFS when it has `nfs`.
//   sparkctl ssh          the SSH trust part of multi-node only.
//   sparkctl hosts        /etc/hosts only.
//   sparkctl link         the direct link only (cluster.yaml must have `link`).
//   sparkctl nfs          NFS only (cluster.yaml must have `nfs`).
//
// A node that fails a step is not sent the later ones. The recap has one column per
// step (ok / changed / failed / unreachable / skipped) and a summary; `--json` prints
// RecapJson. Exit 0 when no node failed, 2 when one did, 1 for usage or config errors
// and when the cluster key cannot be made. A second run reports nothing changed.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_SETUP_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_SETUP_COMMAND_H_

#include "CLI/CLI.hpp"
#include "coordinator/commands/command.h"

namespace sparkfleet {

void RegisterSetupCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_SETUP_COMMAND_H_
