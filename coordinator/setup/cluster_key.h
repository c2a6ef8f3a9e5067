// The cluster SSH key pair on the admin box (cluster.yaml ssh_key_path): the key every
// node's cluster user authorizes, made with ssh-keygen when it is missing.
#ifndef SPARKFLEET_COORDINATOR_SETUP_CLUSTER_KEY_H_
#define SPARKFLEET_COORDINATOR_SETUP_CLUSTER_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "common/process_runner.h"

namespace sparkfleet {

struct ClusterKey {
  // "ssh-ed25519 AAAA... sparkfleet@NAME". When `missing`, a placeholder (an all-zero
  // ed25519 key, comment "sparkfleet@NAME-not-made-yet") that stands in for the key in
  // dry runs, so their diffs show where it goes and hardening sees a key.
  std::string public_key;
  bool created = false;  // ssh-keygen made the pair on this run
  bool missing = false;  // no pair, and `create` was false (a --check run)
};

// Returns the public key of the pair at `private_key_path` (a path of `env`), read from
// "<path>.pub", or derived with `ssh-keygen -y` when only the private key is there.
// When the private key is missing and `create` is set, makes the directory (0700) and
// runs `ssh-keygen -t ed25519 -N "" -C sparkfleet@<cluster_name> -f PATH -q` through
// `runner`; without `create` it answers `missing` with the placeholder. The private key is never
// read or returned. FAILED_PRECONDITION for an empty path; INTERNAL with ssh-keygen's error when it
// fails.
[[nodiscard]] absl::StatusOr<ClusterKey> EnsureClusterKey(Env& env, ProcessRunner& runner,
                                                          const std::string& private_key_path,
                                                          absl::string_view cluster_name,
                                                          bool create);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_SETUP_CLUSTER_KEY_H_
