// `sparkctl doctor`: the known ways a Spark cluster silently underperforms (PCIe links
// trained below their width, MTUs, version skew, NCCL settings, CMA, clocks, stale links),
// checked on every node and across nodes (doctor/doctor_checks.h), each finding with its
// severity, the nodes, what was seen, why it matters and the fix. Exit 0 when no error
// was found, 2 when one was.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_DOCTOR_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_DOCTOR_COMMAND_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "coordinator/commands/command.h"
#include "coordinator/doctor/doctor_checks.h"

namespace sparkfleet {

// Findings for people: one block per finding, errors first, then a summary line.
std::string RenderFindings(const std::vector<Finding>& findings);

// {"findings":[{"id","severity","nodes","seen","why","fix"}],"summary":{...}}.
std::string FindingsJson(const std::vector<Finding>& findings);

void RegisterDoctorCommand(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_DOCTOR_COMMAND_H_
