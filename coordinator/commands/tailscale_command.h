// `sparkctl tailscale`: the seed's Tailscale step on every node. InstallTailscale (apt
// repository, package, tailscaled) then TailscaleUp (log in with the auth key, hostname =
// the node's name, optional subnet routes / accept-routes / Tailscale SSH) on each node
// whose install succeeded; the Tailscale IPv4 addresses learnt are recorded beside
// cluster.yaml (tailscale_record.h) for `get network|endpoints` and `connect --tailscale`.
// `--check` is a dry run on every node. The recap reads like Ansible's: ok / changed /
// failed per node, with each node's Tailscale address. Exit 0 when every node
// succeeded, 2 when any failed, 1 for usage or config errors.
//
// The auth key comes from TAILSCALE_AUTH_KEY, else cluster.yaml's tailscale_auth_key_file,
// else its tailscale_auth_key (accepted with a warning to move it to a file). It travels
// only in TailscaleUp requests and is never printed: every line sparkctl prints is
// scrubbed of it.
//
// `sparkctl tailscale-status`: every node's GetTailscaleStatus (backend state, address,
// peers online, health); the addresses are recorded too.
#ifndef SPARKFLEET_COORDINATOR_COMMANDS_TAILSCALE_COMMAND_H_
#define SPARKFLEET_COORDINATOR_COMMANDS_TAILSCALE_COMMAND_H_

#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/cluster_config.h"
#include "common/env.h"
#include "coordinator/cluster_session.h"
#include "coordinator/commands/command.h"
#include "coordinator/fanout.h"
#include "coordinator/tailscale_record.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// The auth key sparkctl sends, where it came from, and what the admin should be told.
struct TailscaleAuthKey {
  std::string key;                    // SECRET; empty when none is configured
  std::string source;                 // "TAILSCALE_AUTH_KEY", a file path, "cluster.yaml"
  std::vector<std::string> warnings;  // never contain the key
};

// Picks the key (see the file comment). `env` reads the key file. INVALID_ARGUMENT when
// the key file cannot be read or is empty; messages never contain the key.
[[nodiscard]] absl::StatusOr<TailscaleAuthKey> ResolveTailscaleAuthKey(const ClusterConfig& config,
                                                                       const GetenvFunction& getenv,
                                                                       Env& env);

// What `sparkctl tailscale` did on one node.
struct TailscaleNodeOutcome {
  std::string node;
  absl::Status install;          // how InstallTailscale ended
  bool install_changed = false;  // something was (or would be) installed or written
  bool installed_now = false;    // the package was (or, on a dry run, would be) installed
  // TailscaleUp's result; nullopt when skipped because the install failed.
  std::optional<NodeResult<v1::TailscaleUpReply>> up;
};

// The recap table (NODE INSTALL UP TAILSCALE-IP RESULT), per-node errors, diffs when
// `show_diffs`, and the summary line. Every occurrence of `secret` is replaced by
// "<redacted>" (belt and braces: agents never send it back).
// How Tailscale is installed and brought up: `sparkctl tailscale`'s flags, deploy's
// tailscale step.
struct TailscaleSettings {
  bool check = false;  // every call a dry run
  std::vector<std::string> advertise_routes;
  bool accept_routes = false;
  bool ssh = false;
  int up_timeout_s = 60;           // how long `tailscale up` may wait for Running
  double install_timeout_s = 900;  // each node's InstallTailscale stream
  v1::TailscaleAptSource apt_source;
};

// InstallTailscale on every node of `session`, then TailscaleUp (with `key`, a SECRET)
// where the install did not fail. One outcome per session.nodes entry, in that order.
std::vector<TailscaleNodeOutcome> RunTailscaleSetup(ClusterSession& session,
                                                    const TailscaleSettings& settings,
                                                    const std::string& key);

// True when the install or the up failed (or the up was not run).
bool TailscaleFailed(const TailscaleNodeOutcome& outcome);

// The Tailscale IPv4 address of every node that came up; none on a check.
TailscaleAddresses LearntAddresses(const std::vector<TailscaleNodeOutcome>& outcomes, bool check);

// `text` with every occurrence of `secret` replaced by "<redacted>".
std::string RedactSecret(absl::string_view text, const std::string& secret);

std::string RenderTailscaleRecap(const std::vector<TailscaleNodeOutcome>& outcomes, bool show_diffs,
                                 bool check, const std::string& secret);

// The `tailscale-status` table (NODE STATE TAILSCALE-IP DNS-NAME PEERS HEALTH) and errors.
std::string RenderTailscaleStatus(const std::vector<NodeResult<v1::TailscaleStatus>>& results);

void RegisterTailscaleCommands(CLI::App& app, CommandContext& context);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COMMANDS_TAILSCALE_COMMAND_H_
