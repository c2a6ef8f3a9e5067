#include "coordinator/commands/nccl_command.h"

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "coordinator/cluster_session.h"
#include "coordinator/recap.h"
#include "coordinator/render.h"
#include "coordinator/stream_fanout.h"

namespace sparkfleet {
namespace {

struct NcclFlags {
  NcclSettings settings;
  bool diff = false;
};

v1::NcclInstallMethod InstallMethod(NcclInstall install) {
  return install == NcclInstall::kSource ? v1::NCCL_INSTALL_METHOD_SOURCE
                                         : v1::NCCL_INSTALL_METHOD_APT;
}

// InstallNccl on every node; fills each outcome's install fields.
void RunInstall(ClusterSession& session, const NcclSettings& settings,
                std::vector<NcclNodeOutcome>* outcomes) {
  const NcclConfig& nccl = session.config.nccl;
  v1::InstallNcclRequest request;
  request.set_dry_run(settings.check);
  request.set_method(InstallMethod(nccl.install));
  request.set_version(nccl.version);
  request.set_source_tag(nccl.source_tag);
  FanOutOptions options = session.fanout;
  options.timeout = absl::Seconds(settings.install_timeout_s);
  options.progress_label = "nccl install";
  auto results = FanOutStream<v1::InstallNcclRequest, v1::InstallNcclEvent>(
      *session.channels, session.nodes, options, [&request](const ClusterNode&) { return request; },
      [](auto* async, auto* context, auto* req, auto* reactor) {
        async->InstallNccl(context, req, reactor);
      });
  for (size_t i = 0; i < results.size(); ++i) {
    NcclNodeOutcome& outcome = (*outcomes)[i];
    outcome.install = results[i].status;
    const std::vector<v1::InstallNcclEvent>& events = results[i].reply;
    bool has_result = !events.empty() && events.back().has_result();
    if (results[i].status.ok() && !has_result) {
      outcome.install = absl::InternalError("the install stream ended without a result");
    }
    outcome.install_changed = has_result && events.back().result().installed_now();
  }
}

// WriteNcclConf on every node whose install did not fail.
void RunWriteConf(ClusterSession& session, const NcclSettings& settings,
                  std::vector<NcclNodeOutcome>* outcomes) {
  std::vector<ClusterNode> nodes;
  std::vector<size_t> index;
  for (size_t i = 0; i < session.nodes.size(); ++i) {
    if ((*outcomes)[i].install.has_value() && !(*outcomes)[i].install->ok()) continue;
    nodes.push_back(session.nodes[i]);
    index.push_back(i);
  }
  const NcclConfig& nccl = session.config.nccl;
  FanOutOptions options = session.fanout;
  options.progress_label = "nccl.conf";
  auto results = FanOut<v1::WriteNcclConfRequest, v1::WriteNcclConfReply>(
      *session.channels, nodes, options,
      [&](const ClusterNode& node) {
        v1::WriteNcclConfRequest request;
        request.set_dry_run(settings.check);
        request.set_conf_path(nccl.ConfPath());
        request.set_cluster_address(node.ip);
        for (const auto& [key, value] : nccl.EnvFor(node.hostname)) {
          (*request.mutable_env())[key] = value;
        }
        return request;
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->WriteNcclConf(context, request, reply, std::move(done));
      });
  for (size_t j = 0; j < results.size(); ++j) (*outcomes)[index[j]].conf = std::move(results[j]);
}

// The WriteNcclConf fan-out, with install failures standing in for skipped nodes.
std::string OutcomesJson(const std::vector<NcclNodeOutcome>& outcomes) {
  std::vector<NodeResult<v1::WriteNcclConfReply>> results;
  for (const NcclNodeOutcome& outcome : outcomes) {
    if (outcome.conf.has_value()) {
      results.push_back(*outcome.conf);
      continue;
    }
    NodeResult<v1::WriteNcclConfReply> skipped;
    skipped.node = outcome.node;
    skipped.status = absl::Status(outcome.install->code(),
                                  absl::StrCat("InstallNccl: ", outcome.install->message()));
    results.push_back(std::move(skipped));
  }
  return FanOutJson(results);
}

int RunNccl(CommandContext& context, const NcclFlags& flags) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  const bool check = flags.settings.check;
  std::vector<NcclNodeOutcome> outcomes = RunNcclSetup(*session, flags.settings);
  if (context.globals.json) {
    *context.out << OutcomesJson(outcomes);
  } else {
    *context.out << RenderNcclRecap(outcomes, flags.diff || check, check);
  }
  for (const NcclNodeOutcome& outcome : outcomes) {
    if (NcclFailed(outcome)) return kExitNodeFailed;
  }
  return kExitOk;
}

int RunNcclConf(CommandContext& context) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  const NcclConfig& nccl = session->config.nccl;
  FanOutOptions options = session->fanout;
  options.progress_label = "nccl-conf";
  auto results = FanOut<v1::ReadNcclConfRequest, v1::ReadNcclConfReply>(
      *session->channels, session->nodes, options,
      [&](const ClusterNode& node) {
        v1::ReadNcclConfRequest request;
        request.set_user(node.user);
        request.set_conf_path(nccl.ConfPath());
        return request;
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->ReadNcclConf(context, request, reply, std::move(done));
      });
  if (context.globals.json) {
    *context.out << FanOutJson(results);
  } else {
    for (const auto& result : results) *context.out << RenderNcclConfReport(result) << "\n";
  }
  return FanOutExitCode(results);
}

