#include "coordinator/commands/tailscale_command.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "coordinator/cluster_session.h"
#include "coordinator/render.h"
#include "coordinator/stream_fanout.h"
#include "coordinator/tailscale_record.h"

namespace sparkfleet {
namespace {

struct TailscaleFlags {
  TailscaleSettings settings;
  bool diff = false;
  std::string apt_keyring;  // offline repository: Tailscale's <codename>.noarmor.gpg
  std::string apt_list;     // and <codename>.tailscale-keyring.list
};

absl::StatusOr<v1::TailscaleAptSource> AptSource(const TailscaleFlags& flags) {
  v1::TailscaleAptSource source;
  if (flags.apt_keyring.empty() != flags.apt_list.empty()) {
    return absl::InvalidArgumentError("--apt-keyring and --apt-list go together");
  }
  if (flags.apt_keyring.empty()) return source;
  std::unique_ptr<Env> env = NewRootedEnv("/");
  absl::StatusOr<std::string> keyring = env->ReadFile(AbsolutePath(flags.apt_keyring));
  if (!keyring.ok()) return keyring.status();
  absl::StatusOr<std::string> list = env->ReadFile(AbsolutePath(flags.apt_list));
  if (!list.ok()) return list.status();
  source.set_keyring_gpg(*keyring);
  source.set_sources_list(*list);
  return source;
}

void RunInstall(ClusterSession& session, const TailscaleSettings& settings,
                std::vector<TailscaleNodeOutcome>* outcomes) {
  v1::InstallTailscaleRequest request;
  request.set_dry_run(settings.check);
  *request.mutable_apt_source() = settings.apt_source;
  FanOutOptions options = session.fanout;
  options.timeout = absl::Seconds(settings.install_timeout_s);
  options.progress_label = "tailscale install";
  auto results = FanOutStream<v1::InstallTailscaleRequest, v1::InstallTailscaleEvent>(
      *session.channels, session.nodes, options, [&request](const ClusterNode&) { return request; },
      [](auto* async, auto* context, auto* req, auto* reactor) {
        async->InstallTailscale(context, req, reactor);
      });
  for (size_t i = 0; i < results.size(); ++i) {
    TailscaleNodeOutcome& outcome = (*outcomes)[i];
    outcome.install = results[i].status;
    const auto& events = results[i].reply;
    bool has_result = !events.empty() && events.back().has_result();
    if (outcome.install.ok() && !has_result) {
      outcome.install = absl::InternalError("the install stream ended without a result");
    }
    if (!has_result) continue;
    const v1::InstallTailscaleResult& result = events.back().result();
    outcome.installed_now = result.installed_now();
    outcome.install_changed = result.installed_now();
    for (const v1::ChangeReport& change : result.changes()) {
      outcome.install_changed = outcome.install_changed || change.changed();
    }
  }
}

void RunUp(ClusterSession& session, const TailscaleSettings& settings, const std::string& key,
           std::vector<TailscaleNodeOutcome>* outcomes) {
  std::vector<ClusterNode> nodes;
  std::vector<size_t> index;
  for (size_t i = 0; i < session.nodes.size(); ++i) {
    TailscaleNodeOutcome& outcome = (*outcomes)[i];
    if (!outcome.install.ok()) continue;
    if (settings.check && outcome.installed_now) {  // nothing to ask a node without tailscale
      outcome.up.emplace();
      outcome.up->node = outcome.node;
      outcome.up->reply.set_ran_up(true);
      continue;
    }
    nodes.push_back(session.nodes[i]);
    index.push_back(i);
  }
  FanOutOptions options = session.fanout;
  options.timeout = absl::Seconds(settings.up_timeout_s + 60);
  options.progress_label = "tailscale up";
  auto results = FanOut<v1::TailscaleUpRequest, v1::TailscaleUpReply>(
      *session.channels, nodes, options,
      [&](const ClusterNode& node) {
        v1::TailscaleUpRequest request;
        request.set_dry_run(settings.check);
        request.set_auth_key(key);
        request.set_hostname(node.hostname);
        for (const std::string& route : settings.advertise_routes) {
          request.add_advertise_routes(route);
        }
        request.set_accept_routes(settings.accept_routes);
        request.set_ssh(settings.ssh);
        request.set_timeout_s(static_cast<uint32_t>(settings.up_timeout_s));
        return request;
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->TailscaleUp(context, request, reply, std::move(done));
      });
  for (size_t j = 0; j < results.size(); ++j) (*outcomes)[index[j]].up = std::move(results[j]);
}

std::string OutcomesJson(const std::vector<TailscaleNodeOutcome>& outcomes) {
  std::vector<NodeResult<v1::TailscaleUpReply>> results;
  for (const TailscaleNodeOutcome& outcome : outcomes) {
    if (outcome.up.has_value()) {
      results.push_back(*outcome.up);
      continue;
    }
    NodeResult<v1::TailscaleUpReply> skipped;
    skipped.node = outcome.node;
    skipped.status = absl::Status(outcome.install.code(),
                                  absl::StrCat("InstallTailscale: ", outcome.install.message()));
    results.push_back(std::move(skipped));
  }
  return FanOutJson(results);
}

void RecordAddresses(CommandContext& context, const ClusterConfig& config,
                     const TailscaleAddresses& learnt) {
  if (learnt.empty()) return;
  if (absl::Status s = SaveTailscaleAddresses(context.globals.config_path, config, learnt);
      !s.ok()) {
    *context.err << "sparkctl: warning: " << s.message() << "\n";
  }
}

int RunTailscale(CommandContext& context, const TailscaleFlags& flags) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  std::unique_ptr<Env> env = NewRootedEnv("/");
  absl::StatusOr<TailscaleAuthKey> key =
      ResolveTailscaleAuthKey(session->config, ProcessGetenv, *env);
  if (!key.ok()) return UsageError(context, key.status());
  for (const std::string& warning : key->warnings) {
    *context.err << "sparkctl: warning: " << warning << "\n";
  }
  absl::StatusOr<v1::TailscaleAptSource> source = AptSource(flags);
  if (!source.ok()) return UsageError(context, source.status());
  TailscaleSettings settings = flags.settings;
  settings.apt_source = *std::move(source);
  std::vector<TailscaleNodeOutcome> outcomes = RunTailscaleSetup(*session, settings, key->key);
  RecordAddresses(context, session->config, LearntAddresses(outcomes, settings.check));
  *context.out << (context.globals.json
                       ? RedactSecret(OutcomesJson(outcomes), key->key)
                       : RenderTailscaleRecap(outcomes, flags.diff || settings.check,
                                              settings.check, key->key));
  for (const TailscaleNodeOutcome& outcome : outcomes) {
    if (TailscaleFailed(outcome)) return kExitNodeFailed;
  }
  return kExitOk;
}

int RunTailscaleStatus(CommandContext& context) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  FanOutOptions options = session->fanout;
  options.progress_label = "tailscale-status";
  auto results = FanOut<v1::GetTailscaleStatusRequest, v1::TailscaleStatus>(
      *session->channels, session->nodes, options,
      [](const ClusterNode&) { return v1::GetTailscaleStatusRequest(); },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->GetTailscaleStatus(context, request, reply, std::move(done));
      });
  TailscaleAddresses learnt;
  for (const auto& result : results) {
    if (result.status.ok() && !result.reply.ipv4().empty())
      learnt[result.node] = result.reply.ipv4();
  }
  RecordAddresses(context, session->config, learnt);
  *context.out << (context.globals.json ? FanOutJson(results) : RenderTailscaleStatus(results));
  return FanOutExitCode(results);
}

