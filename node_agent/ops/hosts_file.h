// /etc/hosts for the cluster: the operation behind NodeAgent.ConfigureHosts.
//
// The cluster's names live in a managed block (common/managed_block.h):
//
//   # BEGIN sparkfleet
//   192.168.1.101	spark-001.cluster spark-001
//   192.168.1.102	spark-002.cluster spark-002
//   # END sparkfleet
//
// one "ADDRESS<TAB>name1 name2 ..." line per entry, in request order. Every byte outside
// the block (the admin's lines, comments, odd whitespace, a last line without '\n')
// stays as it was, and the file keeps its mode and owner (a new file is 0644). An empty
// entry list removes the block.
#ifndef SPARKFLEET_NODE_AGENT_OPS_HOSTS_FILE_H_
#define SPARKFLEET_NODE_AGENT_OPS_HOSTS_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/env.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

inline constexpr char kHostsPath[] = "/etc/hosts";

// INVALID_ARGUMENT naming the entry ("entries[2].names[0]") when an address is not a
// literal IPv4/IPv6 address, an entry has no name, or a name is not an RFC 1123 host name.
[[nodiscard]] absl::Status ValidateConfigureHostsRequest(const v1::ConfigureHostsRequest& request);

// The block's body: one line per entry, each ending in '\n'. Pure.
// REQUIRES: ValidateConfigureHostsRequest(request) is OK.
std::string RenderHostsBlock(const v1::ConfigureHostsRequest& request);

// Replaces the managed block of /etc/hosts (or reports, on a dry run, what would change).
// FAILED_PRECONDITION when the file's markers are broken (edited by hand); Env errors
// otherwise. REQUIRES: ValidateConfigureHostsRequest(request) is OK.
[[nodiscard]] absl::StatusOr<v1::ConfigureHostsReply> ConfigureHosts(
    Env& env, const v1::ConfigureHostsRequest& request);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_HOSTS_FILE_H_