std::string ProblemKind(v1::NcclConfProblemKind kind) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(v1::NcclConfProblemKind_Name(kind), "NCCL_CONF_PROBLEM_KIND_"));
}

}  // namespace

std::vector<NcclNodeOutcome> RunNcclSetup(ClusterSession& session, const NcclSettings& settings) {
  std::vector<NcclNodeOutcome> outcomes(session.nodes.size());
  for (size_t i = 0; i < outcomes.size(); ++i) outcomes[i].node = session.nodes[i].hostname;
  if (session.config.nccl.install != NcclInstall::kNone) RunInstall(session, settings, &outcomes);
  RunWriteConf(session, settings, &outcomes);
  return outcomes;
}

bool NcclFailed(const NcclNodeOutcome& outcome) {
  if (outcome.install.has_value() && !outcome.install->ok()) return true;
  return !outcome.conf.has_value() || !outcome.conf->status.ok();
}

std::string RenderNcclRecap(const std::vector<NcclNodeOutcome>& outcomes, bool show_diffs,
                            bool check) {
  bool with_install = !outcomes.empty() && outcomes.front().install.has_value();
  Recap recap;
  if (with_install) recap.steps.push_back("INSTALL");
  recap.steps.push_back("NCCL.CONF");
  for (const NcclNodeOutcome& o : outcomes) {
    NodeRecap& node = recap.nodes.emplace_back();
    node.node = o.node;
    if (with_install) {
      StepOutcome& install = node.steps.emplace_back();
      if (o.install.has_value()) {
        install = OutcomeOf("InstallNccl", *o.install, {}, /*unreachable=*/false);
        if (install.state == StepState::kOk && o.install_changed) {
          install.state = StepState::kChanged;
        }
      }
    }
    if (!o.conf.has_value()) {
      node.steps.emplace_back().state = StepState::kSkipped;
      continue;
    }
    node.steps.push_back(OutcomeOf("WriteNcclConf", o.conf->status,
                                   {o.conf->reply.changes().begin(), o.conf->reply.changes().end()},
                                   /*unreachable=*/false));
  }
  return RenderRecap(recap, {show_diffs, check, /*backup_column=*/true});
}

std::string RenderNcclConfReport(const NodeResult<v1::ReadNcclConfReply>& result) {
  if (!result.status.ok()) {
    return absl::StrCat("== ", result.node, "\n  error: ", OneLineError(result.status), "\n");
  }
  const v1::ReadNcclConfReply& reply = result.reply;
  std::string out = absl::StrCat("== ", result.node, "\n");
  for (const v1::NcclConfFile& file : reply.files()) {
    absl::StrAppend(&out, "  ", file.path(), ": ",
                    file.present() ? absl::StrCat(file.settings_size(), " settings, ",
                                                  file.problems_size(), " problems")
                                   : "absent",
                    "\n");
    for (const v1::NcclConfProblem& problem : file.problems()) {
      absl::StrAppend(&out, "    line ", problem.line(), " (", ProblemKind(problem.kind()),
                      "): ", problem.text(), "\n      ", problem.message(), "\n");
    }
  }
  if (reply.environment_size() > 0) absl::StrAppend(&out, "  agent environment:\n");
  for (const v1::NcclSetting& setting : reply.environment()) {
    absl::StrAppend(&out, "    ", setting.key(), "=", setting.value(), "\n");
  }
  absl::StrAppend(&out, "  effective:", reply.effective().empty() ? " nothing set" : "", "\n");
  for (const v1::NcclSetting& setting : reply.effective()) {
    absl::StrAppend(&out, "    ", setting.key(), "=", setting.value(), "  (", setting.source(),
                    setting.line() > 0 ? absl::StrCat(":", setting.line()) : "", ")\n");
  }
  return out;
}

void RegisterNcclCommands(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<NcclFlags>();
  CLI::App* nccl =
      app.add_subcommand("nccl", "install NCCL (nccl.install) and write nccl.conf on every node");
  nccl->add_flag("--check", flags->settings.check,
                 "dry run: show what would change, change nothing");
  nccl->add_flag("--diff", flags->diff, "show nccl.conf diffs (always shown with --check)");
  nccl->add_option("--install-timeout", flags->settings.install_timeout_s,
                   "seconds each node's NCCL install may take (default 1800)")
      ->check(CLI::PositiveNumber);
  nccl->callback([&context, flags] { context.exit_code = RunNccl(context, *flags); });
  app.add_subcommand("nccl-conf",
                     "nccl.conf files NCCL reads on every node, misread lines, effective values")
      ->callback([&context] { context.exit_code = RunNcclConf(context); });
}

}  // namespace sparkfleet
