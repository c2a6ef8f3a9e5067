#include "coordinator/bootstrap_node.h"

#include <openssl/evp.h>

#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "coordinator/pki.h"
#include "coordinator/render.h"

namespace sparkfleet::bootstrap_internal {
namespace {

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(size)));
}

// What to do about the most common first-contact failures, from ssh's last line.
std::string Hint(absl::string_view last_line, const SshConnection& ssh, const ClusterNode& node) {
  if (absl::StrContains(last_line, "Host key verification failed")) {
    return absl::StrCat(" (", node.ip, "'s host key is not in ", ssh.known_hosts_path,
                        " or has changed: check its fingerprint and add it, e.g. with "
                        "ssh-keyscan, or pass --accept-new-host-keys for a node never "
                        "contacted before)");
  }
  if (absl::StrContains(last_line, "Permission denied (publickey")) {
    return absl::StrCat(" (put the public half of ", ssh.key_path, " into ", node.user,
                        "'s authorized_keys on the node, e.g. with ssh-copy-id)");
  }
  return "";
}

class NodeRun {
 public:
  NodeRun(const ClusterNode& node, const SharedRun& shared) : node_(node), shared_(shared) {}
  NodeRun(const NodeRun&) = delete;
  NodeRun& operator=(const NodeRun&) = delete;

  BootstrapNodeResult Run() {
    absl::Time start = absl::Now();
    result_.node = node_.hostname;
    absl::Status status = RunSteps();
    result_.duration = absl::Now() - start;
    if (!status.ok()) {
      result_.state = BootstrapState::kFailed;
      result_.failed_step = step_;
      result_.error = status;
    } else {
      bool changed = !result_.changed_files.empty() || !result_.service_actions.empty();
      result_.state = changed ? BootstrapState::kChanged : BootstrapState::kOk;
    }
    return std::move(result_);
  }

