// What every sparkctl subcommand shares: the global flags and the exit codes.
//
// Each subcommand lives in its own file under coordinator/commands/ and exposes one
// function, `void RegisterXCommand(CLI::App& app, CommandContext& context)`, which adds
// a CLI11 subcommand whose callback runs the command and stores its exit code in
// context.exit_code. main.cc only parses the global flags and calls the Register
// functions.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_COMMAND_H_

#include <iostream>
#include <string>
#include <vector>

namespace sparkfleet {

// Exit codes: the same for every command.
inline constexpr int kExitOk = 0;          // every node answered OK
inline constexpr int kExitUsageError = 1;  // bad flags, unreadable or invalid config
inline constexpr int kExitNodeFailed = 2;  // at least one node failed or was unreachable

struct GlobalOptions {
  std::string config_path = "cluster.yaml";  // -c/--config
  bool json = false;                         // --json
  double timeout_s = 10;                     // --timeout, per call
  int parallel = 256;                        // --parallel, calls in flight
  std::vector<std::string> limit;            // --limit NODE[,NODE]
};

struct CommandContext {
  GlobalOptions globals;
  int exit_code = kExitOk;
  std::ostream* out = &std::cout;  // results
  std::ostream* err = &std::cerr;  // errors and progress
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_COMMAND_H_
