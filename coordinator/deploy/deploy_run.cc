#include "coordinator/deploy/deploy_run.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/env.h"
#include "common/grpc_status.h"
#include "coordinator/deploy/deploy_steps.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

std::string DiffsOf(const std::vector<v1::ChangeReport>& changes) {
  std::string out;
  for (const v1::ChangeReport& change : changes) {
    if (change.changed()) out += change.diff();
  }
  return out;
}

// A step's outcome on one node from its tasks: the first failure (unreachable before
// failed), else changed when any task changed, else ok. A task the node did not get
// although it was still in the step (an NFS client whose server failed) fails the step.
StepOutcome StepFromTasks(const std::vector<StepOutcome>& tasks,
                          const std::vector<std::string>& notes) {
  StepOutcome step;
  step.state = StepState::kOk;
  for (const StepOutcome& task : tasks) {
    step.duration += task.duration;
    step.changes.insert(step.changes.end(), task.changes.begin(), task.changes.end());
    StepState state = task.state;
    absl::Status error = task.error;
    if (state == StepState::kSkipped) {
      state = StepState::kFailed;
      error = absl::FailedPreconditionError(
          absl::StrCat("not run", notes.empty() ? "" : ": ", absl::StrJoin(notes, "; ")));
    }
    if (state > step.state && state != StepState::kSkipped) {
      step.state = state;
      if (state >= StepState::kFailed) {
        step.call = task.call;
        step.error = error;
      }
    }
  }
  return step;
}

class DeployDriver {
 public:
  DeployDriver(ClusterSession& session, const DeploySettings& settings, const DeployEventSink& emit)
      : session_(session), settings_(settings), emit_(emit) {
    for (const PlannedStep& planned : settings_.plan) {
      recap_.steps.push_back(absl::AsciiStrToUpper(DeployStepName(planned.step)));
    }
    for (const ClusterNode& node : session_.nodes) {
      NodeRecap& row = recap_.nodes.emplace_back();
      row.node = node.hostname;
      row.steps.resize(settings_.plan.size());
    }
    out_reason_.resize(session_.nodes.size());
  }

  DeployResult Run() {
    absl::Time start = absl::Now();
    for (size_t column = 0; column < settings_.plan.size(); ++column) RunColumn(column);
    DeployResult result;
    result.recap = recap_;
    result.summary = SummarizeDeploy(recap_, absl::Now() - start);
    v1::DeployEvent last;
    *last.mutable_recap() = result.summary;
    emit_(std::move(last));
    return result;
  }

 private:
  void RunColumn(size_t column) {
    const PlannedStep& planned = settings_.plan[column];
    const char* name = DeployStepName(planned.step);
    if (!planned.run) {
      recap_.notes.push_back(absl::StrCat(name, ": skipped: ", planned.off_reason));
      for (size_t i = 0; i < session_.nodes.size(); ++i) {
        SetStep(i, column, Skipped(StepState::kDisabled, planned.off_reason));
      }
      return;
    }
    if (settings_.cancelled && settings_.cancelled()) {
      for (size_t i = 0; i < session_.nodes.size(); ++i) {
        if (out_reason_[i].empty()) out_reason_[i] = "the deploy was cancelled";
      }
    }
    std::vector<size_t> in_run;
    std::vector<ClusterNode> nodes;
    for (size_t i = 0; i < session_.nodes.size(); ++i) {
      if (!out_reason_[i].empty()) {
        SetStep(i, column, Skipped(StepState::kSkipped, out_reason_[i]));
        continue;
      }
      in_run.push_back(i);
      nodes.push_back(session_.nodes[i]);
    }
    if (nodes.empty()) return;
    ClusterSession step_session = session_.WithNodes(std::move(nodes));
    TaskSink on_task = [this, name](const std::string& node, const StepOutcome& task) {
      Emit(node, name, task.call, task);
    };
    StepTasks tasks = RunStepOf(planned.step, step_session, on_task);
    for (const std::string& note : tasks.notes) recap_.notes.push_back(note);
    for (size_t j = 0; j < in_run.size(); ++j) {
      StepOutcome step = StepFromTasks(tasks.tasks[j], tasks.notes);
      if (step.state >= StepState::kFailed) {
        out_reason_[in_run[j]] = absl::StrCat(
            step.state == StepState::kUnreachable ? "unreachable" : "failed", " in ", name);
      }
      SetStep(in_run[j], column, std::move(step));
    }
  }

  StepTasks RunStepOf(DeployStep step, ClusterSession& session, const TaskSink& on_task) {
    switch (step) {
      case DeployStep::kSingleNode:
        return RunSetupStep(session, settings_.check, /*multi_node=*/false, on_task);
      case DeployStep::kMultiNode:
        return RunSetupStep(session, settings_.check, /*multi_node=*/true, on_task);
      case DeployStep::kTailscale: {
        TailscaleSettings tailscale = settings_.tailscale;
        tailscale.check = settings_.check;
        return RunTailscaleStep(session, tailscale, settings_.tailscale_key, on_task);
      }
      case DeployStep::kNccl: {
        NcclSettings nccl = settings_.nccl;
        nccl.check = settings_.check;
        return RunNcclStep(session, nccl, on_task);
      }
      case DeployStep::kValidate:
        return RunValidateStep(session, settings_.cancelled, on_task);
    }
    return {};
  }

