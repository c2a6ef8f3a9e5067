// Reading Tailscale's state on a node: the operation behind NodeAgent.GetTailscaleStatus,
// and what InstallTailscale and TailscaleUp read before they decide anything.
//
//   tailscale status --json   BackendState, AuthURL, Version, Self, Peer map, Health
//   tailscale ip -4           the node's IPv4 address on the tailnet (when Running)
//   tailscale debug prefs     the settings tailscaled holds (Hostname, AdvertiseRoutes,
//                             RouteAll = --accept-routes, RunSSH = --ssh)
//
// "Installed" is what dpkg says. The parsers are pure (text in, struct out) so most tests
// need no process; the readers run `tailscale` through the ProcessRunner, so a contract
// double on the agent's --tool-path stands in for it.
#ifndef SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_STATUS_H_
#define SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_STATUS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// The node a Tailscale operation acts on: its filesystem, its programs, its name.
struct TailscaleNode {
  Env& env;
  ProcessRunner& runner;
  std::string node_name;
};

// `tailscale status --json`, parsed.
struct TailscaleState {
  v1::TailscaleStatus status;  // ipv4 is set by ReadTailscaleState when Running
  std::string auth_url;        // AuthURL: where a person logs the node in; may be empty
};

// The settings sparkfleet controls, as `tailscale up` / `tailscale set` flags take them.
struct TailscaleSettings {
  std::string hostname;                       // --hostname
  std::vector<std::string> advertise_routes;  // --advertise-routes, sorted, no duplicates
  bool accept_routes = false;                 // --accept-routes (RouteAll in prefs)
  bool ssh = false;                           // --ssh (RunSSH in prefs)

  bool operator==(const TailscaleSettings& other) const;
  bool operator!=(const TailscaleSettings& other) const { return !(*this == other); }
  // True when every setting is Tailscale's default (a node never brought up).
  bool IsDefault() const;
};

// INVALID_ARGUMENT (naming the byte offset) when `json` is not a status document.
[[nodiscard]] absl::StatusOr<TailscaleState> ParseTailscaleStatusJson(absl::string_view json);

// The four settings from `tailscale debug prefs`; INVALID_ARGUMENT when not JSON. The
// text is never quoted in errors (prefs hold key material).
[[nodiscard]] absl::StatusOr<TailscaleSettings> ParseTailscalePrefs(absl::string_view json);

// "NeedsLogin" -> TAILSCALE_BACKEND_STATE_NEEDS_LOGIN; UNSPECIFIED when unknown.
v1::TailscaleBackendState BackendStateFromName(absl::string_view name);

// Version of the installed tailscale package (dpkg); nullopt when not installed.
std::optional<std::string> InstalledTailscaleVersion(Env& env);

// Runs `tailscale status --json` and, when Running, `tailscale ip -4`.
// FAILED_PRECONDITION when tailscale is not installed or tailscaled is not running
// (saying how to fix it); UNAVAILABLE when `tailscale` fails otherwise or prints no status.
[[nodiscard]] absl::StatusOr<TailscaleState> ReadTailscaleState(
    const TailscaleNode& node, const std::function<bool()>& cancelled);

// `tailscale debug prefs`, parsed; nullopt when it cannot be read (old tailscale).
std::optional<TailscaleSettings> ReadTailscalePrefs(const TailscaleNode& node);

// OK when the backend is Running, Stopped or Starting; FAILED_PRECONDITION for
// NeedsLogin / NeedsMachineAuth (or an unknown state) with the AuthURL and what to do.
[[nodiscard]] absl::Status RequireLoggedIn(const TailscaleState& state,
                                           absl::string_view node_name);

// GetTailscaleStatus: ReadTailscaleState, then RequireLoggedIn.
[[nodiscard]] absl::StatusOr<v1::TailscaleStatus> GetTailscaleStatus(
    const TailscaleNode& node, const std::function<bool()>& cancelled);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_STATUS_H_