std::string UpState(const TailscaleNodeOutcome& o) {
  if (!o.up.has_value()) return "skipped";
  if (!o.up->status.ok()) return "failed";
  bool changed = o.up->reply.ran_up();
  for (const v1::ChangeReport& change : o.up->reply.changes()) changed |= change.changed();
  return changed ? "changed" : "ok";
}

std::string BackendName(v1::TailscaleBackendState state) {
  std::string name(
      absl::StripPrefix(v1::TailscaleBackendState_Name(state), "TAILSCALE_BACKEND_STATE_"));
  return name == "UNSPECIFIED" ? "-" : name;
}

}  // namespace

std::string RedactSecret(absl::string_view text, const std::string& secret) {
  if (secret.empty()) return std::string(text);
  return absl::StrReplaceAll(text, {{secret, "<redacted>"}});
}

bool TailscaleFailed(const TailscaleNodeOutcome& outcome) {
  return !outcome.install.ok() || !outcome.up.has_value() || !outcome.up->status.ok();
}

std::vector<TailscaleNodeOutcome> RunTailscaleSetup(ClusterSession& session,
                                                    const TailscaleSettings& settings,
                                                    const std::string& key) {
  std::vector<TailscaleNodeOutcome> outcomes(session.nodes.size());
  for (size_t i = 0; i < outcomes.size(); ++i) outcomes[i].node = session.nodes[i].hostname;
  RunInstall(session, settings, &outcomes);
  RunUp(session, settings, key, &outcomes);
  return outcomes;
}

