// The steps of a deploy, each one fan-out (or a few) over the nodes still in the run,
// built from the same pieces as the one-step commands (`single-node`, `multi-node`,
// `tailscale`, `nccl`, `validate`), so a deploy does exactly what they do.
//
// Every step reports its agent operations ("tasks": GenerateSshKey, ConfigureSsh, ...)
// per node as StepOutcomes (call = the task name) and hands each one to `on_task` as
// soon as its fan-out has ended, so a caller can stream them.
#ifndef SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_STEPS_H_
#define SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_STEPS_H_

#include <functional>
#include <string>
#include <vector>

#include "coordinator/cluster_session.h"
#include "coordinator/commands/nccl_command.h"
#include "coordinator/commands/tailscale_command.h"
#include "coordinator/recap.h"

namespace sparkfleet {

// What one step did: tasks[i] are the tasks of session.nodes[i], in the order they ran
// (a task a node did not get is kSkipped); notes are lines for the recap.
struct StepTasks {
  std::vector<std::vector<StepOutcome>> tasks;
  std::vector<std::string> notes;
};

// Sees each task of each node when its fan-out ends, on the calling thread.
using TaskSink = std::function<void(const std::string& node, const StepOutcome& task)>;

// single-node (`multi_node` false): the users' keys read, the cluster key authorized and
// sshd hardened; multi-node: keys made, node-to-node trust, /etc/hosts, the direct link
// (link:) and NFS (nfs:). Makes the cluster key on this machine on a real run.
StepTasks RunSetupStep(ClusterSession& session, bool check, bool multi_node,
                       const TaskSink& on_task);

// InstallTailscale and TailscaleUp with `key` (a SECRET). Records the nodes' Tailscale
// addresses beside cluster.yaml on a real run.
StepTasks RunTailscaleStep(ClusterSession& session, const TailscaleSettings& settings,
                           const std::string& key, const TaskSink& on_task);

// InstallNccl (unless nccl.install is none) and WriteNcclConf.
StepTasks RunNcclStep(ClusterSession& session, const NcclSettings& settings,
                      const TaskSink& on_task);

// Bandwidth over each link of a deploy's validation: long enough for a steady figure,
// short enough to run after every deploy (`sparkctl validate` takes 5 s per pair).
inline constexpr uint32_t kDeployBandwidthDurationS = 3;

// ping, bandwidth and (once the cluster key exists) ssh over a ring of the nodes, with
// cluster.yaml's thresholds; one task per kind of test per node, failed when a check
// the node ran failed. `cancelled` (may be empty) stops it between fan-outs.
StepTasks RunValidateStep(ClusterSession& session, const std::function<bool()>& cancelled,
                          const TaskSink& on_task);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_STEPS_H_
