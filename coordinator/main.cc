// sparkctl: the sparkfleet coordinator CLI. Global flags and subcommand registration;
// each subcommand lives in coordinator/commands/.
#include "CLI/CLI.hpp"
#include "common/process_setup.h"
#include "coordinator/commands/bootstrap_command.h"
#include "coordinator/commands/command.h"
#include "coordinator/commands/deploy_command.h"
#include "coordinator/commands/doctor_command.h"
#include "coordinator/commands/get_command.h"
#include "coordinator/commands/nccl_command.h"
#include "coordinator/commands/nccl_test_command.h"
#include "coordinator/commands/pki_command.h"
#include "coordinator/commands/probe_command.h"
#include "coordinator/commands/serve_command.h"
#include "coordinator/commands/setup_command.h"
#include "coordinator/commands/status_command.h"
#include "coordinator/commands/tailscale_command.h"
#include "coordinator/commands/validate_command.h"

int main(int argc, char** argv) {
  sparkfleet::SetUpProcess();
  sparkfleet::CommandContext context;
  sparkfleet::GlobalOptions& globals = context.globals;
  CLI::App app{"sparkctl: set up and check a cluster of DGX Spark nodes through their agents",
               "sparkctl"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-c,--config", globals.config_path, "cluster.yaml (default ./cluster.yaml)");
  app.add_flag("--json", globals.json, "machine-readable output");
  app.add_option("--timeout", globals.timeout_s, "seconds to wait for each node's call")
      ->check(CLI::PositiveNumber);
  app.add_option("--parallel", globals.parallel, "calls in flight at most (default 256)")
      ->check(CLI::PositiveNumber);
  app.add_option("--limit", globals.limit, "only these nodes (NODE[,NODE...])")->delimiter(',');

  sparkfleet::RegisterStatusCommands(app, context);
  sparkfleet::RegisterGetCommands(app, context);
  sparkfleet::RegisterServeCommand(app, context);
  sparkfleet::RegisterPkiCommand(app, context);
  sparkfleet::RegisterProbeCommands(app, context);
  sparkfleet::RegisterValidateCommand(app, context);
  sparkfleet::RegisterNcclCommands(app, context);
  sparkfleet::RegisterNcclTestCommand(app, context);
  sparkfleet::RegisterTailscaleCommands(app, context);
  sparkfleet::RegisterBootstrapCommand(app, context);
  sparkfleet::RegisterSetupCommands(app, context);
  sparkfleet::RegisterDeployCommand(app, context);
  sparkfleet::RegisterDoctorCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : sparkfleet::kExitUsageError;
  }
  return context.exit_code;
}