TailscaleAddresses LearntAddresses(const std::vector<TailscaleNodeOutcome>& outcomes, bool check) {
  TailscaleAddresses learnt;
  for (const TailscaleNodeOutcome& outcome : outcomes) {
    if (!check && !TailscaleFailed(outcome) && !outcome.up->reply.status().ipv4().empty()) {
      learnt[outcome.node] = outcome.up->reply.status().ipv4();
    }
  }
  return learnt;
}

absl::StatusOr<TailscaleAuthKey> ResolveTailscaleAuthKey(const ClusterConfig& config,
                                                         const GetenvFunction& getenv, Env& env) {
  TailscaleAuthKey chosen;
  std::optional<std::string> from_env = getenv("TAILSCALE_AUTH_KEY");
  bool inline_key = !config.tailscale_auth_key.empty() &&
                    (!from_env.has_value() || *from_env != config.tailscale_auth_key);
  if (inline_key) {
    chosen.warnings.push_back(
        "cluster.yaml holds tailscale_auth_key in clear text; move the key to a file readable "
        "only by you (chmod 600) named by tailscale_auth_key_file, or export "
        "TAILSCALE_AUTH_KEY");
  }
  if (from_env.has_value() && !from_env->empty()) {
    chosen.key = *from_env;
    chosen.source = "TAILSCALE_AUTH_KEY";
    return chosen;
  }
  if (!config.tailscale_auth_key_file.empty()) {
    const std::string& path = config.tailscale_auth_key_file;
    absl::StatusOr<std::string> text = env.ReadFile(path);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tailscale_auth_key_file ", path,
                                                     ": cannot read: ", text.status().message()));
    }
    chosen.key = std::string(absl::StripAsciiWhitespace(*text));
    if (chosen.key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tailscale_auth_key_file ", path, " is empty; put the tskey-... in it"));
    }
    absl::StatusOr<FileInfo> info = env.Stat(path);
    if (info.ok() && (info->mode & 077) != 0) {
      chosen.warnings.push_back(absl::StrCat(path, " is readable by others (mode ",
                                             absl::StrFormat("%04o", info->mode & 07777),
                                             "); run chmod 600 ", path));
    }
    chosen.source = path;
    return chosen;
  }
  chosen.key = config.tailscale_auth_key;
  if (!chosen.key.empty()) chosen.source = "cluster.yaml";
  return chosen;
}

