#include "node_agent/ops/tailscale_status.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/validate.h"
#include "node_agent/netcheck/json_reader.h"
#include "node_agent/ops/install_steps.h"

namespace sparkfleet {
namespace {

constexpr char kAdminConsole[] = "https://login.tailscale.com/admin/machines";

std::vector<std::string> Strings(const JsonValue* array) {
  std::vector<std::string> out;
  if (array == nullptr) return out;
  for (const JsonValue& item : array->items()) {
    if (std::optional<std::string> text = item.AsString()) out.push_back(*text);
  }
  return out;
}

bool BoolAt(const JsonValue& object, absl::string_view key) {
  const JsonValue* value = object.Find(key);
  return value != nullptr && value->AsBool().value_or(false);
}

v1::TailscalePeer Peer(const JsonValue& node) {
  v1::TailscalePeer peer;
  peer.set_hostname(node.StringAt({"HostName"}).value_or(""));
  peer.set_dns_name(node.StringAt({"DNSName"}).value_or(""));
  for (std::string& ip : Strings(node.Find("TailscaleIPs"))) peer.add_tailscale_ips(std::move(ip));
  peer.set_online(BoolAt(node, "Online"));
  return peer;
}

ProcessOptions QuickRun(const std::function<bool()>& cancelled) {
  ProcessOptions options;
  options.timeout = absl::Seconds(20);
  options.cancelled = cancelled;
  return options;
}

std::string FirstIpv4(const v1::TailscalePeer& self) {
  for (const std::string& ip : self.tailscale_ips()) {
    if (!IsIpv6(ip) && ValidateIpAddress(ip).ok()) return ip;
  }
  return "";
}

}  // namespace

bool TailscaleSettings::operator==(const TailscaleSettings& other) const {
  return hostname == other.hostname && advertise_routes == other.advertise_routes &&
         accept_routes == other.accept_routes && ssh == other.ssh;
}

bool TailscaleSettings::IsDefault() const {
  return hostname.empty() && advertise_routes.empty() && !accept_routes && !ssh;
}

v1::TailscaleBackendState BackendStateFromName(absl::string_view name) {
  if (name == "NeedsLogin") return v1::TAILSCALE_BACKEND_STATE_NEEDS_LOGIN;
  if (name == "NeedsMachineAuth") return v1::TAILSCALE_BACKEND_STATE_NEEDS_MACHINE_AUTH;
  if (name == "Stopped") return v1::TAILSCALE_BACKEND_STATE_STOPPED;
  if (name == "Starting") return v1::TAILSCALE_BACKEND_STATE_STARTING;
  if (name == "Running") return v1::TAILSCALE_BACKEND_STATE_RUNNING;
  return v1::TAILSCALE_BACKEND_STATE_UNSPECIFIED;
}

absl::StatusOr<TailscaleState> ParseTailscaleStatusJson(absl::string_view json) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(json);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("`tailscale status --json` printed no JSON: ", doc.status().message()));
  }
  if (doc->kind() != JsonValue::Kind::kObject || doc->Find("BackendState") == nullptr) {
    return absl::InvalidArgumentError("`tailscale status --json` printed no BackendState");
  }
  TailscaleState state;
  v1::TailscaleStatus& status = state.status;
  status.set_backend_state(BackendStateFromName(doc->StringAt({"BackendState"}).value_or("")));
  status.set_version(doc->StringAt({"Version"}).value_or(""));
  state.auth_url = doc->StringAt({"AuthURL"}).value_or("");
  if (const JsonValue* self = doc->Find("Self");
      self != nullptr && self->kind() == JsonValue::Kind::kObject) {
    *status.mutable_self() = Peer(*self);
  }
  std::vector<v1::TailscalePeer> peers;
  if (const JsonValue* map = doc->Find("Peer"); map != nullptr) {
    for (const auto& [key, value] : map->members()) {
      if (value->kind() == JsonValue::Kind::kObject) peers.push_back(Peer(*value));
    }
  }
  std::sort(peers.begin(), peers.end(), [](const v1::TailscalePeer& a, const v1::TailscalePeer& b) {
    return std::tie(a.hostname(), a.dns_name()) < std::tie(b.hostname(), b.dns_name());
  });
  for (v1::TailscalePeer& peer : peers) *status.add_peers() = std::move(peer);
  for (std::string& health : Strings(doc->Find("Health"))) status.add_health(std::move(health));
  return state;
}

absl::StatusOr<TailscaleSettings> ParseTailscalePrefs(absl::string_view json) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(json);
  if (!doc.ok() || doc->kind() != JsonValue::Kind::kObject) {
    return absl::InvalidArgumentError("`tailscale debug prefs` printed no JSON object");
  }
  TailscaleSettings settings;
  settings.hostname = doc->StringAt({"Hostname"}).value_or("");
  settings.advertise_routes = Strings(doc->Find("AdvertiseRoutes"));
  std::sort(settings.advertise_routes.begin(), settings.advertise_routes.end());
  settings.accept_routes = BoolAt(*doc, "RouteAll");
  settings.ssh = BoolAt(*doc, "RunSSH");
  return settings;
}