 private:
  absl::Status RunSteps() {
    step_ = "prepare";
    if (absl::Status s = Prepare(); !s.ok()) return s;
    step_ = "connect";
    absl::StatusOr<std::string> uid = RemoteOk({"id", "-u"}, false);
    if (!uid.ok()) return uid.status();
    root_ = LastLine(*uid) == "0";
    if (absl::Status s = CheckMachine(); !s.ok()) return s;
    if (!root_) {
      step_ = "sudo";
      if (absl::Status s = RemoteOk({"true"}, true).status(); !s.ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            node_.user, " cannot run sudo without a password on ", node_.hostname, ": ",
            s.message(), " (allow it with a NOPASSWD sudoers rule, or use user: root)"));
      }
    }
    step_ = "compare";
    if (absl::Status s = Compare(); !s.ok()) return s;
    std::vector<std::string> actions = PlannedActions();
    if (shared_.options.check) {
      result_.service_actions = actions;
      return absl::OkStatus();
    }
    if (!changed_.empty()) {
      if (absl::Status s = StageAndInstall(); !s.ok()) return s;
    }
    step_ = "systemd";
    for (const std::string& action : actions) {
      if (absl::Status s = ServiceAction(action); !s.ok()) return WithJournal(s);
      result_.service_actions.push_back(action);
    }
    step_ = "health";
    absl::Status serving = WaitUntilServing(shared_.health, node_, shared_.options.health_timeout,
                                            shared_.options.health_interval);
    return serving.ok() ? serving : WithJournal(serving);
  }

  // A DGX Spark is aarch64 and an admin box often x86_64: a binary built for the wrong
  // one would only fail when systemd starts it.
  absl::Status CheckMachine() {
    absl::StatusOr<std::string> uname = RemoteOk({"uname", "-m"}, false);
    if (!uname.ok()) return uname.status();
    std::string machine = LastLine(*uname);
    for (const InstallFile& file : files_) {
      if (file.machine.empty() || file.machine == machine) continue;
      return absl::FailedPreconditionError(
          absl::StrCat(file.local_path, " is built for ", file.machine, " but ", node_.hostname,
                       " is ", machine, ": build it for ", machine, " and pass it to bootstrap"));
    }
    return absl::OkStatus();
  }

  // The node's own files (certificate, key, agent.yaml) after the shared ones.
  absl::Status Prepare() {
    files_ = shared_.common_files;
    const std::string& pki = shared_.sources.pki_dir;
    std::string cert = CertificatePath(pki, node_.hostname);
    std::string key = PrivateKeyPath(pki, node_.hostname);
    if (!shared_.local.Exists(cert) || !shared_.local.Exists(key)) {
      return absl::NotFoundError(absl::StrCat("no certificate for ", node_.hostname, " (", cert,
                                              ", ", key,
                                              "): make it with `sparkctl pki issue --dir ", pki,
                                              " --node ", node_.hostname, " --ip ", node_.ip, "`"));
    }
    std::string staging = absl::StrCat(shared_.sources.staging_dir, "/", node_.hostname);
    if (absl::Status s = shared_.local.MakeDirs(staging, 0700); !s.ok()) return s;
    WriteOptions write;
    write.backup = false;
    std::string yaml = staging + "/agent.yaml";
    absl::Status written =
        shared_.local.WriteFileAtomic(yaml, RenderBootstrapAgentYaml(node_), write).status();
    if (!written.ok()) return written;
    const std::string dir(kNodeConfigDir);
    for (const auto& [path, node_path, mode] :
         {std::make_tuple(cert, dir + "/node.crt", "0644"),
          std::make_tuple(key, dir + "/node.key", "0600"),
          std::make_tuple(yaml, dir + "/agent.yaml", "0644")}) {
      absl::StatusOr<InstallFile> file = MakeInstallFile(shared_.local, path, node_path, mode);
      if (!file.ok()) return file.status();
      files_.push_back(*std::move(file));
    }
    return CheckStagedNames();
  }

  // scp keeps each file's local name in the staging directory, so two may not share one.
  absl::Status CheckStagedNames() const {
    std::map<std::string, std::string> seen;
    for (const InstallFile& file : files_) {
      auto [it, inserted] = seen.emplace(file.StagedName(), file.local_path);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(it->second, " and ", file.local_path,
                                                       " have the same file name \"", it->first,
                                                       "\"; rename one of them"));
      }
    }
    return absl::OkStatus();
  }

  // Which files differ from the node's, and the unit's state.
  absl::Status Compare() {
    std::vector<std::string> sha256sum = {"sha256sum", "--"};
    for (const InstallFile& file : files_) sha256sum.push_back(file.node_path);
    // Exit status 1: some file is missing, which only means it is to be installed.
    absl::StatusOr<std::string> sums = RemoteOk(sha256sum, true, /*missing_ok=*/true);
    if (!sums.ok()) return sums.status();
    std::map<std::string, std::string> installed = ParseSha256Sums(*sums);
    for (const InstallFile& file : files_) {
      if (installed[file.node_path] == file.sha256) continue;
      changed_.push_back(&file);
      result_.changed_files.push_back(file.node_path);
    }
    absl::StatusOr<std::string> show = RemoteOk(
        {"systemctl", "show", "--property=ActiveState,UnitFileState", std::string(kAgentUnitName)},
        false);
    if (!show.ok()) return show.status();
    unit_state_ = ParseSystemctlShow(*show);
    return absl::OkStatus();
  }

  std::vector<std::string> PlannedActions() {
    bool unit_changed = false;
    for (const InstallFile* file : changed_) unit_changed |= file->node_path == kNodeUnitPath;
    bool active = unit_state_["ActiveState"] == "active";
    bool enabled = unit_state_["UnitFileState"] == "enabled";
    std::vector<std::string> actions;
    if (unit_changed) actions.push_back("daemon-reload");
    if (!active || !enabled) actions.push_back("enable --now");
    // A running agent keeps its old binary, certificate and settings until restarted.
    if (active && !changed_.empty()) actions.push_back("restart");
    return actions;
  }

  absl::Status ServiceAction(const std::string& action) {
    std::string unit(kAgentUnitName);
    if (action == "daemon-reload") return RemoteOk({"systemctl", "daemon-reload"}, true).status();
    if (action == "restart") return RemoteOk({"systemctl", "restart", unit}, true).status();
    return RemoteOk({"systemctl", "enable", "--now", unit}, true).status();
  }

  // stage, copy and install the changed files; the staging directory is always removed.
  absl::Status StageAndInstall() {
    step_ = "stage";
    absl::StatusOr<std::string> made =
        RemoteOk({"mktemp", "-d", "-t", "sparkfleet-bootstrap.XXXXXXXXXX"}, false);
    if (!made.ok()) return made.status();
    std::string dir = LastLine(*made);
    if (!IsSafeRemoteWord(dir) || dir.front() != '/') {
      return absl::InternalError(absl::StrCat("mktemp on ", node_.hostname, " printed \"",
                                              absl::CHexEscape(dir), "\", not a directory"));
    }
    absl::Status status = CopyAndInstall(dir);
    absl::StatusOr<std::string> removed = RemoteOk({"rm", "-rf", "--", dir}, false);
    if (!removed.ok()) {
      LogWarning("bootstrap ", node_.hostname, ": could not remove ", dir, ": ",
                 removed.status().message());
    }
    return status;
  }

  absl::Status CopyAndInstall(const std::string& dir) {
    step_ = "copy";
    std::vector<std::string> local_files;
    for (const InstallFile* file : changed_) local_files.push_back(file->scp_path);
    absl::StatusOr<std::vector<std::string>> scp = ScpArgv(shared_.ssh, node_, local_files, dir);
    if (!scp.ok()) return scp.status();
    std::vector<std::string> what = {"scp"};
    for (const InstallFile* file : changed_) what.push_back(file->StagedName());
    what.push_back(dir + "/");
    if (absl::Status s = Check(what, Start(*scp, shared_.options.copy_timeout)); !s.ok()) {
      return s;
    }
    step_ = "install";
    for (const InstallFile* file : changed_) {
      absl::Status s = RemoteOk({"install", "-D", "-m", file->mode,
                                 absl::StrCat(dir, "/", file->StagedName()), file->node_path},
                                true)
                           .status();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Runs `words` on the node (behind `sudo -n` when `privileged` and not root); returns
  // stdout when the command exited 0 (or 1, with `missing_ok`).
  absl::StatusOr<std::string> RemoteOk(std::vector<std::string> words, bool privileged,
                                       bool missing_ok = false) {
    if (privileged && !root_) words.insert(words.begin(), {"sudo", "-n"});
    absl::StatusOr<std::vector<std::string>> argv = SshArgv(shared_.ssh, node_, words);
    if (!argv.ok()) return argv.status();
    absl::StatusOr<ProcessResult> result = Start(*argv, shared_.options.command_timeout);
    if (missing_ok && result.ok() && result->exit_code == 1 && !result->timed_out) {
      return result->stdout_text;
    }
    if (absl::Status s = Check(words, result); !s.ok()) return s;
    return result->stdout_text;
  }

  absl::StatusOr<ProcessResult> Start(const std::vector<std::string>& argv,
                                      absl::Duration timeout) {
    ProcessOptions options;
    options.timeout = timeout;
    options.max_output_bytes = 1 << 20;
    return shared_.runner.Run(argv, options);
  }

  // OK when `result` ran and exited 0; else an error naming the command, how it ended
  // and the last line it wrote.
  absl::Status Check(const std::vector<std::string>& what,
                     const absl::StatusOr<ProcessResult>& result) {
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat(result.status().message(),
                                       " (ssh and scp come from the openssh-client package)"));
    }
    if (result->ok()) return absl::OkStatus();
    std::string last = LastLine(result->stderr_text);
    if (last.empty()) last = LastLine(result->stdout_text);
    absl::StatusCode code = result->timed_out          ? absl::StatusCode::kDeadlineExceeded
                            : result->exit_code == 255 ? absl::StatusCode::kUnavailable
                                                       : absl::StatusCode::kFailedPrecondition;
    return absl::Status(
        code, absl::StrCat("`", absl::StrJoin(what, " "), "` on ", node_.user, "@", node_.ip, ": ",
                           result->Describe(), last.empty() ? "" : ": ", last,
                           Hint(last, shared_.ssh, node_)));
  }

  // `status` with the last line spark-agent wrote to the journal, which usually says why
  // it did not start.
  absl::Status WithJournal(const absl::Status& status) {
    absl::StatusOr<std::string> journal =
        RemoteOk({"journalctl", "_SYSTEMD_UNIT=" + std::string(kAgentUnitName), "-n", "1",
                  "--no-pager", "-o", "cat"},
                 true);
    if (!journal.ok() || LastLine(*journal).empty()) return status;
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(), "; spark-agent's journal: ", LastLine(*journal)));
  }

  const ClusterNode& node_;
  const SharedRun& shared_;
  BootstrapNodeResult result_;
  std::string step_;
  bool root_ = false;
  std::vector<InstallFile> files_;
  std::vector<const InstallFile*> changed_;  // into files_
  std::map<std::string, std::string> unit_state_;
};

}  // namespace

