#include "tests/integration/harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "coordinator/pki.h"

namespace sparkfleet::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sparkfleet-it-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> c_argv;
  for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log, 1);
    dup2(log, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(log);
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
}

void ChildProcess::Signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::WaitExit(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) {
      pid_ = -1;
      return status;
    }
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return std::nullopt;
}

ClusterHarness::ClusterHarness() : runner_(NewPosixProcessRunner({})) {
  if (!InitCa(pki()).ok() || !IssueClientCertificate(pki(), "admin", Role::kAdmin).ok() ||
      !IssueClientCertificate(pki(), "reader", Role::kReader).ok()) {
    std::abort();
  }
}

std::string ClusterHarness::ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<AgentProcess*> ClusterHarness::StartAgent(
    const std::string& name, const std::vector<std::string>& extra_flags,
    const std::string& root_seed) {
  auto agent = std::make_unique<AgentProcess>();
  agent->name = name;
  std::string node_dir = absl::StrCat(dir(), "/", name);
  agent->root = node_dir + "/root";
  agent->log_path = node_dir + "/agent.log";
  if (!root_seed.empty()) {
    std::error_code error;
    std::filesystem::create_directories(node_dir, error);
    std::filesystem::copy(
        root_seed, agent->root,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks,
        error);
    if (error) {
      return absl::InternalError(absl::StrCat("copy ", root_seed, ": ", error.message()));
    }
  }
  std::filesystem::create_directories(agent->root + "/etc");
  std::ofstream(agent->root + "/etc/hostname") << name << "\n";
  if (absl::Status s = IssueNodeCertificate(pki(), name, {"127.0.0.1"}); !s.ok()) return s;
  std::string port_file = node_dir + "/agent.port";
  std::vector<std::string> argv = {SPARK_AGENT_PATH,
                                   "--listen=127.0.0.1:0",
                                   "--root=" + agent->root,
                                   "--node-name=" + name,
                                   "--tls-cert=" + pki() + "/" + name + ".crt",
                                   "--tls-key=" + pki() + "/" + name + ".key",
                                   "--tls-ca=" + pki() + "/ca.crt",
                                   "--port-file=" + port_file};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  agent->process = std::make_unique<ChildProcess>(argv, agent->log_path);
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    std::string text = ReadFile(port_file);
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &agent->port) && agent->port > 0) {
      agents_.push_back(std::move(agent));
      return agents_.back().get();
    }
    if (agent->process->WaitExit(absl::Milliseconds(10)).has_value()) {
      return absl::InternalError(
          absl::StrCat("agent ", name, " exited: ", ReadFile(agent->log_path)));
    }
  }
  return absl::DeadlineExceededError(
      absl::StrCat("agent ", name, " did not start: ", ReadFile(agent->log_path)));
}

std::string ClusterHarness::WriteClusterYaml(const std::vector<AgentProcess*>& agents,
                                             const std::string& client,
                                             const std::string& extra_nodes_yaml) {
  std::string yaml = "cluster_name: it\nnodes:\n";
  for (const AgentProcess* agent : agents) {
    absl::StrAppend(&yaml, "  - {hostname: ", agent->name,
                    ", ip: 127.0.0.1, user: root, port: ", agent->port, "}\n");
  }
  absl::StrAppend(&yaml, extra_nodes_yaml, "agent:\n  tls:\n    ca: pki/ca.crt\n    cert: pki/",
                  client, ".crt\n    key: pki/", client, ".key\n");
  std::string path = absl::StrCat(dir(), "/cluster-", client, ".yaml");
  std::ofstream(path) << yaml;
  return path;
}

ProcessResult ClusterHarness::RunSparkctl(const std::vector<std::string>& args,
                                          absl::Duration timeout) {
  std::vector<std::string> argv = {SPARKCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = timeout;
  absl::StatusOr<ProcessResult> result = runner_->Run(argv, options);
  if (!result.ok()) {
    ProcessResult failed;
    failed.stderr_text = std::string(result.status().message());
    return failed;
  }
  return *result;
}

}  // namespace sparkfleet::testing
