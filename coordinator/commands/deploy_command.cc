#include "coordinator/commands/deploy_command.h"

#include <memory>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "coordinator/cluster_session.h"
#include "coordinator/deploy/deploy_run.h"
#include "coordinator/recap.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

struct DeployFlags {
  std::vector<std::string> steps;
  std::vector<std::string> skip;
  bool check = false;
  bool diff = false;
};

std::string StateWord(v1::DeployState state) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::DeployState_Name(state), "DEPLOY_STATE_"));
}

int RunDeployCommand(CommandContext& context, const DeployFlags& flags) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  v1::DeployRequest request;
  for (const std::string& step : flags.steps) request.add_steps(step);
  for (const std::string& step : flags.skip) request.add_skip(step);
  request.set_dry_run(flags.check);
  request.set_include_diff(flags.diff || flags.check);
  std::vector<std::string> warnings;
  absl::StatusOr<DeploySettings> settings = DeploySettingsFor(session->config, request, &warnings);
  if (!settings.ok()) return UsageError(context, settings.status());
  for (const std::string& warning : warnings) {
    *context.err << "sparkctl: warning: " << warning << "\n";
  }
  const bool json = context.globals.json;
  std::set<std::string> off_shown;
  DeployResult result = RunDeploy(*session, *settings, [&](v1::DeployEvent event) {
    std::string line =
        json ? MessageJson(event) : DeployProgressLine(event, settings->plan, &off_shown);
    if (!line.empty()) *context.out << line << "\n" << std::flush;
  });
  if (!json) {
    RecapOptions options{flags.diff || flags.check, flags.check, /*backup_column=*/false};
    *context.out << "\n"
                 << RedactSecret(RenderRecap(result.recap, options), settings->tailscale_key);
  }
  return result.summary.ok() ? kExitOk : kExitNodeFailed;
}

}  // namespace

std::string DeployProgressLine(const v1::DeployEvent& event, const std::vector<PlannedStep>& plan,
                               std::set<std::string>* off_shown) {
  if (event.node().empty() || !event.task().empty()) return "";
  for (const PlannedStep& planned : plan) {
    if (DeployStepName(planned.step) != event.step() || planned.run) continue;
    // A step that is off is off everywhere: one line, on its first node's event.
    if (!off_shown->insert(event.step()).second) return "";
    return absl::StrCat("[", event.step(), "] skipped: ", planned.off_reason);
  }
  std::string line =
      absl::StrCat("[", event.step(), "] ", event.node(), ": ", StateWord(event.state()));
  if (!event.error().empty()) absl::StrAppend(&line, ": ", event.error());
  if (event.state() == v1::DEPLOY_STATE_OK || event.state() == v1::DEPLOY_STATE_CHANGED) {
    absl::StrAppend(&line, absl::StrFormat(" (%.1f s)", event.duration_ms() / 1000.0));
  }
  return line;
}

void RegisterDeployCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<DeployFlags>();
  CLI::App* deploy = app.add_subcommand(
      "deploy",
      "the whole cluster: single-node, multi-node, tailscale, nccl, validate, with a recap");
  deploy->add_option("--steps", flags->steps, "only these steps (comma-separated), in order")
      ->delimiter(',');
  deploy->add_option("--skip", flags->skip, "leave these steps out (comma-separated)")
      ->delimiter(',');
  deploy->add_flag("--check", flags->check,
                   "dry run: show what would change, change nothing (validate is skipped)");
  deploy->add_flag("--diff", flags->diff, "show the diffs (always shown with --check)");
  deploy->callback([&context, flags] { context.exit_code = RunDeployCommand(context, *flags); });
}

}  // namespace sparkfleet
