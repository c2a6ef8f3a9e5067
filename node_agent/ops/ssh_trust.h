// SSH trust between the nodes: the operations behind NodeAgent.GenerateSshKey and
// NodeAgent.ConfigureSsh.
//
// GenerateSshKey makes the cluster user's own ed25519 key (`ssh-keygen -q -t ed25519
// -N "" -C COMMENT -f ~/.ssh/id_ed25519`) when there is none, and answers with the public
// key and the node's host keys (/etc/ssh/ssh_host_*_key.pub). The coordinator hands
// every node's keys to every node's ConfigureSsh, which writes them into managed blocks
// of ~/.ssh/authorized_keys and ~/.ssh/known_hosts (lines outside the blocks are kept
// byte for byte) and, when asked, hardens sshd (sshd_hardening.h), so that node-to-node
// ssh works with StrictHostKeyChecking=yes.
//
// Files and modes: ~/.ssh 0700, authorized_keys and known_hosts 0600, id_ed25519 0600,
// id_ed25519.pub 0644, all owned by the user (uid/gid from the node's /etc/passwd, read
// through Env). The agent runs as root and the user owns ~/.ssh, so nothing there is
// followed through a symlink: a link in place of ~/.ssh or one of these files is
// refused (FAILED_PRECONDITION), never written through or chowned.
//
// Dry runs change nothing and run nothing: reports say what would be made (the private
// key's diff never shows content), and GenerateSshKey's public_key is empty when the key
// does not exist yet.
#ifndef SPARKFLEET_NODE_AGENT_OPS_SSH_TRUST_H_
#define SPARKFLEET_NODE_AGENT_OPS_SSH_TRUST_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/env.h"
#include "common/passwd.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// Whose ~/.ssh is edited.
struct SshUser {
  PasswdEntry account;
  std::string ssh_dir;  // account.home + "/.ssh"
};

// The account of `user` in the node's /etc/passwd. FAILED_PRECONDITION naming the user
// and `node_name` when it is not there, or its home directory does not exist.
[[nodiscard]] absl::StatusOr<SshUser> FindSshUser(Env& env, const std::string& user,
                                                  const std::string& node_name);

// See the file comment. An empty request.comment means "user@node_name".
// REQUIRES: ValidateGenerateSshKeyRequest(request) is OK.
[[nodiscard]] absl::StatusOr<v1::GenerateSshKeyReply> GenerateSshKey(
    Env& env, ProcessRunner& runner, const v1::GenerateSshKeyRequest& request,
    const std::string& node_name);

// See the file comment. The reply lists ~/.ssh, authorized_keys, known_hosts and, with
// harden_sshd, the drop-in. Hardening is refused (FAILED_PRECONDITION) when the user
// would be left without any authorized key, since it turns password login off. An empty
// key or host list removes that block.
// REQUIRES: ValidateConfigureSshRequest(request) is OK.
[[nodiscard]] absl::StatusOr<v1::ConfigureSshReply> ConfigureSsh(
    Env& env, ProcessRunner& runner, const v1::ConfigureSshRequest& request,
    const std::string& node_name);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_SSH_TRUST_H_
