#include "coordinator/commands/bootstrap_command.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/tls.h"
#include "coordinator/cluster_session.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

struct BootstrapFlags {
  std::string agent;
  std::string nccl_worker;
  std::string pki;
  std::string known_hosts;
  bool accept_new_host_keys = false;
  int ssh_port = 0;  // 0: cluster.yaml's ssh.port
  bool check = false;
  double health_timeout_s = 60;
};

// A private directory for the files made for the nodes, removed with everything in it.
class StagingDir {
 public:
  StagingDir() {
    std::optional<std::string> tmp = ProcessGetenv("TMPDIR");
    std::string pattern = (tmp && !tmp->empty() ? *tmp : "/tmp") + "/sparkctl-bootstrap.XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  ~StagingDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }  // empty when it could not be made

 private:
  std::string path_;
};

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// --agent, --nccl-worker and --pki with their defaults filled in.
absl::Status ResolveSources(const BootstrapFlags& flags, const ClusterConfig& config, Env& host,
                            BootstrapSources* sources) {
  sources->agent_binary = flags.agent.empty() ? "" : AbsolutePath(flags.agent);
  if (sources->agent_binary.empty()) {
    absl::StatusOr<std::string> self = host.ReadLink("/proc/self/exe");
    if (!self.ok()) return self.status();
    sources->agent_binary = DirName(*self) + "/spark-agent";
  }
  if (flags.nccl_worker == "none") {
    sources->nccl_worker.clear();
  } else if (!flags.nccl_worker.empty()) {
    sources->nccl_worker = AbsolutePath(flags.nccl_worker);
  } else {
    std::string beside = DirName(sources->agent_binary) + "/spark-nccl-worker";
    sources->nccl_worker = host.Exists(beside) ? beside : "";
  }
  if (!flags.pki.empty()) {
    sources->pki_dir = AbsolutePath(flags.pki);
  } else if (!config.tls_ca.empty()) {
    sources->pki_dir = DirName(config.tls_ca);
  } else {
    return absl::InvalidArgumentError(
        "bootstrap: no certificate directory: pass --pki DIR or set agent.tls.ca in cluster.yaml");
  }
  sources->unit_text = std::string(SparkAgentUnit());
  return absl::OkStatus();
}

absl::StatusOr<SshConnection> ResolveSsh(const BootstrapFlags& flags, const ClusterConfig& config,
                                         const GlobalOptions& globals) {
  SshConnection ssh;
  if (config.ssh_key_path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(globals.config_path,
                     ": ssh_key_path is required by bootstrap: the private key that "
                     "logs in to every node as its user"));
  }
  ssh.key_path = config.ssh_key_path;
  ssh.known_hosts_path = flags.known_hosts;
  if (ssh.known_hosts_path.empty()) {
    std::optional<std::string> home = ProcessGetenv("HOME");
    if (!home || home->empty()) {
      return absl::InvalidArgumentError("bootstrap: HOME is not set: pass --known-hosts FILE");
    }
    ssh.known_hosts_path = *home + "/.ssh/known_hosts";
  }
  ssh.known_hosts_path = AbsolutePath(ssh.known_hosts_path);
  ssh.accept_new_host_keys = flags.accept_new_host_keys;
  ssh.connect_timeout_s = std::max(1, static_cast<int>(globals.timeout_s + 0.5));
  ssh.port = flags.ssh_port > 0 ? static_cast<uint16_t>(flags.ssh_port) : config.ssh.port;
  return ssh;
}

int RunBootstrap(CommandContext& context, const BootstrapFlags& flags) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  const ClusterConfig& config = session->config;
  if (config.insecure) {
    return UsageError(context, absl::FailedPreconditionError(
                                   "bootstrap installs agents that serve mutual TLS; "
                                   "agent.insecure is for loopback demo clusters only"));
  }
  std::unique_ptr<Env> host = NewRootedEnv("/");
  StagingDir staging;
  if (staging.path().empty()) {
    return UsageError(context, absl::InternalError("bootstrap: cannot make a temporary directory"));
  }
  BootstrapSources sources;
  sources.staging_dir = staging.path();
  if (absl::Status s = ResolveSources(flags, config, *host, &sources); !s.ok()) {
    return UsageError(context, s);
  }
  BootstrapOptions options;
  absl::StatusOr<SshConnection> ssh = ResolveSsh(flags, config, context.globals);
  if (!ssh.ok()) return UsageError(context, ssh.status());
  options.ssh = *std::move(ssh);
  options.check = flags.check;
  options.parallel = context.globals.parallel;
  options.health_timeout = absl::Seconds(flags.health_timeout_s);
  if (absl::Status s = CheckBootstrapSources(sources, options, *host); !s.ok()) {
    return UsageError(context, s);
  }
  auto credentials = MakeClientCredentials({config.tls_ca, config.tls_cert, config.tls_key});
  if (!credentials.ok()) return UsageError(context, credentials.status());
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  std::vector<BootstrapNodeResult> results = BootstrapNodes(
      session->nodes, sources, options, *host, *runner, NewGrpcHealthCheck(*credentials));
  *context.out << (context.globals.json ? BootstrapJson(results)
                                        : RenderBootstrapRecap(results, flags.check));
  for (const BootstrapNodeResult& result : results) {
    if (result.state == BootstrapState::kFailed) return kExitNodeFailed;
  }
  return kExitOk;
}

