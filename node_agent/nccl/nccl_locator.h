// NcclLocator: where this node's libnccl.so.2 and libcuda.so.1 are, found as
// spark-nccl-worker's loader would find them, read through the Env (so --root sandboxes
// and fixture trees work) and without loading anything but, once, NCCL for its version.
//
// The search path is a list of entries, searched in order:
//   "ld.so"   the dynamic loader: LD_LIBRARY_PATH, /etc/ld.so.cache, then /lib64,
//             /usr/lib64, /lib/<multiarch>, /usr/lib/<multiarch>, /lib, /usr/lib
//   a directory, where '*' may stand for a name part ("/opt/sparkfleet/nccl/*/lib")
// The default is "ld.so", the directories of $SPARKFLEET_NCCL_PATH, /opt/sparkfleet/nccl/*/lib
// (InstallNccl's source builds) and the nvidia-nccl Python wheel's
// */site-packages/nvidia/nccl/lib under /usr/lib/python3*, /usr/local/lib/python3* and the
// prefix of the python3 in PATH. A configured path (agent.yaml nccl_search_path,
// --nccl-search-path) replaces the default entirely, so a test can point it at an empty
// directory on a machine whose loader knows NCCL.
//
// Thread-safety: safe for concurrent use. Answers are kept for a few seconds (GetInfo
// stays a few file reads); Invalidate() forgets them (after InstallNccl).
#ifndef SPARKFLEET_NODE_AGENT_NCCL_NCCL_LOCATOR_H_
#define SPARKFLEET_NODE_AGENT_NCCL_NCCL_LOCATOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/env.h"

namespace sparkfleet {

struct NcclSearchOptions {
  std::vector<std::string> configured;  // empty: the default search path
  // The agent's environment, passed in so tests need not change their own.
  std::string ld_library_path;
  std::string sparkfleet_nccl_path;
  std::string path;  // PATH, to find python3's prefix

  // `configured` plus the three variables from this process's environment.
  static NcclSearchOptions FromEnvironment(std::vector<std::string> configured);
};

struct LibraryLocation {
  std::string path;      // node path of the library file
  std::string found_by;  // "ld.so.cache", "LD_LIBRARY_PATH", "/opt/sparkfleet/nccl/v2.27.7-1/lib"
};

// What a run needs and where it was found.
struct NcclRuntime {
  std::optional<LibraryLocation> nccl;
  std::optional<LibraryLocation> cuda_driver;
  std::string nccl_version;  // "2.27.7"; empty when unknown
  std::string searched;      // the search path in words, for messages
};

class NcclLocator {
 public:
  // `env` must outlive the locator.
  NcclLocator(Env& env, NcclSearchOptions options);
  NcclLocator(const NcclLocator&) = delete;
  NcclLocator& operator=(const NcclLocator&) = delete;

  NcclRuntime Find();
  void Invalidate();

  // The entries searched, in order, as configured (patterns unexpanded).
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::optional<LibraryLocation> Search(absl::string_view soname);
  std::optional<LibraryLocation> SearchLoader(absl::string_view soname);
  std::vector<std::string> ExpandEntry(const std::string& entry);
  std::string VersionOf(const LibraryLocation& nccl);

  Env& env_;
  const NcclSearchOptions options_;
  const std::vector<std::string> entries_;
  absl::Mutex mu_;
  std::optional<NcclRuntime> cached_ ABSL_GUARDED_BY(mu_);
  absl::Time cached_at_ ABSL_GUARDED_BY(mu_);
  // ncclGetVersion's answer per library file (path, inode, mtime): dlopen happens once.
  std::string dlopen_key_ ABSL_GUARDED_BY(mu_);
  std::string dlopen_version_ ABSL_GUARDED_BY(mu_);
};

// FAILED_PRECONDITION naming every missing piece and how to get it, or OK when `runtime`
// has both libraries. `node` names the node in the message.
absl::Status CheckNcclRuntime(const NcclRuntime& runtime, absl::string_view node);

// "2.27.7" from a library or directory name: "libnccl.so.2.27.7", "v2.27.7-1",
// "nvidia_nccl_cu12-2.27.7.dist-info"; empty when the name carries no version.
std::string NcclVersionFromName(absl::string_view name);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NCCL_NCCL_LOCATOR_H_
