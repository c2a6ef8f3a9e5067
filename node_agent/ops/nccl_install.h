// NCCL installation: the operation behind NodeAgent.InstallNccl.
//
// APT (the default) follows NVIDIA's CUDA repository instructions for the node's
// distribution and architecture:
//   check         libnccl2 and libnccl-dev installed (at the requested version): done
//   cuda-keyring  curl (or wget) fetches
//                 https://developer.download.nvidia.com/compute/cuda/repos/<distro>/<arch>/cuda-keyring_1.1-1_all.deb
//                 (<distro> ubuntu2404 / ubuntu2204 / debian12 from /etc/os-release,
//                 <arch> sbsa on arm64, x86_64), then `dpkg -i` installs it; skipped when
//                 the cuda-keyring package is already installed
//   apt-update    apt-get update
//   apt-install   apt-get install -y libnccl2[=V] libnccl-dev[=V]
//   verify        libnccl.so.2 is found (NcclLocator) and its version read
// SOURCE follows NVIDIA's DGX Spark playbook: git clone --depth 1 --branch <tag>
// https://github.com/NVIDIA/nccl.git, make -j src.build NVCC_GENCODE=..., make
// src.install PREFIX=/opt/sparkfleet/nccl/<tag> (on the NcclLocator's default path);
// done already when <prefix>/lib/libnccl.so.2 exists.
//
// Every step is reported as an InstallStep event; a dry run reports what would change and
// runs nothing. Programs run through the ProcessRunner (so contract doubles on the
// agent's --tool-path stand in for apt-get, dpkg, curl, git and make in tests); paths
// handed to them are the Env's host paths.
#ifndef SPARKFLEET_NODE_AGENT_OPS_NCCL_INSTALL_H_
#define SPARKFLEET_NODE_AGENT_OPS_NCCL_INSTALL_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "node_agent/nccl/nccl_locator.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

struct NcclInstallNode {
  Env& env;
  ProcessRunner& runner;
  NcclLocator& locator;
  std::string node_name;
  std::string machine;             // uname -m: "aarch64", "x86_64"
  std::string compute_capability;  // first GPU's, "12.1"; empty when unknown
  int cpus = 1;                    // make -j default
};

using InstallNcclEmit = std::function<void(v1::InstallNcclEvent)>;

// INVALID_ARGUMENT for a version, tag, gencode or prefix that could not be passed safely.
[[nodiscard]] absl::Status ValidateInstallNcclRequest(const v1::InstallNcclRequest& request);

// Installs (or, dry run, plans) NCCL, emitting one event per step and the result last.
// FAILED_PRECONDITION when the distribution or architecture has no CUDA repository, a
// build tool is missing, or apt-get install fails (its message included); UNAVAILABLE
// when the keyring or the source cannot be downloaded; CANCELLED.
absl::Status InstallNccl(const NcclInstallNode& node, const v1::InstallNcclRequest& request,
                         const InstallNcclEmit& emit, const std::function<bool()>& cancelled);

// "ubuntu2404" from /etc/os-release's text; FAILED_PRECONDITION for a distribution
// NVIDIA's CUDA repository does not serve.
[[nodiscard]] absl::StatusOr<std::string> CudaRepoDistribution(absl::string_view os_release);
// "sbsa" for aarch64, "x86_64" for x86_64; FAILED_PRECONDITION otherwise.
[[nodiscard]] absl::StatusOr<std::string> CudaRepoArch(absl::string_view machine);
// "-gencode=arch=compute_121,code=sm_121" for "12.1"; empty for an unknown capability.
std::string GencodeFor(absl::string_view compute_capability);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_NCCL_INSTALL_H_
