// nccl.conf from cluster.yaml's settings and what this node's probe found: the operation
// behind NodeAgent.WriteNcclConf.
//
// What gets written (KEY=value lines, no spaces: NCCL does not trim):
//   NCCL_SOCKET_IFNAME  "=" + the cabled netdevs with an active RDMA port, carrier and an
//                       address (on a Spark the two halves of the cabled port), else the
//                       interface holding the node's cluster address; never lo, veth,
//                       bridges, docker*, tailscale* or Wi-Fi (NCCL's own choice can land
//                       on tailscale0).
//   NCCL_IB_HCA         "=" + every RDMA device with an ACTIVE port on those cabled netdevs
//                       (InfiniBand ports: every ACTIVE one), "dev:port" for multi-port
//                       devices.
//   anything in the request's env, which wins over probed values. NCCL_IB_GID_INDEX is
//   written only when the env carries it (cluster.yaml pins it per node).
// The header says what wrote the file and when. It is only renewed when the KEY=value
// body changes, so a re-run with the same inputs leaves the file untouched (no write,
// same mtime).
#ifndef SPARKFLEET_NODE_AGENT_OPS_NCCL_CONF_H_
#define SPARKFLEET_NODE_AGENT_OPS_NCCL_CONF_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// Who writes the file and when, for its header.
struct NcclConfAuthor {
  std::string node_name;
  std::string agent_version;
  absl::Time now;
};

// The KEY=value part of nccl.conf and where each line came from.
struct NcclConfBody {
  std::string text;  // sorted KEY=value lines, each ending in '\n'
  std::vector<v1::NcclSetting> settings;
};

// INVALID_ARGUMENT when conf_path, an env key or value, or the cluster address is not
// acceptable (see common/nccl_config.h for the rules); the message names the field.
[[nodiscard]] absl::Status ValidateWriteNcclConfRequest(const v1::WriteNcclConfRequest& request);

// The body for `request` on the machine `probe` describes. Pure. FAILED_PRECONDITION
// when NCCL_SOCKET_IFNAME is not in the env and neither a cabled RDMA netdev nor a usable
// interface holding request.cluster_address exists; the message says what to set.
// REQUIRES: ValidateWriteNcclConfRequest(request) is OK.
[[nodiscard]] absl::StatusOr<NcclConfBody> RenderNcclConfBody(
    const v1::WriteNcclConfRequest& request, const v1::ProbeReply& probe);

// The comment block that opens the file, ending with an empty line.
std::string NcclConfHeader(const NcclConfAuthor& author);

// `text` without its opening comment block (the leading '#' lines up to and including
// the first empty line): what is compared to decide whether the file changes.
absl::string_view NcclConfBodyOf(absl::string_view text);

// Renders, compares with the file at request.conf_path (default /etc/nccl.conf) and,
// unless dry_run or unchanged, replaces it atomically keeping a backup. The reply's
// ChangeReport has the diff (also on dry runs) and the backup path. A missing parent
// directory is FAILED_PRECONDITION; under /root or /home the file is given the owner of
// its directory.
// REQUIRES: ValidateWriteNcclConfRequest(request) is OK.
[[nodiscard]] absl::StatusOr<v1::WriteNcclConfReply> WriteNcclConf(
    Env& env, const v1::WriteNcclConfRequest& request, const v1::ProbeReply& probe,
    const NcclConfAuthor& author);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_NCCL_CONF_H_