  static StepOutcome Skipped(StepState state, const std::string& reason) {
    StepOutcome outcome;
    outcome.state = state;
    outcome.error = absl::CancelledError(reason);  // the reason, shown for skipped events
    return outcome;
  }

  // Records node i's outcome of the step in `column` and emits its step event.
  void SetStep(size_t i, size_t column, StepOutcome step) {
    Emit(session_.nodes[i].hostname, DeployStepName(settings_.plan[column].step), "", step);
    recap_.nodes[i].steps[column] = std::move(step);
  }

  void Emit(const std::string& node, const char* step, const std::string& task,
            const StepOutcome& outcome) {
    const std::string& secret = settings_.tailscale_key;
    v1::DeployEvent event;
    event.set_node(node);
    event.set_step(step);
    event.set_task(task);
    event.set_state(DeployStateOf(outcome.state));
    event.set_changed(std::any_of(outcome.changes.begin(), outcome.changes.end(),
                                  [](const v1::ChangeReport& c) { return c.changed(); }) ||
                      outcome.state == StepState::kChanged);
    if (settings_.include_diff) event.set_diff(RedactSecret(DiffsOf(outcome.changes), secret));
    event.set_duration_ms(absl::ToInt64Milliseconds(outcome.duration));
    if (outcome.state >= StepState::kFailed) {
      std::string where = task.empty() && !outcome.call.empty() ? outcome.call + ": " : "";
      event.set_error(RedactSecret(where + OneLineError(outcome.error), secret));
      event.set_error_code(std::string(StatusCodeName(outcome.error.code())));
    } else if (outcome.state == StepState::kSkipped || outcome.state == StepState::kDisabled) {
      event.set_error(RedactSecret(outcome.error.message(), secret));
    }
    emit_(std::move(event));
  }

  ClusterSession& session_;
  const DeploySettings& settings_;
  const DeployEventSink& emit_;
  Recap recap_;
  std::vector<std::string> out_reason_;  // by node: why it gets no later step; empty = in
};

}  // namespace

v1::DeployState DeployStateOf(StepState state) {
  switch (state) {
    case StepState::kOk:
      return v1::DEPLOY_STATE_OK;
    case StepState::kChanged:
      return v1::DEPLOY_STATE_CHANGED;
    case StepState::kFailed:
      return v1::DEPLOY_STATE_FAILED;
    case StepState::kUnreachable:
      return v1::DEPLOY_STATE_UNREACHABLE;
    case StepState::kNotRun:
    case StepState::kDisabled:
    case StepState::kSkipped:
      return v1::DEPLOY_STATE_SKIPPED;
  }
  return v1::DEPLOY_STATE_UNSPECIFIED;
}

v1::DeployRecap SummarizeDeploy(const Recap& recap, absl::Duration duration) {
  v1::DeployRecap summary;
  bool ok = true;
  for (const NodeRecap& node : recap.nodes) {
    v1::DeployRecapNode* out = summary.add_nodes();
    out->set_node(node.node);
    for (const StepOutcome& step : node.steps) {
      switch (DeployStateOf(step.state)) {
        case v1::DEPLOY_STATE_OK:
          out->set_ok(out->ok() + 1);
          break;
        case v1::DEPLOY_STATE_CHANGED:
          out->set_changed(out->changed() + 1);
          break;
        case v1::DEPLOY_STATE_FAILED:
          out->set_failed(out->failed() + 1);
          break;
        case v1::DEPLOY_STATE_UNREACHABLE:
          out->set_unreachable(out->unreachable() + 1);
          break;
        default:
          out->set_skipped(out->skipped() + 1);
          break;
      }
    }
    ok = ok && out->failed() == 0 && out->unreachable() == 0;
  }
  summary.set_ok(ok);
  summary.set_duration_ms(absl::ToInt64Milliseconds(duration));
  return summary;
}

absl::StatusOr<DeploySettings> DeploySettingsFor(const ClusterConfig& config,
                                                 const v1::DeployRequest& request,
                                                 std::vector<std::string>* warnings) {
  DeploySettings settings;
  absl::StatusOr<std::vector<PlannedStep>> plan =
      PlanDeploy(config, {request.steps().begin(), request.steps().end()},
                 {request.skip().begin(), request.skip().end()}, request.dry_run());
  if (!plan.ok()) return plan.status();
  settings.plan = *std::move(plan);
  settings.check = request.dry_run();
  settings.include_diff = request.include_diff();
  bool tailscale_runs = std::any_of(settings.plan.begin(), settings.plan.end(), [](auto& step) {
    return step.step == DeployStep::kTailscale && step.run;
  });
  if (tailscale_runs) {
    std::unique_ptr<Env> env = NewRootedEnv("/");
    absl::StatusOr<TailscaleAuthKey> key = ResolveTailscaleAuthKey(config, ProcessGetenv, *env);
    if (!key.ok()) return key.status();
    settings.tailscale_key = key->key;
    for (std::string& warning : key->warnings) warnings->push_back(std::move(warning));
  }
  return settings;
}

DeployResult RunDeploy(ClusterSession& session, const DeploySettings& settings,
                       const DeployEventSink& emit) {
  return DeployDriver(session, settings, emit).Run();
}

}  // namespace sparkfleet
