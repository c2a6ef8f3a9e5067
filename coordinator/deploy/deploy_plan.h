// DeployPlan: which steps a `sparkctl deploy` (or Coordinator.Deploy) runs, in pipeline
// order, and why each step that does not run is off. Pure: reads cluster.yaml's model
// and the request, touches nothing.
//
//   absl::StatusOr<std::vector<PlannedStep>> plan =
//       PlanDeploy(config, {"multi-node", "nccl"}, {}, /*check=*/false);
#ifndef SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_PLAN_H_
#define SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cluster_config.h"

namespace sparkfleet {

// The pipeline, in the order it runs.
enum class DeployStep { kSingleNode, kMultiNode, kTailscale, kNccl, kValidate };

inline constexpr DeployStep kDeployPipeline[] = {DeployStep::kSingleNode, DeployStep::kMultiNode,
                                                 DeployStep::kTailscale, DeployStep::kNccl,
                                                 DeployStep::kValidate};

// "single-node", "multi-node", "tailscale", "nccl", "validate".
const char* DeployStepName(DeployStep step);

struct PlannedStep {
  DeployStep step;
  bool run = true;
  std::string off_reason;  // when !run: why, e.g. "enable_tailscale is false in cluster.yaml"
};

// Every step of the pipeline, in order, each either run or off with the reason: not in
// `steps` (empty = every step), in `skip`, disabled by cluster.yaml (enable_tailscale,
// enable_nccl), or validate on a check. Names may be comma-separated within an entry.
// INVALID_ARGUMENT for an unknown step name (the message lists the known ones) or when
// nothing is left to run.
[[nodiscard]] absl::StatusOr<std::vector<PlannedStep>> PlanDeploy(
    const ClusterConfig& config, const std::vector<std::string>& steps,
    const std::vector<std::string>& skip, bool check);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_DEPLOY_DEPLOY_PLAN_H_
