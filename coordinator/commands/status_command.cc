#include "coordinator/commands/status_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/validate.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

std::string Components(const v1::NodeInfo& info) {
  std::vector<std::string> present;
  for (const v1::InstalledComponent& c : info.components()) {
    if (c.present()) present.push_back(c.name());
  }
  return present.empty() ? "-" : absl::StrJoin(present, ",");
}

std::string RenderInfo(const NodeResult<v1::NodeInfo>& r) {
  if (!r.status.ok())
    return absl::StrCat("== ", r.node, "\n  error: ", OneLineError(r.status), "\n");
  const v1::NodeInfo& info = r.reply;
  std::string out = absl::StrCat("== ", r.node, " (", HumanDuration(r.duration), ")\n");
  absl::StrAppend(&out, "  hostname:  ", info.hostname(), "\n");
  absl::StrAppend(&out, "  agent:     ", info.agent_version(), " (node name ", info.node_name(),
                  ")\n");
  absl::StrAppend(&out, "  os:        ", info.os().pretty_name(), "\n");
  absl::StrAppend(&out, "  kernel:    ", info.kernel_release(), " ", info.arch(), "\n");
  absl::StrAppend(&out, "  uptime:    ", FormatUptime(info.uptime_s()), "\n");
  for (const v1::InstalledComponent& c : info.components()) {
    std::string detail = c.present()
                             ? absl::StrCat("present", c.version().empty() ? "" : " ", c.version(),
                                            c.path().empty() ? "" : " at ", c.path())
                             : "missing";
    absl::StrAppend(&out, "  ", c.name(), ":",
                    std::string(std::max<int>(1, 14 - c.name().size()), ' '), detail, "\n");
  }
  return out;
}

int RunFanOutCommand(CommandContext& context, bool detailed) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  FanOutOptions options = session->fanout;
  options.progress_label = detailed ? "info" : "status";
  std::vector<NodeResult<v1::NodeInfo>> results =
      FetchNodeInfo(*session->channels, session->nodes, options);
  if (context.globals.json) {
    *context.out << FanOutJson(results);
  } else if (detailed) {
    for (const auto& r : results) *context.out << RenderInfo(r);
  } else {
    *context.out << RenderStatusTable(session->nodes, results);
  }
  context.exit_code = FanOutExitCode(results);
  return context.exit_code;
}

}  // namespace

std::vector<NodeResult<v1::NodeInfo>> FetchNodeInfo(AgentChannels& channels,
                                                    const std::vector<ClusterNode>& nodes,
                                                    const FanOutOptions& options) {
  return FanOut<v1::GetInfoRequest, v1::NodeInfo>(
      channels, nodes, options, [](const ClusterNode&) { return v1::GetInfoRequest(); },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->GetInfo(context, request, reply, std::move(done));
      });
}

std::string RenderStatusTable(const std::vector<ClusterNode>& nodes,
                              const std::vector<NodeResult<v1::NodeInfo>>& results) {
  Table table({"NODE", "ADDRESS", "STATE", "HOSTNAME", "OS", "KERNEL", "UPTIME", "AGENT",
               "INSTALLED", "TIME"});
  int ok = 0;
  std::string errors;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    std::string address = FormatHostPort(nodes[i].ip, nodes[i].port);
    if (!r.status.ok()) {
      table.AddRow(
          {r.node, address, "FAILED", "-", "-", "-", "-", "-", "-", HumanDuration(r.duration)});
      absl::StrAppend(&errors, r.node, ": ", OneLineError(r.status), "\n");
      continue;
    }
    ++ok;
    const v1::NodeInfo& info = r.reply;
    table.AddRow({r.node, address, "ok", info.hostname(), info.os().pretty_name(),
                  info.kernel_release(), FormatUptime(info.uptime_s()), info.agent_version(),
                  Components(info), HumanDuration(r.duration)});
  }
  return absl::StrCat(table.Render(), errors, "\n", ok, " ok, ", results.size() - ok, " failed\n");
}

void RegisterStatusCommands(CLI::App& app, CommandContext& context) {
  app.add_subcommand("status", "GetInfo on every node: a table of who answers and how")
      ->callback([&context] { RunFanOutCommand(context, /*detailed=*/false); });
  app.add_subcommand("info", "Everything each node's agent reports about it")->callback([&context] {
    RunFanOutCommand(context, /*detailed=*/true);
  });
}

}  // namespace sparkfleet
