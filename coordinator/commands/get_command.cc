#include "coordinator/commands/get_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/env.h"
#include "coordinator/cluster_session.h"
#include "coordinator/cluster_views.h"
#include "coordinator/render.h"
#include "coordinator/tailscale_record.h"

namespace sparkfleet {
namespace {

constexpr const char* kViews[] = {"config", "ssh", "network", "nccl", "endpoints"};

std::string NetworkJson(const ClusterConfig& config, const TailscaleAddresses& tailscale) {
  std::vector<std::string> nodes;
  for (const ClusterNode& node : config.nodes) {
    auto address = tailscale.find(node.hostname);
    nodes.push_back(absl::StrCat(
        "{\"node\":", JsonQuote(node.hostname), ",\"ip\":", JsonQuote(node.ip),
        ",\"agent_port\":", node.port,
        ",\"tailscale_ip\":", JsonQuote(address == tailscale.end() ? "" : address->second), "}"));
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
  absl::StatusOr<std::string> json =
      ViewJson(*config, view, LoadTailscaleAddresses(context.globals.config_path, *config));
  if (!json.ok()) return UsageError(context, json.status());
  *context.out << *json << "\n";
  return kExitOk;
}

struct ConnectFlags {
  std::string node;
  bool tailscale = false;   // --tailscale: through the tailnet address
  bool ssh_config = false;  // --ssh-config: an ssh_config snippet (every node by default)
};

int RunConnect(CommandContext& context, const ConnectFlags& flags) {
  absl::StatusOr<ClusterConfig> config = LoadClusterConfig(context.globals.config_path);
  if (!config.ok()) return UsageError(context, config.status());
  std::vector<std::string> limit;
  if (!flags.node.empty()) limit.push_back(flags.node);
  absl::StatusOr<std::vector<ClusterNode>> nodes = SelectNodes(*config, limit);
  if (!nodes.ok()) return UsageError(context, nodes.status());
  if (flags.node.empty() && !flags.ssh_config) nodes->resize(1);  // the primary node
  v1::GetConnectionInfoReply reply =
      ConnectionView(*config, *nodes, flags.tailscale,
                     LoadTailscaleAddresses(context.globals.config_path, *config));
  if (flags.tailscale && reply.nodes_size() < static_cast<int>(nodes->size())) {
    return UsageError(context,
                      absl::FailedPreconditionError(absl::StrCat(
                          "no Tailscale address is known for ",
                          nodes->size() == 1 ? nodes->front().hostname : "every node",
                          "; run `sparkctl tailscale` (or `sparkctl tailscale-status`) first")));
  }
  if (flags.ssh_config) {
    *context.out << SshConfigSnippet(*config, reply, flags.tailscale);
    return kExitOk;
  }
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
  TailscaleAddresses tailscale = LoadTailscaleAddresses(context.globals.config_path, *config);
  for (const char* view : kViews) {
    parts.push_back(absl::StrCat(JsonQuote(view), ":", *ViewJson(*config, view, tailscale)));
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

absl::StatusOr<std::string> ViewJson(const ClusterConfig& config, const std::string& view,
                                     const TailscaleAddresses& tailscale) {
  if (view == "config") return MessageJson(ClusterConfigView(config, tailscale));
  if (view == "ssh") return MessageJson(ConnectionView(config, config.nodes, false, tailscale));
  if (view == "network") return NetworkJson(config, tailscale);
  if (view == "nccl") return NcclJson(config);
  if (view == "endpoints") return MessageJson(EndpointsView(config.nodes, tailscale));
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
  auto connect_flags = std::make_shared<ConnectFlags>();
  connect->add_option("node", connect_flags->node,
                      "node name (default: the primary node; every node with --ssh-config)");
  connect->add_flag("--tailscale", connect_flags->tailscale,
                    "use the node's Tailscale address (recorded by `sparkctl tailscale`)");
  connect->add_flag("--ssh-config", connect_flags->ssh_config,
                    "print an ssh_config snippet (Host entries) instead of the command");
  connect->callback(
      [&context, connect_flags] { context.exit_code = RunConnect(context, *connect_flags); });

  CLI::App* exporter = app.add_subcommand("export", "Write every view into one JSON file");
  auto file = std::make_shared<std::string>();
  exporter->add_option("file", *file, "output file")->required();
  exporter->callback([&context, file] { context.exit_code = RunExport(context, *file); });
}

}  // namespace sparkfleet
