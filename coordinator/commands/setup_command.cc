#include "coordinator/commands/setup_command.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/cluster_session.h"
#include "coordinator/commands/setup_steps.h"
#include "coordinator/recap.h"

namespace sparkfleet {
namespace {

enum class SetupCommand { kSingleNode, kMultiNode, kSsh, kHosts, kLink, kNfs };

struct SetupFlags {
  bool check = false;
  bool diff = false;
};

std::vector<SetupStep> StepsOf(SetupCommand command, const ClusterConfig& config) {
  switch (command) {
    case SetupCommand::kSingleNode:
    case SetupCommand::kSsh:
      return {SetupStep::kKeys, SetupStep::kSsh};
    case SetupCommand::kMultiNode: {
      std::vector<SetupStep> steps = {SetupStep::kKeys, SetupStep::kSsh, SetupStep::kHosts};
      if (config.link.enabled) steps.push_back(SetupStep::kLink);
      if (config.nfs.enabled) steps.push_back(SetupStep::kNfs);
      return steps;
    }
    case SetupCommand::kHosts:
      return {SetupStep::kHosts};
    case SetupCommand::kLink:
      return {SetupStep::kLink};
    case SetupCommand::kNfs:
      return {SetupStep::kNfs};
  }
  return {};
}

// The step's section, when the command needs one that cluster.yaml lacks.
absl::Status CheckConfigured(SetupCommand command, const ClusterConfig& config,
                             const std::string& config_path) {
  if (command == SetupCommand::kLink && !config.link.enabled) {
    return absl::FailedPreconditionError(
        absl::StrCat(config_path,
                     " has no enabled `link` section; add one (see cluster.yaml.example) to "
                     "configure the direct ConnectX-7 link"));
  }
  if (command == SetupCommand::kNfs && !config.nfs.enabled) {
    return absl::FailedPreconditionError(
        absl::StrCat(config_path,
                     " has no enabled `nfs` section; add one (see cluster.yaml.example) to "
                     "export a directory from the primary node"));
  }
  return absl::OkStatus();
}

int RunSetup(CommandContext& context, SetupCommand command, const SetupFlags& flags) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  const ClusterConfig& config = session->config;
  if (absl::Status s = CheckConfigured(command, config, context.globals.config_path); !s.ok()) {
    return UsageError(context, s);
  }
  std::vector<SetupStep> steps = StepsOf(command, config);
  SetupRun run(*session, flags.check, steps);
  for (SetupStep step : steps) {
    switch (step) {
      case SetupStep::kKeys:
        run.CollectKeys(/*generate=*/command != SetupCommand::kSingleNode);
        break;
      case SetupStep::kSsh: {
        absl::StatusOr<std::string> key = ClusterPublicKey(config, flags.check, run);
        if (!key.ok()) return UsageError(context, key.status());
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
  }
  if (context.globals.json) {
    *context.out << RecapJson(run.recap(), flags.check);
  } else {
    RecapOptions options{flags.diff || flags.check, flags.check, /*backup_column=*/false};
    *context.out << RenderRecap(run.recap(), options);
  }
  return RecapExitCode(run.recap());
}

void Register(CLI::App& app, CommandContext& context, const char* name, const char* help,
              SetupCommand command) {
  auto flags = std::make_shared<SetupFlags>();
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_flag("--check", flags->check, "dry run: show what would change, change nothing");
  sub->add_flag("--diff", flags->diff, "show the diffs (always shown with --check)");
  sub->callback(
      [&context, flags, command] { context.exit_code = RunSetup(context, command, *flags); });
}

}  // namespace

void RegisterSetupCommands(CLI::App& app, CommandContext& context) {
  Register(app, context, "single-node",
           "SSH access on each node: the cluster key authorized for its user, sshd hardened",
           SetupCommand::kSingleNode);
  Register(app, context, "multi-node",
           "node-to-node SSH trust, /etc/hosts, the direct link (link:) and NFS (nfs:)",
           SetupCommand::kMultiNode);
  Register(app, context, "ssh", "node-to-node SSH trust only (part of multi-node)",
           SetupCommand::kSsh);
  Register(app, context, "hosts", "/etc/hosts names of every node only (part of multi-node)",
           SetupCommand::kHosts);
  Register(app, context, "link", "netplan for the direct ConnectX-7 link only (link:)",
           SetupCommand::kLink);
  Register(app, context, "nfs", "NFS export on the server and mounts on the others (nfs:)",
           SetupCommand::kNfs);
}

}  // namespace sparkfleet
