// The direct ConnectX-7 link between Sparks: the operation behind NodeAgent.ConfigureLink.
//
// sparkfleet owns one netplan file, /etc/netplan/40-sparkfleet.yaml (mode 0600, as
// netplan wants), with static addresses and MTU for the link's interfaces:
//
//   network:
//     version: 2
//     ethernets:
//       enp1s0f1np1:
//         dhcp4: false
//         dhcp6: false
//         addresses:
//           - "192.168.100.10/24"
//         mtu: 9000
//
// Interfaces are sorted by name and nothing in the file depends on time, so a re-run
// with the same request leaves the file alone and runs nothing. A changed file is
// written, `netplan apply` runs, and the agent polls until the link has settled: the
// management address is assigned to a local interface again (netplan apply drops it for
// about a second) and every link interface has carrier and operstate "up", seen twice
// `stable_for` apart. When apply fails or the link does not settle within
// settle_timeout_ms, the previous file is put back (or removed, if there was none),
// `netplan apply` runs again, and the error says what failed and how the re-apply went.
#ifndef SPARKFLEET_NODE_AGENT_OPS_NETPLAN_LINK_H_
#define SPARKFLEET_NODE_AGENT_OPS_NETPLAN_LINK_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

inline constexpr char kNetplanLinkPath[] = "/etc/netplan/40-sparkfleet.yaml";

// How ConfigureLink runs netplan and waits for the link. Tests replace the clock and
// the sleep so that a 30 s settle timeout passes in no time.
struct LinkWait {
  absl::Duration poll_interval = absl::Milliseconds(200);
  // The settled state must still hold this long after it is first seen: right after
  // `netplan apply` returns, networkd may not yet have dropped the old address.
  absl::Duration stable_for = absl::Seconds(1);
  absl::Duration apply_timeout = absl::Seconds(60);  // per `netplan apply`
  std::function<absl::Time()> now = [] { return absl::Now(); };
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
  // True when the caller went away or the agent stops: the wait ends and the change is
  // rolled back (a half-verified link could cut the node off). `netplan apply` itself is
  // never interrupted.
  std::function<bool()> cancelled = [] { return false; };
};

// INVALID_ARGUMENT naming the field ("interfaces[1].addresses[0]") unless: at least one
// interface, names valid and distinct, addresses are "IP/prefix" (IPv4 /1../32, IPv6
// /1../128), mtu_bytes is 0 (unset) or 576..9216, management_address (optional) is an IP.
[[nodiscard]] absl::Status ValidateConfigureLinkRequest(const v1::ConfigureLinkRequest& request);

// The netplan file's content. Pure. REQUIRES: the request is valid.
std::string RenderNetplanLink(const v1::ConfigureLinkRequest& request);

// Whether the node, as `nics` describe it, has settled after an apply: OK; UNAVAILABLE
// when the management address is on no interface; FAILED_PRECONDITION naming a link
// interface without carrier or not "up" (skipped unless `check_carrier`). Pure.
[[nodiscard]] absl::Status LinkSettled(const v1::ConfigureLinkRequest& request,
                                       const std::vector<v1::Nic>& nics, bool check_carrier);

// Checks the request against the node before anything is written: FAILED_PRECONDITION
// when a link interface does not exist (the message lists the ConnectX-7 interfaces that
// do), or when the management address sits on a link interface whose new addresses drop
// it (the node would cut itself off). Pure.
[[nodiscard]] absl::Status CheckLinkAgainstNode(const v1::ConfigureLinkRequest& request,
                                                const std::vector<v1::Nic>& nics);

// Writes the netplan file, applies it and waits (see the file comment). Reply: the
// file's ChangeReport, whether `netplan apply` ran, and the link's interfaces as probed
// at the end. A dry run reports the diff and the current interfaces and runs nothing.
// FAILED_PRECONDITION when netplan is not installed (nothing written). REQUIRES: the
// request is valid.
[[nodiscard]] absl::StatusOr<v1::ConfigureLinkReply> ConfigureLink(
    Env& env, ProcessRunner& runner, const v1::ConfigureLinkRequest& request,
    const LinkWait& wait = {});

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_NETPLAN_LINK_H_
