// Test harness for integration tests: a cluster CA with certificates, real spark-agent
// processes started with argv and stopped by PID, and sparkctl runs.
//
// Everything a harness starts is stopped in its destructor (SIGKILL after a bounded
// SIGTERM wait), also when the test fails; temp directories are removed.
#ifndef SPARKFLEET_TESTS_INTEGRATION_HARNESS_H_
#define SPARKFLEET_TESTS_INTEGRATION_HARNESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/process_runner.h"

namespace sparkfleet::testing {

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process whose stdout and stderr go to `log_path`.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILL if still running

  pid_t pid() const { return pid_; }
  void Signal(int signal_number);
  // Waits for exit up to `timeout`; returns the wait status or nullopt.
  std::optional<int> WaitExit(absl::Duration timeout);
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

// One running agent with its own root, certificate and port.
struct AgentProcess {
  std::string name;
  std::string root;
  std::string log_path;
  int port = 0;
  std::unique_ptr<ChildProcess> process;
};

class ClusterHarness {
 public:
  // Makes a CA plus "admin" and "reader" client certificates under a temp directory.
  ClusterHarness();

  // Starts spark-agent `name` on 127.0.0.1 (port chosen by the agent) and waits for its
  // port file. Extra flags are appended. When `root_seed` is set, the agent's --root
  // starts as a copy of that tree (symlinks kept, like `cp -a`), e.g. a hardware fixture
  // from tests/testdata/sysfs/, so the agent may write into it.
  absl::StatusOr<AgentProcess*> StartAgent(const std::string& name,
                                           const std::vector<std::string>& extra_flags = {},
                                           const std::string& root_seed = "");

  // Writes cluster.yaml for `agents` plus `extra_nodes_yaml` (raw YAML list entries)
  // using the client certificate `client` ("admin" or "reader"); returns its path.
  std::string WriteClusterYaml(const std::vector<AgentProcess*>& agents, const std::string& client,
                               const std::string& extra_nodes_yaml = "");

  // Runs sparkctl with `args` (no shell) and returns what it did.
  ProcessResult RunSparkctl(const std::vector<std::string>& args,
                            absl::Duration timeout = absl::Seconds(60));

  const std::string& dir() const { return dir_.path(); }
  std::string pki() const { return dir_.path() + "/pki"; }
  static std::string ReadFile(const std::string& path);

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::unique_ptr<ProcessRunner> runner_;
};

}  // namespace sparkfleet::testing

#endif  // SPARKFLEET_TESTS_INTEGRATION_HARNESS_H_
