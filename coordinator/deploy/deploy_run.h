// RunDeploy: the whole pipeline of `sparkctl deploy` and Coordinator.Deploy — single-node,
// multi-node, tailscale, nccl, validate (deploy_plan.h says which run) — each step one
// fan-out over the nodes still in the run. A node that fails a step, or whose agent does
// not answer, gets no later step ("skipped", saying why); the others go on.
//
// Events stream as they happen: one per node and task when a task's fan-out ends, one per
// node when a step ends (task empty), and last the recap (node empty). The same outcome
// comes back as a Recap for people.
//
//   DeploySettings settings;
//   settings.plan = *PlanDeploy(config, {}, {}, /*check=*/false);
//   DeployResult result = RunDeploy(session, settings, [](v1::DeployEvent e) { ... });
//   std::cout << RenderRecap(result.recap, {...});
#ifndef SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_RUN_H_
#define SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_RUN_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/cluster_session.h"
#include "coordinator/commands/nccl_command.h"
#include "coordinator/commands/tailscale_command.h"
#include "coordinator/deploy/deploy_plan.h"
#include "coordinator/recap.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

struct DeploySettings {
  std::vector<PlannedStep> plan;  // PlanDeploy's answer, every pipeline step in order
  bool check = false;             // every agent call a dry run
  bool include_diff = false;      // fill the events' diff
  // SECRET: the Tailscale auth key, when the tailscale step runs; it is redacted from
  // every event.
  std::string tailscale_key;
  TailscaleSettings tailscale;  // its `check` is ignored (this `check` wins)
  NcclSettings nccl;            // likewise
  // Polled between steps: when true, the steps left are skipped ("cancelled").
  std::function<bool()> cancelled;
};

struct DeployResult {
  Recap recap;  // one column per pipeline step, for RenderRecap
  v1::DeployRecap summary;
};

using DeployEventSink = std::function<void(v1::DeployEvent)>;

// Runs `settings.plan` on session.nodes. `emit` sees every event on the calling thread,
// the recap event last. Not thread-safe with another deploy on the same nodes (the agents
// serialize their own mutating calls).
DeployResult RunDeploy(ClusterSession& session, const DeploySettings& settings,
                       const DeployEventSink& emit);

// The settings of `request`: its plan (INVALID_ARGUMENT for unknown steps), check and
// diff, and — when the tailscale step runs — the auth key from TAILSCALE_AUTH_KEY,
// tailscale_auth_key_file or cluster.yaml. Warnings (never the key) go to `warnings`.
[[nodiscard]] absl::StatusOr<DeploySettings> DeploySettingsFor(const ClusterConfig& config,
                                                               const v1::DeployRequest& request,
                                                               std::vector<std::string>* warnings);

// The recap's per-node totals of DeployStates (and ok = no node failed or was
// unreachable), from a Recap whose columns are the pipeline's steps.
v1::DeployRecap SummarizeDeploy(const Recap& recap, absl::Duration duration);

// DEPLOY_STATE_* for a recap cell (kDisabled and kSkipped are both SKIPPED).
v1::DeployState DeployStateOf(StepState state);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_RUN_H_
