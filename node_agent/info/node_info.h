// NodeInfoReader answers GetInfo: who this node is and what is installed on it.
//
// Everything is read through the Env (so `--root` sandboxes and fixture trees work):
// hostname and kernel from /proc/sys/kernel, /etc/os-release, /proc/uptime, dpkg's
// status file for package versions, and well-known program and library paths for
// presence. No program is run, so a GetInfo costs a few file reads; dpkg's status file
// is parsed again only when its size, modification time or inode changes, and the NCCL
// locator keeps its answers for a few seconds.
//
// Thread-safety: Read() may be called concurrently.
#ifndef SPARKFLEET_NODE_AGENT_INFO_NODE_INFO_H_
#define SPARKFLEET_NODE_AGENT_INFO_NODE_INFO_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/env.h"
#include "node_agent/nccl/nccl_locator.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// The CUDA toolkit's version from /usr/local/cuda/version.json
// ({"cuda": {"name": "CUDA SDK", "version": "13.0.1"}, ...}): "13.0.1", or "" when the
// text is not that JSON or the version is not dotted digits. Pure.
std::string CudaToolkitVersion(absl::string_view version_json);

class NodeInfoReader {
 public:
  // `env` (and `nccl`, when given) must outlive the reader. `node_name` is the agent's
  // configured name. With `nccl`, NCCL is reported where the locator finds it (the
  // search the workers use), with its version; without, from well-known paths.
  NodeInfoReader(Env& env, std::string node_name, NcclLocator* nccl = nullptr);
  NodeInfoReader(const NodeInfoReader&) = delete;
  NodeInfoReader& operator=(const NodeInfoReader&) = delete;

  // Never fails as a whole: facts that cannot be read are left empty.
  v1::NodeInfo Read();

 private:
  absl::flat_hash_map<std::string, std::string> InstalledPackages();
  void AddComponents(v1::NodeInfo& info);
  void AddNccl(v1::InstalledComponent& component);

  Env& env_;
  const std::string node_name_;
  NcclLocator* const nccl_;
  absl::Mutex mu_;
  int64_t dpkg_size_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t dpkg_mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t dpkg_inode_ ABSL_GUARDED_BY(mu_) = 0;  // dpkg replaces the file by rename
  absl::flat_hash_map<std::string, std::string> dpkg_packages_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_INFO_NODE_INFO_H_
