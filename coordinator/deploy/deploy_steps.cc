#include "coordinator/deploy/deploy_steps.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/bandwidth_record.h"
#include "coordinator/commands/setup_steps.h"
#include "coordinator/tailscale_record.h"
#include "coordinator/validate/validation_input.h"
#include "coordinator/validate/validation_run.h"
#include "coordinator/validate/verdict.h"

namespace sparkfleet {
namespace {

const char* TaskOf(SetupStep step) {
  switch (step) {
    case SetupStep::kKeys:
      return "GenerateSshKey";
    case SetupStep::kSsh:
      return "ConfigureSsh";
    case SetupStep::kHosts:
      return "ConfigureHosts";
    case SetupStep::kLink:
      return "ConfigureLink";
    case SetupStep::kNfs:
      return "ConfigureNfs";
  }
  return "?";
}

// A long-running install is allowed to time out without the node being "unreachable".
StepOutcome InstallOutcome(const std::string& task, const absl::Status& status, bool changed) {
  StepOutcome outcome = OutcomeOf(task, status, {}, /*unreachable=*/absl::IsUnavailable(status));
  if (outcome.state == StepState::kOk && changed) outcome.state = StepState::kChanged;
  return outcome;
}

StepTasks EmptyTasks(const ClusterSession& session) {
  StepTasks tasks;
  tasks.tasks.resize(session.nodes.size());
  return tasks;
}

// Hands over the tasks of every node, in order, once the step's fan-outs are done.
void Report(const ClusterSession& session, const StepTasks& tasks, const TaskSink& on_task) {
  for (size_t i = 0; i < tasks.tasks.size(); ++i) {
    for (const StepOutcome& task : tasks.tasks[i]) on_task(session.nodes[i].hostname, task);
  }
}

// The column of `step` in `run`'s recap, named after its task, to every node's tasks.
void TakeColumn(SetupRun& run, size_t column, SetupStep step, const ClusterSession& session,
                StepTasks& tasks, const TaskSink& on_task) {
  std::vector<NodeRecap>& rows = run.recap().nodes;
  for (size_t i = 0; i < rows.size(); ++i) {
    StepOutcome task = rows[i].steps[column];
    if (task.state == StepState::kNotRun) continue;
    task.call = TaskOf(step);
    on_task(session.nodes[i].hostname, task);
    tasks.tasks[i].push_back(std::move(task));
  }
}

std::vector<SetupStep> SetupStepsOf(const ClusterConfig& config, bool multi_node) {
  if (!multi_node) return {SetupStep::kKeys, SetupStep::kSsh};
  std::vector<SetupStep> steps = {SetupStep::kKeys, SetupStep::kSsh, SetupStep::kHosts};
  if (config.link.enabled) steps.push_back(SetupStep::kLink);
  if (config.nfs.enabled) steps.push_back(SetupStep::kNfs);
  return steps;
}

}  // namespace

StepTasks RunSetupStep(ClusterSession& session, bool check, bool multi_node,
                       const TaskSink& on_task) {
  std::vector<SetupStep> steps = SetupStepsOf(session.config, multi_node);
  SetupRun run(session, check, steps);
  StepTasks tasks = EmptyTasks(session);
  for (size_t column = 0; column < steps.size(); ++column) {
    switch (steps[column]) {
      case SetupStep::kKeys:
        run.CollectKeys(/*generate=*/multi_node);
        break;
      case SetupStep::kSsh: {
        absl::StatusOr<std::string> key = ClusterPublicKey(session.config, check, run);
        if (!key.ok()) {  // the admin box's key: no node can go on
          for (NodeRecap& row : run.recap().nodes) {
            if (row.steps[0].state <= StepState::kChanged) {
              row.steps[column] = OutcomeOf("ClusterKey", key.status(), {});
            }
          }
          TakeColumn(run, column, steps[column], session, tasks, on_task);
          tasks.notes = run.recap().notes;
          return tasks;
        }
        run.ConfigureSsh(*key);
        break;
      }
      case SetupStep::kHosts:
        run.ConfigureHosts();
        break;
      case SetupStep::kLink:
        run.ConfigureLink();
        break;
      case SetupStep::kNfs:
        run.ConfigureNfs();
        break;
    }
    TakeColumn(run, column, steps[column], session, tasks, on_task);
  }
  tasks.notes = run.recap().notes;
  return tasks;
}

StepTasks RunTailscaleStep(ClusterSession& session, const TailscaleSettings& settings,
                           const std::string& key, const TaskSink& on_task) {
  std::vector<TailscaleNodeOutcome> outcomes = RunTailscaleSetup(session, settings, key);
  StepTasks tasks = EmptyTasks(session);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const TailscaleNodeOutcome& o = outcomes[i];
    tasks.tasks[i].push_back(InstallOutcome("InstallTailscale", o.install, o.install_changed));
    if (!o.up.has_value()) continue;
    StepOutcome up = OutcomeOf("TailscaleUp", o.up->status,
                               {o.up->reply.changes().begin(), o.up->reply.changes().end()});
    up.duration = o.up->duration;
    if (up.state == StepState::kOk && o.up->reply.ran_up()) up.state = StepState::kChanged;
    tasks.tasks[i].push_back(std::move(up));
  }
  TailscaleAddresses learnt = LearntAddresses(outcomes, settings.check);
  if (!learnt.empty()) {
    absl::Status saved = SaveTailscaleAddresses(session.config_path, session.config, learnt);
    if (!saved.ok()) tasks.notes.push_back(absl::StrCat("warning: ", saved.message()));
  }
  Report(session, tasks, on_task);
  return tasks;
}

