// `sparkctl pki`: the cluster CA and the certificates agents and clients present.
//
//   sparkctl pki init  --dir DIR
//   sparkctl pki issue --dir DIR --node NAME [--ip ADDR]... [--days N]
//   sparkctl pki issue --dir DIR --client NAME --role admin|reader [--days N]
//
// Works offline on the admin box; contacts no node. Prints the files it wrote.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_PKI_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_PKI_COMMAND_H_

#include <CLI/CLI.hpp>

#include "coordinator/commands/command.h"

namespace sparkfleet {

// Adds `pki` and its `init` and `issue` subcommands to `app`. Errors go to
// *context.err with exit code kExitUsageError. `context` must outlive the parse.
void RegisterPkiCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_PKI_COMMAND_H_