std::optional<std::string> InstalledTailscaleVersion(Env& env) {
  auto packages = InstalledPackages(env);
  auto it = packages.find("tailscale");
  if (it == packages.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<TailscaleState> ReadTailscaleState(const TailscaleNode& node,
                                                  const std::function<bool()>& cancelled) {
  if (!InstalledTailscaleVersion(node.env).has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Tailscale is not installed on ", node.node_name,
                     " (dpkg lists no tailscale package); install it with `sparkctl tailscale`"));
  }
  absl::StatusOr<ProcessResult> run =
      node.runner.Run({"tailscale", "status", "--json"}, QuickRun(cancelled));
  if (!run.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run tailscale on ", node.node_name, ": ", run.status().message()));
  }
  if (!run->ok()) {
    std::string output = LastLines(run->stderr_text.empty() ? run->stdout_text : run->stderr_text);
    if (absl::StrContains(output, "failed to connect to local tailscaled")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tailscaled is not running on ", node.node_name, " (", output,
          "); start it with `sparkctl tailscale` (systemctl enable --now tailscaled)"));
    }
    return absl::UnavailableError(absl::StrCat("`tailscale status --json` failed on ",
                                               node.node_name, " (", run->Describe(),
                                               "): ", output));
  }
  absl::StatusOr<TailscaleState> state = ParseTailscaleStatusJson(run->stdout_text);
  if (!state.ok()) {
    return absl::UnavailableError(absl::StrCat(node.node_name, ": ", state.status().message()));
  }
  if (state->status.backend_state() != v1::TAILSCALE_BACKEND_STATE_RUNNING) return state;
  absl::StatusOr<ProcessResult> ip =
      node.runner.Run({"tailscale", "ip", "-4"}, QuickRun(cancelled));
  std::string address =
      ip.ok() && ip->ok() ? std::string(absl::StripAsciiWhitespace(ip->stdout_text)) : "";
  address = address.substr(0, address.find('\n'));
  if (!ValidateIpAddress(address).ok() || IsIpv6(address))
    address = FirstIpv4(state->status.self());
  state->status.set_ipv4(address);
  return state;
}

std::optional<TailscaleSettings> ReadTailscalePrefs(const TailscaleNode& node) {
  absl::StatusOr<ProcessResult> run =
      node.runner.Run({"tailscale", "debug", "prefs"}, QuickRun(nullptr));
  if (!run.ok() || !run->ok()) return std::nullopt;
  absl::StatusOr<TailscaleSettings> prefs = ParseTailscalePrefs(run->stdout_text);
  if (!prefs.ok()) return std::nullopt;
  return *std::move(prefs);
}

absl::Status RequireLoggedIn(const TailscaleState& state, absl::string_view node_name) {
  std::string where =
      state.auth_url.empty() ? "" : absl::StrCat("log in at ", state.auth_url, ", or ");
  switch (state.status.backend_state()) {
    case v1::TAILSCALE_BACKEND_STATE_RUNNING:
    case v1::TAILSCALE_BACKEND_STATE_STOPPED:
    case v1::TAILSCALE_BACKEND_STATE_STARTING:
      return absl::OkStatus();
    case v1::TAILSCALE_BACKEND_STATE_NEEDS_LOGIN:
      return absl::FailedPreconditionError(absl::StrCat(
          "Tailscale on ", node_name, " needs login (BackendState NeedsLogin): ", where,
          "run `sparkctl tailscale` with an auth key (TAILSCALE_AUTH_KEY or "
          "tailscale_auth_key_file in cluster.yaml)"));
    case v1::TAILSCALE_BACKEND_STATE_NEEDS_MACHINE_AUTH:
      return absl::FailedPreconditionError(absl::StrCat(
          "Tailscale on ", node_name,
          " is waiting for the tailnet admin to approve it (BackendState NeedsMachineAuth): "
          "approve the machine at ",
          kAdminConsole,
          state.auth_url.empty() ? "" : absl::StrCat(" (or visit ", state.auth_url, ")"),
          ", or use a pre-approved auth key"));
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("Tailscale on ", node_name,
                       " is in an unknown backend state; check `tailscale status` there"));
  }
}

absl::StatusOr<v1::TailscaleStatus> GetTailscaleStatus(const TailscaleNode& node,
                                                       const std::function<bool()>& cancelled) {
  absl::StatusOr<TailscaleState> state = ReadTailscaleState(node, cancelled);
  if (!state.ok()) return state.status();
  if (absl::Status s = RequireLoggedIn(*state, node.node_name); !s.ok()) return s;
  return std::move(state->status);
}

}  // namespace sparkfleet