StepTasks RunNcclStep(ClusterSession& session, const NcclSettings& settings,
                      const TaskSink& on_task) {
  std::vector<NcclNodeOutcome> outcomes = RunNcclSetup(session, settings);
  StepTasks tasks = EmptyTasks(session);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const NcclNodeOutcome& o = outcomes[i];
    if (o.install.has_value()) {
      tasks.tasks[i].push_back(InstallOutcome("InstallNccl", *o.install, o.install_changed));
    }
    if (!o.conf.has_value()) continue;
    StepOutcome conf = OutcomeOf("WriteNcclConf", o.conf->status,
                                 {o.conf->reply.changes().begin(), o.conf->reply.changes().end()});
    conf.duration = o.conf->duration;
    tasks.tasks[i].push_back(std::move(conf));
  }
  Report(session, tasks, on_task);
  return tasks;
}

StepTasks RunValidateStep(ClusterSession& session, const std::function<bool()>& cancelled,
                          const TaskSink& on_task) {
  ValidationSetup setup;
  setup.nodes = session.nodes;
  setup.request.set_pairs(v1::PAIR_SELECTION_RING);
  setup.request.set_bandwidth_duration_s(kDeployBandwidthDurationS);
  setup.thresholds = MergeThresholds(session.config.validation, v1::ValidateThresholds(),
                                     ClusterSshKeyExists(session.config));
  setup.timeout = session.fanout.timeout;
  setup.parallel = session.fanout.parallel;
  setup.seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  setup.cancelled = cancelled;
  ValidationReport report = RunValidation(*session.channels, setup, nullptr);
  StepTasks tasks = EmptyTasks(session);
  if (absl::Status saved = SaveBandwidthRecord(session.config_path, report.checks); !saved.ok()) {
    tasks.notes.push_back(absl::StrCat("warning: ", saved.message()));
  }

  // Each check belongs to the node that ran it: per node and kind of test, the failures.
  for (size_t i = 0; i < session.nodes.size(); ++i) {
    for (v1::ValidateTest test : report.tests) {
      StepOutcome task;
      task.call = TestName(test);
      std::vector<std::string> failures;
      for (const v1::CheckResult& check : report.checks) {
        if (check.test() != test || check.source() != session.nodes[i].hostname) continue;
        task.duration += absl::Milliseconds(check.duration_ms());
        if (check.verdict() != v1::CHECK_VERDICT_FAIL) continue;
        failures.push_back(check.target().empty()
                               ? check.reason()
                               : absl::StrCat("to ", check.target(), ": ", check.reason()));
      }
      task.state = failures.empty() ? StepState::kOk : StepState::kFailed;
      if (!failures.empty()) {
        task.error = absl::FailedPreconditionError(absl::StrJoin(failures, "; "));
      }
      tasks.tasks[i].push_back(std::move(task));
    }
  }
  if (report.summary.failed() > 0) {
    tasks.notes.push_back("validate: `sparkctl validate` shows every check with its figures");
  }
  Report(session, tasks, on_task);
  return tasks;
}

}  // namespace sparkfleet
