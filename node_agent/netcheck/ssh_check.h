// SshCheck: non-interactive ssh from this node to peers as the cluster user, the way
// mpirun will log in, and the classifier of ssh's diagnostics.
//
// For each target the agent runs
//   ssh -F none -o BatchMode=yes -o ConnectTimeout=N -o StrictHostKeyChecking=yes
//       -o UserKnownHostsFile=<home>/.ssh/known_hosts
//       -o GlobalKnownHostsFile=/etc/ssh/ssh_known_hosts -o IdentitiesOnly=yes
//       -i <home>/.ssh/id_ed25519 -l REMOTE_USER -p PORT -- TARGET hostname
// with every path taken under the agent's --root (Env::HostPath), <home> the user's
// home from the root's /etc/passwd (else /root or /home/USER). `-F none` keeps the
// check independent of ssh_config files the root does not hold. When the agent runs as
// root and the cluster user is someone else, ssh runs as that user through
// `runuser -u USER --`, so the key and known_hosts are read with the user's rights as
// mpirun's ssh would; otherwise it runs as the agent's own user.
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_SSH_CHECK_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_SSH_CHECK_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// How ssh failed, from its stderr: the outcome and the line that says so (for OTHER,
// the last non-empty line). Pure.
struct SshDiagnosis {
  v1::SshCheckOutcome outcome = v1::SSH_CHECK_OUTCOME_OTHER;
  std::string detail;
};
SshDiagnosis DiagnoseSshFailure(absl::string_view stderr_text);

// The home directory of `user` in passwd(5) text; nullopt when the user is not there.
std::optional<std::string> HomeFromPasswd(absl::string_view passwd_text, absl::string_view user);

// Files ssh reads, as host paths (under the agent's root).
struct SshFiles {
  std::string identity;            // <home>/.ssh/id_ed25519
  std::string known_hosts;         // <home>/.ssh/known_hosts
  std::string global_known_hosts;  // /etc/ssh/ssh_known_hosts
};

// The argv that checks one target. `run_as` non-empty prefixes `runuser -u RUN_AS --`.
std::vector<std::string> SshArgv(const v1::SshTarget& target, const std::string& remote_user,
                                 const SshFiles& files, absl::Duration connect_timeout,
                                 const std::string& run_as);

// INVALID_ARGUMENT naming the field for a bad local user, target host (neither an IP
// address nor a host name), remote user, port over 65535, connect timeout over 120 s,
// no targets or more than 1024.
[[nodiscard]] absl::Status ValidateCheckSshRequest(const v1::CheckSshRequest& request);

class SshChecker {
 public:
  // `agent_user` is the user the agent runs as ("root" when its euid is 0).
  SshChecker(Env& env, ProcessRunner& runner, std::string agent_user);
  SshChecker(const SshChecker&) = delete;
  SshChecker& operator=(const SshChecker&) = delete;

  // Tries every target, several at once; results in request order. Never fails as a
  // whole: every way an attempt can end is an outcome. An empty request.user means the
  // agent's user.
  // REQUIRES: ValidateCheckSshRequest(request) is OK.
  v1::CheckSshReply Check(const v1::CheckSshRequest& request,
                          const std::function<bool()>& cancelled);

 private:
  std::string HomeOf(const std::string& user);

  Env& env_;
  ProcessRunner& runner_;
  const std::string agent_user_;
};

// The user this process runs as (from its euid), or "uid N" when it has no name.
std::string CurrentUserName();

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_SSH_CHECK_H_
