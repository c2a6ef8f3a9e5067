#include "coordinator/commands/doctor_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/cluster_session.h"
#include "coordinator/doctor/doctor_gather.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

struct Counts {
  int errors = 0;
  int warnings = 0;
  int info = 0;
};

Counts Count(const std::vector<Finding>& findings) {
  Counts counts;
  for (const Finding& finding : findings) {
    switch (finding.severity) {
      case Severity::kError:
        ++counts.errors;
        break;
      case Severity::kWarning:
        ++counts.warnings;
        break;
      case Severity::kInfo:
        ++counts.info;
        break;
    }
  }
  return counts;
}

int RunDoctor(CommandContext& context) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  std::vector<Finding> findings = RunDoctorChecks(GatherDoctorFacts(*session));
  *context.out << (context.globals.json ? FindingsJson(findings) : RenderFindings(findings));
  return Count(findings).errors > 0 ? kExitNodeFailed : kExitOk;
}

}  // namespace

std::string RenderFindings(const std::vector<Finding>& findings) {
  std::string out;
  for (const Finding& finding : findings) {
    absl::StrAppend(&out, SeverityName(finding.severity),
                    std::string(9 - std::string(SeverityName(finding.severity)).size(), ' '),
                    finding.id, " (", absl::StrJoin(finding.nodes, ", "), ")\n         ",
                    finding.seen, "\n");
    if (!finding.why.empty()) absl::StrAppend(&out, "         why: ", finding.why, "\n");
    if (!finding.fix.empty()) absl::StrAppend(&out, "         fix: ", finding.fix, "\n");
  }
  Counts counts = Count(findings);
  absl::StrAppend(&out, out.empty() ? "" : "\n", counts.errors, " errors, ", counts.warnings,
                  " warnings, ", counts.info, " info",
                  counts.errors == 0 && counts.warnings == 0 ? ": nothing known is wrong" : "",
                  "\n");
  return out;
}

std::string FindingsJson(const std::vector<Finding>& findings) {
  std::vector<std::string> entries;
  for (const Finding& finding : findings) {
    std::vector<std::string> nodes;
    for (const std::string& node : finding.nodes) nodes.push_back(JsonQuote(node));
    entries.push_back(absl::StrCat(
        "{\"id\":", JsonQuote(finding.id),
        ",\"severity\":", JsonQuote(SeverityName(finding.severity)), ",\"nodes\":[",
        absl::StrJoin(nodes, ","), "],\"seen\":", JsonQuote(finding.seen),
        ",\"why\":", JsonQuote(finding.why), ",\"fix\":", JsonQuote(finding.fix), "}"));
  }
  Counts counts = Count(findings);
  return absl::StrCat("{\"findings\":[", absl::StrJoin(entries, ","),
                      "],\"summary\":{\"errors\":", counts.errors,
                      ",\"warnings\":", counts.warnings, ",\"info\":", counts.info, "}}\n");
}

void RegisterDoctorCommand(CLI::App& app, CommandContext& context) {
  app.add_subcommand("doctor",
                     "find the known ways a Spark cluster silently underperforms, and the fixes")
      ->callback([&context] { context.exit_code = RunDoctor(context); });
}

}  // namespace sparkfleet
