// SetupRun: the steps of `sparkctl single-node`, `multi-node`, `ssh`, `hosts`, `link`
// and `nfs`. Each step is one fan-out over the selected nodes that have not failed an
// earlier step (those show "skipped"); every node's outcome goes into a Recap (recap.h),
// one column per step. On a check every call is a dry run.
//
//   SetupRun run(session, /*check=*/false, {SetupStep::kKeys, SetupStep::kSsh});
//   run.CollectKeys(/*generate=*/true);
//   run.ConfigureSsh(cluster_key.public_key);
//   std::cout << RenderRecap(run.recap(), {...});
//
// What a node's files list (authorized_keys, known_hosts, /etc/hosts, NFS clients) is
// built from the whole cluster, so --limit never drops the other nodes from them. Not
// thread-safe; one run per command.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_SETUP_STEPS_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_SETUP_STEPS_H_

#include <map>
#include <string>
#include <vector>

#include "coordinator/cluster_session.h"
#include "coordinator/recap.h"

namespace sparkfleet {

enum class SetupStep { kKeys, kSsh, kHosts, kLink, kNfs };

// "KEYS", "SSH", "HOSTS", "LINK", "NFS": the recap's column titles.
const char* SetupStepTitle(SetupStep step);

class SetupRun {
 public:
  // `steps` are the columns, in the order the caller runs them.
  SetupRun(ClusterSession& session, bool check, std::vector<SetupStep> steps);
  SetupRun(const SetupRun&) = delete;
  SetupRun& operator=(const SetupRun&) = delete;

  // KEYS: GenerateSshKey on every node of the cluster, keeping each user's public key and
  // the host keys. A real call (the user's key pair is made when missing) only on the
  // selected nodes with `generate` and no check; a dry run elsewhere. Nodes not selected
  // that do not answer are noted: their keys are missing from everyone's files.
  void CollectKeys(bool generate);

  // SSH: ConfigureSsh on every selected node: the cluster key (when not empty) and every
  // collected user key authorized, every collected host key in known_hosts, and the
  // sshd hardening of cluster.yaml's `ssh` section.
  void ConfigureSsh(const std::string& cluster_public_key);

  // HOSTS: ConfigureHosts with every node's names and ip.
  void ConfigureHosts();

  // LINK: ConfigureLink with each node's own addresses. REQUIRES: link enabled.
  void ConfigureLink();

  // NFS: ConfigureNfs on the server first, then on the clients (skipped when the server
  // failed). REQUIRES: nfs enabled.
  void ConfigureNfs();

  Recap& recap() { return recap_; }
  void AddNote(std::string note) { recap_.notes.push_back(std::move(note)); }

 private:
  template <typename Request, typename Reply>
  void RunStep(SetupStep step, const char* call, const std::vector<size_t>& targets,
               absl::Duration min_timeout, const std::function<Request(size_t)>& make_request,
               const fanout_internal::StartCall<Request, Reply>& start);

  // Notes for the keys a run could not collect: selected nodes without a user key yet
  // (on a check) and `unanswered` nodes that were not selected.
  void NoteKeyGaps(const std::vector<size_t>& selected, const std::vector<std::string>& unanswered,
                   bool generate);

  // Indices into session_.nodes that are still in the run; the others get `skipped` in
  // `step`'s column.
  std::vector<size_t> Alive(SetupStep step);
  StepOutcome& Cell(size_t node, SetupStep step);

  ClusterSession& session_;
  const bool check_;
  const std::vector<SetupStep> steps_;
  Recap recap_;
  std::vector<bool> alive_;                                    // by session_.nodes index
  std::map<std::string, std::string> user_keys_;               // hostname -> key line
  std::map<std::string, std::vector<std::string>> host_keys_;  // hostname -> key lines
};

// The cluster key's public line (cluster.yaml's ssh_key_path on this machine); made on a
// real run when missing. Adds a note to `run` saying what happened to it.
absl::StatusOr<std::string> ClusterPublicKey(const ClusterConfig& config, bool check,
                                             SetupRun& run);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_SETUP_STEPS_H_
