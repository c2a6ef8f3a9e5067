// Internal to bootstrap.cc: one node's run of `sparkctl bootstrap` (the steps listed in
// bootstrap.h), and the files it installs. Not for use elsewhere.
#ifndef SPARKFLEET_COORDINATOR_BOOTSTRAP_NODE_H_
#define SPARKFLEET_COORDINATOR_BOOTSTRAP_NODE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/bootstrap.h"

namespace sparkfleet::bootstrap_internal {

// A file to put on a node.
struct InstallFile {
  std::string local_path;  // on the admin box, as the Env sees it
  std::string scp_path;    // the same file as scp must be given it (Env::HostPath)
  std::string node_path;   // where it goes on the node
  std::string mode;        // "0644"
  std::string sha256;      // of its content, lower-case hex
  // For an ELF executable of a known machine, what `uname -m` says on such a machine
  // ("x86_64", "aarch64"); empty otherwise.
  std::string machine;

  // Its name in the node's staging directory (scp keeps the local name).
  std::string StagedName() const;
};

// `uname -m` of the machine an ELF executable is built for; "" when `content` is not
// ELF or its machine is not one sparkfleet knows.
std::string ElfMachine(absl::string_view content);

// Reads `local_path` through `local` to hash it. NOT_FOUND (and friends) name the path.
absl::StatusOr<InstallFile> MakeInstallFile(Env& local, const std::string& local_path,
                                            absl::string_view node_path, absl::string_view mode);

// What every node's run shares; all references outlive the runs.
struct SharedRun {
  const BootstrapSources& sources;
  const BootstrapOptions& options;
  Env& local;
  ProcessRunner& runner;
  const AgentHealthCheck& health;
  SshConnection ssh;                      // options.ssh with paths as ssh must see them
  std::vector<InstallFile> common_files;  // agent, worker, CA, unit
};

// Runs every step for `node`; never throws, always returns a result.
BootstrapNodeResult BootstrapOneNode(const ClusterNode& node, const SharedRun& shared);

}  // namespace sparkfleet::bootstrap_internal

#endif  // SPARKFLEET_COORDINATOR_BOOTSTRAP_NODE_H_
