#include "coordinator/bootstrap.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/validate.h"
#include "coordinator/bootstrap_node.h"
#include "coordinator/pki.h"

namespace sparkfleet {
namespace {

using bootstrap_internal::InstallFile;
using bootstrap_internal::MakeInstallFile;

// deploy/spark-agent.service, made into a string literal by the top-level CMakeLists.txt.
constexpr char kSparkAgentUnit[] =
#include "coordinator/spark_agent_unit.inc"
    ;

absl::Status CheckFile(Env& local, const std::string& path, absl::string_view what,
                       absl::string_view fix, bool executable = false) {
  absl::StatusOr<FileInfo> info = local.Stat(path);
  if (!info.ok()) {
    return absl::Status(info.status().code(),
                        absl::StrCat(what, ": ", info.status().message(), " (", fix, ")"));
  }
  if (info->is_dir) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is a directory (", fix, ")"));
  }
  if (executable && (info->mode & 0111) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is not executable (chmod +x it)"));
  }
  return absl::OkStatus();
}

// The files every node gets: agent, worker, CA and the unit (written to staging first).
absl::StatusOr<std::vector<InstallFile>> CommonFiles(const BootstrapSources& sources, Env& local) {
  std::vector<InstallFile> files;
  std::string unit = absl::StrCat(sources.staging_dir, "/", kAgentUnitName);
  WriteOptions write;
  write.backup = false;
  if (absl::Status s = local.WriteFileAtomic(unit, sources.unit_text, write).status(); !s.ok()) {
    return s;
  }
  std::vector<std::tuple<std::string, std::string, std::string>> wanted = {
      {sources.agent_binary, std::string(kNodeAgentPath), "0755"},
      {CertificatePath(sources.pki_dir, kCaName), absl::StrCat(kNodeConfigDir, "/ca.crt"), "0644"},
      {unit, std::string(kNodeUnitPath), "0644"},
  };
  if (!sources.nccl_worker.empty()) {
    wanted.emplace_back(sources.nccl_worker, std::string(kNodeWorkerPath), "0755");
  }
  for (const auto& [path, node_path, mode] : wanted) {
    absl::StatusOr<InstallFile> file = MakeInstallFile(local, path, node_path, mode);
    if (!file.ok()) return file.status();
    files.push_back(*std::move(file));
  }
  return files;
}

}  // namespace

absl::string_view SparkAgentUnit() { return kSparkAgentUnit; }

std::string RenderBootstrapAgentYaml(const ClusterNode& node) {
  std::string dir(kNodeConfigDir);
  return absl::StrCat("# spark-agent settings for ", node.hostname,
                      ", written by `sparkctl bootstrap`; the next bootstrap\n"
                      "# replaces this file. Keys: config/agent.yaml.example.\n",
                      "listen: ", FormatHostPort(IsIpv6(node.ip) ? "::" : "0.0.0.0", node.port),
                      "\n",
                      "root: /\n",                       //
                      "tls_cert: ", dir, "/node.crt\n",  //
                      "tls_key: ", dir, "/node.key\n",   //
                      "tls_ca: ", dir, "/ca.crt\n",      //
                      "node_name: ", node.hostname, "\n");
}

absl::Status CheckBootstrapSources(const BootstrapSources& sources, const BootstrapOptions& options,
                                   Env& local) {
  const std::string& pki = sources.pki_dir;
  struct Check {
    std::string path;
    std::string what;
    std::string fix;
    bool executable;
  };
  std::vector<Check> checks = {
      {sources.agent_binary, "spark-agent binary",
       "build spark-agent for the nodes' architecture and pass it with --agent", true},
      {CertificatePath(pki, kCaName), "cluster CA certificate",
       absl::StrCat("make the CA with `sparkctl pki init --dir ", pki, "`, or pass --pki DIR"),
       false},
      {options.ssh.key_path, "ssh key (ssh_key_path)",
       "set ssh_key_path in cluster.yaml to the private key that logs in to the nodes", false},
  };
  if (!sources.nccl_worker.empty()) {
    checks.push_back({sources.nccl_worker, "spark-nccl-worker binary",
                      "pass --nccl-worker PATH, or --nccl-worker none", true});
  }
  for (const Check& check : checks) {
    if (absl::Status s = CheckFile(local, check.path, check.what, check.fix, check.executable);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckLocalPathForSsh(check.what, local.HostPath(check.path)); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          CheckLocalPathForSsh("known hosts file", local.HostPath(options.ssh.known_hosts_path));
      !s.ok()) {
    return s;
  }
  if (!options.ssh.accept_new_host_keys && !local.Exists(options.ssh.known_hosts_path)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "known hosts file ", options.ssh.known_hosts_path,
        " does not exist, so no node's host key can be checked: add the nodes' keys to it "
        "(ssh-keyscan NODE-IP, after comparing the fingerprints with the nodes' consoles), or "
        "pass --accept-new-host-keys to trust each node's key on first contact"));
  }
  return CheckLocalPathForSsh("staging directory", local.HostPath(sources.staging_dir));
}

std::vector<BootstrapNodeResult> BootstrapNodes(const std::vector<ClusterNode>& nodes,
                                                const BootstrapSources& sources,
                                                const BootstrapOptions& options, Env& local,
                                                ProcessRunner& runner,
                                                const AgentHealthCheck& health) {
  std::vector<BootstrapNodeResult> results(nodes.size());
  absl::StatusOr<std::vector<InstallFile>> common = CommonFiles(sources, local);
  if (!common.ok()) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      results[i].node = nodes[i].hostname;
      results[i].failed_step = "prepare";
      results[i].error = common.status();
    }
    return results;
  }
  SshConnection ssh = options.ssh;
  ssh.key_path = local.HostPath(ssh.key_path);
  ssh.known_hosts_path = local.HostPath(ssh.known_hosts_path);
  const bootstrap_internal::SharedRun shared{
      sources, options, local, runner, health, std::move(ssh), *std::move(common)};
  std::atomic<size_t> next{0};
  size_t workers = std::min(nodes.size(), static_cast<size_t>(std::max(options.parallel, 1)));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < workers; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < nodes.size(); i = next++) {
        results[i] = bootstrap_internal::BootstrapOneNode(nodes[i], shared);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return results;
}

}  // namespace sparkfleet