std::string InstallFile::StagedName() const {
  size_t slash = scp_path.find_last_of('/');
  return slash == std::string::npos ? scp_path : scp_path.substr(slash + 1);
}

std::string ElfMachine(absl::string_view content) {
  // e_ident: "\x7fELF", class, data (1 = little endian); e_machine is at offset 18.
  if (content.size() < 20 || content.substr(0, 4) !=
                                 "\x7f"
                                 "ELF")
    return "";
  unsigned char b0 = static_cast<unsigned char>(content[18]);
  unsigned char b1 = static_cast<unsigned char>(content[19]);
  int machine = content[5] == 1 ? (b0 | b1 << 8) : (b1 | b0 << 8);
  switch (machine) {
    case 62:  // EM_X86_64
      return "x86_64";
    case 183:  // EM_AARCH64
      return "aarch64";
    default:
      return "";
  }
}

absl::StatusOr<InstallFile> MakeInstallFile(Env& local, const std::string& local_path,
                                            absl::string_view node_path, absl::string_view mode) {
  absl::StatusOr<std::string> content = local.ReadFile(local_path);  // names the path
  if (!content.ok()) return content.status();
  InstallFile file;
  file.local_path = local_path;
  file.scp_path = local.HostPath(local_path);
  file.node_path = std::string(node_path);
  file.mode = std::string(mode);
  file.sha256 = Sha256Hex(*content);
  file.machine = ElfMachine(*content);
  return file;
}

BootstrapNodeResult BootstrapOneNode(const ClusterNode& node, const SharedRun& shared) {
  NodeRun run(node, shared);
  return run.Run();
}

}  // namespace sparkfleet::bootstrap_internal