const char* StateName(BootstrapState state) {
  switch (state) {
    case BootstrapState::kOk:
      return "ok";
    case BootstrapState::kChanged:
      return "changed";
    case BootstrapState::kFailed:
      return "failed";
  }
  return "failed";
}

std::string JsonList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(JsonQuote(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ","), "]");
}

}  // namespace

std::string RenderBootstrapRecap(const std::vector<BootstrapNodeResult>& results, bool check) {
  Table table({"NODE", "RESULT", "FILES", "SERVICE", "TIME"});
  std::string errors, changes;
  int counts[3] = {0, 0, 0};
  for (const BootstrapNodeResult& r : results) {
    counts[static_cast<int>(r.state)] += 1;
    bool failed = r.state == BootstrapState::kFailed;
    table.AddRow({r.node, StateName(r.state),
                  failed ? "-" : absl::StrCat(r.changed_files.size(), " changed"),
                  r.service_actions.empty() ? "-" : absl::StrJoin(r.service_actions, ", "),
                  HumanDuration(r.duration)});
    if (failed) {
      absl::StrAppend(&errors, "  ", r.node, ": ", r.failed_step, ": ", OneLineError(r.error),
                      "\n");
    } else if (!r.changed_files.empty()) {
      absl::StrAppend(&changes, "  ", r.node, ": ", absl::StrJoin(r.changed_files, ", "), "\n");
    }
  }
  std::string out = table.Render();
  if (!errors.empty()) absl::StrAppend(&out, "\n", errors);
  if (!changes.empty()) {
    absl::StrAppend(&out, "\n", check ? "would replace:\n" : "replaced:\n", changes);
  }
  absl::StrAppend(&out, "\n", counts[0], " ok, ", counts[1],
                  check ? " would change, " : " changed, ", counts[2], " failed",
                  check ? " (check: nothing was changed)" : "", "\n");
  return out;
}

std::string BootstrapJson(const std::vector<BootstrapNodeResult>& results) {
  std::vector<std::string> entries;
  int ok = 0;
  for (const BootstrapNodeResult& r : results) {
    bool failed = r.state == BootstrapState::kFailed;
    ok += !failed;
    std::string entry =
        absl::StrCat("{\"node\":", JsonQuote(r.node), ",\"ok\":", failed ? "false" : "true",
                     ",\"duration_ms\":", absl::ToInt64Milliseconds(r.duration));
    if (failed) {
      absl::StrAppend(&entry, ",\"error\":{\"code\":", JsonQuote(StatusCodeName(r.error.code())),
                      ",\"message\":", JsonQuote(r.error.message()),
                      ",\"step\":", JsonQuote(r.failed_step), "}}");
    } else {
      absl::StrAppend(&entry, ",\"result\":{\"state\":", JsonQuote(StateName(r.state)),
                      ",\"changed_files\":", JsonList(r.changed_files),
                      ",\"service_actions\":", JsonList(r.service_actions), "}}");
    }
    entries.push_back(std::move(entry));
  }
  return FanOutJson(entries, ok, static_cast<int>(results.size()) - ok);
}

void RegisterBootstrapCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<BootstrapFlags>();
  CLI::App* cmd = app.add_subcommand(
      "bootstrap",
      "first install over SSH: copy spark-agent, its certificate and the unit to "
      "every node, start it and wait for its health check");
  cmd->add_option("--agent", flags->agent,
                  "spark-agent to install, built for the nodes (default: next to sparkctl)");
  cmd->add_option("--nccl-worker", flags->nccl_worker,
                  "spark-nccl-worker to install, or none (default: next to --agent, if there)");
  cmd->add_option("--pki", flags->pki,
                  "directory with ca.crt and NODE.crt/NODE.key (default: agent.tls.ca's)");
  cmd->add_option("--known-hosts", flags->known_hosts,
                  "known_hosts file the nodes' host keys are checked against "
                  "(default ~/.ssh/known_hosts)");
  cmd->add_flag("--accept-new-host-keys", flags->accept_new_host_keys,
                "trust and record the host key of a node not yet in --known-hosts "
                "(StrictHostKeyChecking=accept-new); a changed key is still refused. Without "
                "it every node's key must already be known");
  cmd->add_option("--ssh-port", flags->ssh_port,
                  "sshd's port on the nodes (default: cluster.yaml's ssh.port, 22)")
      ->check(CLI::Range(1, 65535));
  cmd->add_flag("--check", flags->check,
                "dry run: compare the nodes' files and service, change nothing");
  cmd->add_option("--health-timeout", flags->health_timeout_s,
                  "seconds to wait for each agent to report SERVING (default 60)")
      ->check(CLI::PositiveNumber);
  cmd->callback([&context, flags] { context.exit_code = RunBootstrap(context, *flags); });
}

}  // namespace sparkfleet