std::string RenderTailscaleRecap(const std::vector<TailscaleNodeOutcome>& outcomes, bool show_diffs,
                                 bool check, const std::string& secret) {
  Table table({"NODE", "INSTALL", "UP", "TAILSCALE-IP", "RESULT"});
  std::string errors, diffs;
  int ok = 0, changed = 0, failed = 0;
  for (const TailscaleNodeOutcome& o : outcomes) {
    std::string install = !o.install.ok() ? "failed" : (o.install_changed ? "changed" : "ok");
    if (!o.install.ok()) {
      absl::StrAppend(&errors, "  ", o.node, ": InstallTailscale: ", OneLineError(o.install), "\n");
    }
    std::string up = UpState(o);
    std::string address = "-";
    if (o.up.has_value() && !o.up->status.ok()) {
      absl::StrAppend(&errors, "  ", o.node, ": TailscaleUp: ", OneLineError(o.up->status), "\n");
    } else if (o.up.has_value()) {
      if (!o.up->reply.status().ipv4().empty()) address = o.up->reply.status().ipv4();
      for (const v1::ChangeReport& change : o.up->reply.changes()) {
        if (show_diffs && !change.diff().empty()) {
          absl::StrAppend(&diffs, "\n== ", o.node, ": ", change.path(), "\n", change.diff());
        }
      }
    }
    bool node_failed = TailscaleFailed(o);
    bool node_changed = !node_failed && (o.install_changed || up == "changed");
    table.AddRow(
        {o.node, install, up, address, node_failed ? "failed" : (node_changed ? "changed" : "ok")});
    (node_failed ? failed : node_changed ? changed : ok) += 1;
  }
  std::string out = table.Render();
  if (!errors.empty()) absl::StrAppend(&out, "\n", errors);
  absl::StrAppend(&out, diffs, "\n", ok, " ok, ", changed, check ? " would change, " : " changed, ",
                  failed, " failed", check ? " (check: nothing was changed)" : "", "\n");
  return RedactSecret(out, secret);
}

std::string RenderTailscaleStatus(const std::vector<NodeResult<v1::TailscaleStatus>>& results) {
  Table table({"NODE", "STATE", "TAILSCALE-IP", "DNS-NAME", "PEERS", "HEALTH"});
  std::string errors;
  for (const auto& r : results) {
    if (!r.status.ok()) {
      table.AddRow({r.node, "error", "-", "-", "-", "-"});
      absl::StrAppend(&errors, "  ", r.node, ": ", OneLineError(r.status), "\n");
      continue;
    }
    int online = 0;
    for (const v1::TailscalePeer& peer : r.reply.peers()) online += peer.online();
    table.AddRow({r.node, BackendName(r.reply.backend_state()),
                  r.reply.ipv4().empty() ? "-" : r.reply.ipv4(),
                  r.reply.self().dns_name().empty() ? "-" : r.reply.self().dns_name(),
                  absl::StrCat(online, "/", r.reply.peers_size(), " online"),
                  r.reply.health().empty() ? "ok" : absl::StrJoin(r.reply.health(), "; ")});
  }
  std::string out = table.Render();
  if (!errors.empty()) absl::StrAppend(&out, "\n", errors);
  return out;
}

void RegisterTailscaleCommands(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<TailscaleFlags>();
  CLI::App* tailscale =
      app.add_subcommand("tailscale",
                         "install Tailscale and join every node to the tailnet (auth key from "
                         "TAILSCALE_AUTH_KEY or tailscale_auth_key_file)");
  tailscale->add_flag("--check", flags->settings.check,
                      "dry run: show what would change, change nothing");
  tailscale->add_flag("--diff", flags->diff, "show file diffs (always shown with --check)");
  tailscale
      ->add_option("--advertise-routes", flags->settings.advertise_routes,
                   "subnet routes to advertise (CIDR[,CIDR...]); enables IP forwarding")
      ->delimiter(',');
  tailscale->add_flag("--accept-routes", flags->settings.accept_routes,
                      "accept subnet routes other nodes advertise");
  tailscale->add_flag("--ssh", flags->settings.ssh, "run Tailscale SSH on the nodes");
  tailscale
      ->add_option("--up-timeout", flags->settings.up_timeout_s,
                   "seconds `tailscale up` may wait for Running (default 60)")
      ->check(CLI::Range(1, 3600));
  tailscale
      ->add_option("--install-timeout", flags->settings.install_timeout_s,
                   "seconds each node's install may take (default 900)")
      ->check(CLI::PositiveNumber);
  tailscale->add_option("--apt-keyring", flags->apt_keyring,
                        "for nodes without internet: Tailscale's <codename>.noarmor.gpg");
  tailscale->add_option("--apt-list", flags->apt_list,
                        "for nodes without internet: <codename>.tailscale-keyring.list");
  tailscale->callback([&context, flags] { context.exit_code = RunTailscale(context, *flags); });
  app.add_subcommand("tailscale-status", "every node's Tailscale state, address, peers and health")
      ->callback([&context] { context.exit_code = RunTailscaleStatus(context); });
}

}  // namespace sparkfleet
