// `sparkctl serve --listen HOST:PORT`: the Coordinator gRPC service, with mTLS like the
// agent (or --insecure on loopback), health and reflection; runs until SIGTERM/SIGINT.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_SERVE_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_SERVE_COMMAND_H_

#include "CLI/CLI.hpp"
#include "coordinator/commands/command.h"

namespace sparkfleet {

void RegisterServeCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_SERVE_COMMAND_H_
