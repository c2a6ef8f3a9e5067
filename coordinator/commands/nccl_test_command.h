// `sparkctl nccl-test [-b 8] [-e 128M] [-f 2] [-n 20] [-w 5] [--op all_reduce]
//  [--dtype float] [--redop sum] [--root 0] [--no-check] [--gpus-per-node N]
//  [--min-busbw GBps] [--run-timeout S] [--nccl-env KEY=VALUE ...]`: an NCCL collective
// over every GPU of the selected nodes (one rank per GPU) through the agents, printed as
// nccl-tests' table with its footer (nccl/nccl_table.h). `--json` prints
//   {"nodes":[...fan-out entries...],"summary":{"ok":N,"failed":N},
//    "started":{...NcclTestStarted...},"rows":[...CollectiveRow...],"result":{...}}
// Exit 0 when the run passed; 2 when a node failed (no GPU / no CUDA driver / no NCCL,
// a timeout), an element was wrong, or the average bus bandwidth is below --min-busbw;
// 1 for usage or config errors.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_NCCL_TEST_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_NCCL_TEST_COMMAND_H_

#include "CLI/CLI.hpp"
#include "coordinator/commands/command.h"

namespace sparkfleet {

void RegisterNcclTestCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_NCCL_TEST_COMMAND_H_
