// TailscaleRecord: what `sparkctl tailscale` and `sparkctl tailscale-status` learnt of each
// node's Tailscale address, kept on the admin box so that the commands that contact no
// node (`get network|endpoints|config`, `connect --tailscale`) can show it.
//
// The record lives beside cluster.yaml, in .sparkfleet/tailscale.json, as protobuf's JSON
// of a v1::ClusterConfig holding only cluster_name and tailscale_ip. It holds addresses,
// never a key. A missing or unreadable record means "no address known".
#ifndef SPARKFLEET_COORDINATOR_TAILSCALE_RECORD_H_
#define SPARKFLEET_COORDINATOR_TAILSCALE_RECORD_H_

#include <string>

#include "absl/status/status.h"
#include "common/cluster_config.h"
#include "coordinator/cluster_views.h"

namespace sparkfleet {

// "<directory of config_path>/.sparkfleet/tailscale.json", absolute.
std::string TailscaleRecordPath(const std::string& config_path);

// The recorded addresses of `config`'s nodes (other names, a record of another cluster,
// or entries that are not IP addresses are ignored); empty when there is no record.
TailscaleAddresses LoadTailscaleAddresses(const std::string& config_path,
                                          const ClusterConfig& config);

// Merges `learnt` into the record (atomically, no backup) and keeps what it knew of
// other nodes. Errors name the file.
[[nodiscard]] absl::Status SaveTailscaleAddresses(const std::string& config_path,
                                                  const ClusterConfig& config,
                                                  const TailscaleAddresses& learnt);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_TAILSCALE_RECORD_H_
