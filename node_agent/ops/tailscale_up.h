// Joining the tailnet: the operation behind NodeAgent.TailscaleUp.
//
// What runs depends on the backend state and on the settings (hostname, advertised
// routes, accept-routes, ssh) the agent recorded after its last successful `up`, in
// /var/lib/sparkfleet/tailscale-up.json, cross-checked with `tailscale debug prefs`:
//   Running, same settings     nothing (changed=false)
//   Running, other settings    tailscale set --hostname=H --advertise-routes=R
//                                 --accept-routes=B --ssh=B
//   NeedsLogin / Stopped       tailscale up [--reset] [--auth-key=file:PATH] --hostname=H
//                                 --advertise-routes=R --accept-routes=B --ssh=B --timeout=Ns
//                              (--reset when tailscaled holds other non-default settings;
//                               the key only for NeedsLogin)
//   NeedsMachineAuth           FAILED_PRECONDITION: approve the machine first
// Advertised routes also need IP forwarding: /etc/sysctl.d/99-sparkfleet-tailscale.conf
// (IPv4 and IPv6), loaded with `sysctl -p FILE`.
//
// The auth key is a secret. It is written to a 0600 file with a random name under
// /run/sparkfleet (directory 0700) that is removed as soon as `up` returns, whatever
// happened; `up` reads it through --auth-key=file:PATH. It never appears in argv, in a
// log line, in an error or in the reply (output of `tailscale` is scrubbed of it too),
// and nothing derived from it (no hash) is recorded.
#ifndef SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_UP_H_
#define SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_UP_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node_agent/ops/tailscale_settings.h"
#include "node_agent/ops/tailscale_status.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

inline constexpr char kTailscaleSysctlPath[] = "/etc/sysctl.d/99-sparkfleet-tailscale.conf";

// Brings the node onto the tailnet (see the file comment). FAILED_PRECONDITION when
// tailscale is not installed, tailscaled is not running, the node needs login and no key
// was given, or the tailnet admin must approve it; DEADLINE_EXCEEDED when `up` did not
// reach Running within timeout_s; INVALID_ARGUMENT for an invalid request.
[[nodiscard]] absl::StatusOr<v1::TailscaleUpReply> TailscaleUp(
    const TailscaleNode& node, const v1::TailscaleUpRequest& request,
    const std::function<bool()>& cancelled);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_UP_H_
