#include "coordinator/deploy/deploy_plan.h"

#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sparkfleet {
namespace {

std::optional<DeployStep> StepNamed(absl::string_view name) {
  for (DeployStep step : kDeployPipeline) {
    if (name == DeployStepName(step)) return step;
  }
  return std::nullopt;
}

// The steps named in `entries` ("nccl", "single-node,multi-node"); `what` names the list
// in errors ("steps", "skip").
absl::StatusOr<std::set<DeployStep>> ParseSteps(const std::vector<std::string>& entries,
                                                absl::string_view what) {
  std::set<DeployStep> named;
  for (const std::string& entry : entries) {
    for (absl::string_view name : absl::StrSplit(entry, ',', absl::SkipWhitespace())) {
      std::optional<DeployStep> step = StepNamed(name);
      if (!step.has_value()) {
        std::vector<std::string> known;
        for (DeployStep s : kDeployPipeline) known.push_back(DeployStepName(s));
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": \"", name,
                         "\" is not a deploy step (steps: ", absl::StrJoin(known, ", "), ")"));
      }
      named.insert(*step);
    }
  }
  return named;
}

// Why cluster.yaml or check mode keeps `step` off; empty when it may run.
std::string ConfigOff(const ClusterConfig& config, DeployStep step, bool check) {
  switch (step) {
    case DeployStep::kTailscale:
      return config.enable_tailscale ? "" : "enable_tailscale is false in cluster.yaml";
    case DeployStep::kNccl:
      return config.enable_nccl ? "" : "enable_nccl is false in cluster.yaml";
    case DeployStep::kValidate:
      return check ? "check mode: validate runs only when a deploy changes the nodes" : "";
    case DeployStep::kSingleNode:
    case DeployStep::kMultiNode:
      return "";
  }
  return "";
}

}  // namespace

const char* DeployStepName(DeployStep step) {
  switch (step) {
    case DeployStep::kSingleNode:
      return "single-node";
    case DeployStep::kMultiNode:
      return "multi-node";
    case DeployStep::kTailscale:
      return "tailscale";
    case DeployStep::kNccl:
      return "nccl";
    case DeployStep::kValidate:
      return "validate";
  }
  return "?";
}

absl::StatusOr<std::vector<PlannedStep>> PlanDeploy(const ClusterConfig& config,
                                                    const std::vector<std::string>& steps,
                                                    const std::vector<std::string>& skip,
                                                    bool check) {
  absl::StatusOr<std::set<DeployStep>> wanted = ParseSteps(steps, "--steps");
  if (!wanted.ok()) return wanted.status();
  absl::StatusOr<std::set<DeployStep>> unwanted = ParseSteps(skip, "--skip");
  if (!unwanted.ok()) return unwanted.status();
  std::vector<PlannedStep> plan;
  bool any = false;
  for (DeployStep step : kDeployPipeline) {
    PlannedStep& planned = plan.emplace_back();
    planned.step = step;
    if (!wanted->empty() && wanted->count(step) == 0) {
      planned.off_reason = "not in --steps";
    } else if (unwanted->count(step) > 0) {
      planned.off_reason = "left out by --skip";
    } else {
      planned.off_reason = ConfigOff(config, step, check);
    }
    planned.run = planned.off_reason.empty();
    any = any || planned.run;
  }
  if (!any) {
    return absl::InvalidArgumentError(
        "nothing to deploy: every step is left out by --steps/--skip, disabled in cluster.yaml "
        "or (validate) not run in check mode");
  }
  return plan;
}

}  // namespace sparkfleet
