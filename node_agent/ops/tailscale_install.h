// Tailscale installation: the operation behind NodeAgent.InstallTailscale, following
// Tailscale's own installer (https://tailscale.com/install.sh) for Debian and Ubuntu:
//   check        dpkg lists tailscale (at the requested version): nothing to install;
//                the distribution and codename come from /etc/os-release
//   apt-keyring  /usr/share/keyrings/tailscale-archive-keyring.gpg from
//                https://pkgs.tailscale.com/stable/<distro>/<codename>.noarmor.gpg
//   apt-source   /etc/apt/sources.list.d/tailscale.list from
//                https://pkgs.tailscale.com/stable/<distro>/<codename>.tailscale-keyring.list
//   apt-update   apt-get update
//   apt-install  apt-get install -y tailscale[=V]
//   tailscaled   systemctl enable --now tailscaled
// Each step is skipped when already done: a file that exists is not fetched again, an
// installed package is not installed again, an enabled and active daemon is left alone.
// Downloads run as a child (curl, else wget); a node without internet gets the two files'
// bytes in the request instead (apt_source), written only when they differ. Logging in
// is TailscaleUp's job (tailscale_up.h). A dry run reports and runs nothing that changes
// the node.
#ifndef SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_INSTALL_H_
#define SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_INSTALL_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node_agent/ops/tailscale_status.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

inline constexpr char kTailscaleKeyringPath[] = "/usr/share/keyrings/tailscale-archive-keyring.gpg";
inline constexpr char kTailscaleListPath[] = "/etc/apt/sources.list.d/tailscale.list";

// Where Tailscale's packages for a node come from.
struct TailscaleRepo {
  std::string distro;    // "ubuntu", "debian"
  std::string codename;  // "noble", "bookworm"
  std::string KeyringUrl() const;
  std::string ListUrl() const;
};

// The repository for /etc/os-release's text: ID (or ID_LIKE) ubuntu/debian and
// UBUNTU_CODENAME / VERSION_CODENAME. FAILED_PRECONDITION for other distributions or
// a missing codename.
[[nodiscard]] absl::StatusOr<TailscaleRepo> TailscaleRepoFor(absl::string_view os_release);

// INVALID_ARGUMENT for a version that is not an apt version, or apt_source bytes that
// are not a keyring and a sources list (only one of them, too large, not `deb` lines).
[[nodiscard]] absl::Status ValidateInstallTailscaleRequest(
    const v1::InstallTailscaleRequest& request);

using InstallTailscaleEmit = std::function<void(v1::InstallTailscaleEvent)>;

// Installs (or, dry run, plans) Tailscale, emitting one event per step and the result
// last. FAILED_PRECONDITION for an unsupported distribution or when apt-get install or
// systemctl fails; UNAVAILABLE when the repository cannot be fetched or apt-get update
// fails; CANCELLED.
absl::Status InstallTailscale(const TailscaleNode& node, const v1::InstallTailscaleRequest& request,
                              const InstallTailscaleEmit& emit,
                              const std::function<bool()>& cancelled);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_INSTALL_H_
