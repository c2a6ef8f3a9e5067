#include "coordinator/commands/get_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/env.h"
#include "coordinator/cluster_session.h"
#include "coordinator/cluster_views.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

constexpr const char* kViews[] = {"config", "ssh", "network", "nccl", "endpoints"};

std::string NetworkJson(const ClusterConfig& config) {
  std::vector<std::string> nodes;
  for (const ClusterNode& node : config.nodes) {
    nodes.push_back(absl::StrCat("{\"node\":", JsonQuote(node.hostname),
                                 ",\"ip\":", JsonQuote(node.ip), ",\"agent_port\":", node.port,
                                 ",\"tailscale_ip\":\"\"}"));
  }
  return absl::StrCat("{\"cluster_name\":", JsonQuote(config.cluster_name),
                      ",\"enable_tailscale\":", config.enable_tailscale ? "true" : "false",
                      ",\"nodes\":[", absl::StrJoin(nodes, ","), "]}");
}

std::string NcclJson(const ClusterConfig& config) {
  std::vector<std::string> names;
  for (const ClusterNode& node : config.nodes) names.push_back(JsonQuote(node.hostname));
  return absl::StrCat("{\"enable_nccl\":", config.enable_nccl ? "true" : "false",
                      ",\"conf_path\":\"/etc/nccl.conf\",\"nodes\":[", absl::StrJoin(names, ","),
                      "]}");
}

// For display only: quotes an argument a person would paste into a shell.
std::string ShellQuoteForDisplay(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789@%+=:,./-_") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int RunGet(CommandContext& context, const std::string& view) {
  absl::StatusOr<ClusterConfig> config = LoadClusterConfig(context.globals.config_path);
  if (!config.ok()) return UsageError(context, config.status());
  absl::StatusOr<std::string> json = ViewJson(*config, view);
  if (!json.ok()) return UsageError(context, json.status());
  *context.out << *json << "\n";
  return kExitOk;
}

int RunConnect(CommandContext& context, const std::string& node_name) {
  absl::StatusOr<ClusterConfig> config = LoadClusterConfig(context.globals.config_path);
  if (!config.ok()) return UsageError(context, config.status());
  std::vector<std::string> limit;
  if (!node_name.empty()) limit.push_back(node_name);
  absl::StatusOr<std::vector<ClusterNode>> nodes = SelectNodes(*config, limit);
  if (!nodes.ok()) return UsageError(context, nodes.status());
  if (node_name.empty()) nodes->resize(1);  // the primary node
  v1::GetConnectionInfoReply reply = ConnectionView(*config, *nodes, false);
  if (context.globals.json) {
    *context.out << MessageJson(reply, true) << "\n";
    return kExitOk;
  }
  for (const v1::NodeConnection& node : reply.nodes()) {
    std::vector<std::string> words;
    for (const std::string& arg : node.ssh_argv()) words.push_back(ShellQuoteForDisplay(arg));
    *context.out << absl::StrJoin(words, " ") << "\n";
  }
  return kExitOk;
}

int RunExport(CommandContext& context, const std::string& file) {
  absl::StatusOr<ClusterConfig> config = LoadClusterConfig(context.globals.config_path);
  if (!config.ok()) return UsageError(context, config.status());
  std::vector<std::string> parts;
  for (const char* view : kViews) {
    parts.push_back(absl::StrCat(JsonQuote(view), ":", *ViewJson(*config, view)));
  }
  std::string document = absl::StrCat("{", absl::StrJoin(parts, ","), "}\n");
  std::unique_ptr<Env> env = NewRootedEnv("/");
  std::string path = AbsolutePath(file);
  absl::StatusOr<std::string> written = env->WriteFileAtomic(path, document, WriteOptions{});
  if (!written.ok()) return UsageError(context, written.status());
  *context.err << "sparkctl: wrote " << path
               << (written->empty() ? "" : absl::StrCat(" (previous kept at ", *written, ")"))
               << "\n";
  return kExitOk;
}

}  // namespace

absl::StatusOr<std::string> ViewJson(const ClusterConfig& config, const std::string& view) {
  if (view == "config") return MessageJson(ClusterConfigView(config));
  if (view == "ssh") return MessageJson(ConnectionView(config, config.nodes, false));
  if (view == "network") return NetworkJson(config);
  if (view == "nccl") return NcclJson(config);
  if (view == "endpoints") return MessageJson(EndpointsView(config.nodes));
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown view \"", view, "\"; choose one of config, ssh, network, nccl, endpoints"));
}

void RegisterGetCommands(CLI::App& app, CommandContext& context) {
  CLI::App* get = app.add_subcommand("get", "Print a view of the cluster as JSON");
  auto view = std::make_shared<std::string>();  // kept alive by the callback
  get->add_option("view", *view, "config | ssh | network | nccl | endpoints")
      ->required()
      ->check(CLI::IsMember({"config", "ssh", "network", "nccl", "endpoints"}));
  get->callback([&context, view] { context.exit_code = RunGet(context, *view); });

  app.add_subcommand("inventory", "Print an Ansible inventory.ini for the cluster")
      ->callback([&context] {
        absl::StatusOr<ClusterConfig> config = LoadClusterConfig(context.globals.config_path);
        if (!config.ok()) {
          UsageError(context, config.status());
          return;
        }
        *context.out << InventoryIni(*config);
      });

  CLI::App* connect = app.add_subcommand("connect", "Print the ssh command for a node");
  auto node = std::make_shared<std::string>();
  connect->add_option("node", *node, "node name (default: the primary node)");
  connect->callback([&context, node] { context.exit_code = RunConnect(context, *node); });

  CLI::App* exporter = app.add_subcommand("export", "Write every view into one JSON file");
  auto file = std::make_shared<std::string>();
  exporter->add_option("file", *file, "output file")->required();
  exporter->callback([&context, file] { context.exit_code = RunExport(context, *file); });
}

}  // namespace sparkfleet
