#include "node_agent/ops/tailscale_up.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "node_agent/ops/file_edit.h"
#include "node_agent/ops/install_steps.h"

namespace sparkfleet {
namespace {

constexpr char kKeyDir[] = "/run/sparkfleet";
constexpr char kSysctlText[] =
    "# Written by sparkfleet: Tailscale subnet routes (--advertise-routes) need IP forwarding.\n"
    "net.ipv4.ip_forward = 1\n"
    "net.ipv6.conf.all.forwarding = 1\n";

std::string Bool(bool value) { return value ? "true" : "false"; }

std::vector<std::string> SettingFlags(const TailscaleSettings& settings) {
  return {"--hostname=" + settings.hostname,
          "--advertise-routes=" + absl::StrJoin(settings.advertise_routes, ","),
          "--accept-routes=" + Bool(settings.accept_routes), "--ssh=" + Bool(settings.ssh)};
}

enum class Action { kNone, kSet, kUp };

// What TailscaleUp does on one node, with the secret kept to this object.
class Joiner {
 public:
  Joiner(const TailscaleNode& node, const v1::TailscaleUpRequest& request,
         const std::function<bool()>& cancelled)
      : node_(node),
        request_(request),
        cancelled_(cancelled),
        wanted_(WantedTailscaleSettings(request, node.node_name)) {}

  absl::StatusOr<v1::TailscaleUpReply> Run() {
    if (absl::Status s = Forwarding(); !s.ok()) return s;
    absl::StatusOr<TailscaleState> state = ReadTailscaleState(node_, cancelled_);
    if (!state.ok()) return state.status();
    absl::StatusOr<Action> action = Decide(*state);
    if (!action.ok()) return action.status();
    reply_.set_ran_up(*action != Action::kNone);
    if (absl::Status s = Act(*action, *state); !s.ok()) return s;
    if (request_.dry_run()) return Record();
    if (*action != Action::kNone) {
      state = ReadTailscaleState(node_, cancelled_);
      if (!state.ok()) return state.status();
      if (absl::Status s = RequireLoggedIn(*state, node_.node_name); !s.ok()) return s;
    }
    *reply_.mutable_status() = state->status;
    return Record();
  }

 private:
  // The sysctl.d file enabling forwarding, when routes are advertised.
  absl::Status Forwarding() {
    if (wanted_.advertise_routes.empty()) return absl::OkStatus();
    if (!request_.dry_run()) {
      if (absl::Status s = node_.env.MakeDirs("/etc/sysctl.d", 0755); !s.ok()) return s;
    }
    FileEdit edit;
    edit.path = kTailscaleSysctlPath;
    edit.content = kSysctlText;
    absl::StatusOr<v1::ChangeReport> change =
        request_.dry_run() && !node_.env.Exists("/etc/sysctl.d")
            ? NewFileReport(edit)
            : ApplyFileEdit(node_.env, edit, request_.dry_run());
    if (!change.ok()) return change.status();
    *reply_.add_changes() = *change;
    absl::StatusOr<std::string> now = node_.env.ReadFile("/proc/sys/net/ipv4/ip_forward");
    bool off = now.ok() && absl::StripAsciiWhitespace(*now) != "1";
    if (request_.dry_run() || (!change->changed() && !off)) return absl::OkStatus();
    return Exec("sysctl", {"sysctl", "-p", node_.env.HostPath(kTailscaleSysctlPath)},
                absl::Seconds(30), false);
  }

  absl::StatusOr<v1::ChangeReport> NewFileReport(const FileEdit& edit) {
    v1::ChangeReport report;
    report.set_path(edit.path);
    report.set_changed(true);
    return report;
  }

  absl::StatusOr<Action> Decide(const TailscaleState& state) {
    prefs_ = ReadTailscalePrefs(node_);
    absl::StatusOr<std::string> text = node_.env.ReadFile(kTailscaleUpRecordPath);
    std::optional<TailscaleSettings> recorded =
        text.ok() ? ParseTailscaleUpRecord(*text) : std::nullopt;
    bool same = recorded == wanted_ && (!prefs_.has_value() || *prefs_ == wanted_);
    switch (state.status.backend_state()) {
      case v1::TAILSCALE_BACKEND_STATE_RUNNING:
        return same ? Action::kNone : Action::kSet;
      case v1::TAILSCALE_BACKEND_STATE_NEEDS_MACHINE_AUTH:
        return RequireLoggedIn(state, node_.node_name);
      case v1::TAILSCALE_BACKEND_STATE_NEEDS_LOGIN:
        if (request_.auth_key().empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "Tailscale on ", node_.node_name, " needs login and no auth key was given: set ",
              "TAILSCALE_AUTH_KEY or tailscale_auth_key_file in cluster.yaml",
              state.auth_url.empty() ? "" : absl::StrCat(", or log in at ", state.auth_url)));
        }
        return Action::kUp;
      default:
        return Action::kUp;
    }
  }

  absl::Status Act(Action action, const TailscaleState& state) {
    if (action == Action::kNone || request_.dry_run()) return absl::OkStatus();
    std::vector<std::string> argv = {"tailscale", "set"};
    if (action == Action::kSet) {
      for (std::string& flag : SettingFlags(wanted_)) argv.push_back(std::move(flag));
      LogInfo("tailscale set on ", node_.node_name, ": ", absl::StrJoin(argv, " "));
      return Exec("tailscale set", argv, absl::Seconds(60), false);
    }
    argv = {"tailscale", "up"};
    if (prefs_.has_value() && !prefs_->IsDefault() && *prefs_ != wanted_) {
      argv.push_back("--reset");  // tailscaled holds other settings; `up` would refuse
    }
    std::unique_ptr<SecretFile> key;
    bool login = state.status.backend_state() == v1::TAILSCALE_BACKEND_STATE_NEEDS_LOGIN;
    if (login && !request_.auth_key().empty()) {
      absl::StatusOr<std::unique_ptr<SecretFile>> file =
          SecretFile::Create(node_.env, kKeyDir, "tailscale-authkey-", request_.auth_key());
      if (!file.ok()) return file.status();
      key = *std::move(file);
      argv.push_back("--auth-key=file:" + node_.env.HostPath(key->path()));
    }
    for (std::string& flag : SettingFlags(wanted_)) argv.push_back(std::move(flag));
    uint32_t timeout_s = request_.timeout_s() == 0 ? 60 : request_.timeout_s();
    argv.push_back(absl::StrCat("--timeout=", timeout_s, "s"));
    LogInfo("tailscale up on ", node_.node_name, ": ", absl::StrJoin(argv, " "));
    // `key` is removed on return, when `up` has ended, whatever it did.
    return Exec("tailscale up", argv, absl::Seconds(timeout_s + 30), true);
  }

  // Runs a program whose failure fails the call; its output is scrubbed of the key.
  absl::Status Exec(absl::string_view what, const std::vector<std::string>& argv,
                    absl::Duration timeout, bool is_up) {
    ProcessOptions options;
    options.timeout = timeout;
    options.cancelled = cancelled_;
    absl::StatusOr<ProcessResult> result = node_.runner.Run(argv, options);
    if (!result.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot run ", argv[0], " on ", node_.node_name, ": ", result.status().message()));
    }
    if (result->cancelled) return absl::CancelledError(absl::StrCat(what, " was cancelled"));
    if (result->ok()) return absl::OkStatus();
    std::string output = RedactSecret(
        LastLines(result->stderr_text.empty() ? result->stdout_text : result->stderr_text),
        request_.auth_key());
    std::string message = absl::StrCat("`", what, "` failed on ", node_.node_name, " (",
                                       result->Describe(), ")", output.empty() ? "" : ": ", output);
    if (result->timed_out || (is_up && absl::StrContains(output, "timeout waiting for"))) {
      return absl::DeadlineExceededError(
          absl::StrCat(message,
                       "; the node did not reach Running in time: check the key, the network, and "
                       "`tailscale status` there, or raise the timeout"));
    }
    return absl::FailedPreconditionError(message);
  }

  absl::StatusOr<v1::TailscaleUpReply> Record() {
    if (!request_.dry_run()) {
      if (absl::Status s = node_.env.MakeDirs("/var/lib/sparkfleet", 0755); !s.ok()) return s;
    }
    FileEdit edit;
    edit.path = kTailscaleUpRecordPath;
    edit.content = RenderTailscaleUpRecord(wanted_);
    absl::StatusOr<v1::ChangeReport> change =
        request_.dry_run() && !node_.env.Exists("/var/lib/sparkfleet")
            ? NewFileReport(edit)
            : ApplyFileEdit(node_.env, edit, request_.dry_run());
    if (!change.ok()) return change.status();
    *reply_.add_changes() = *change;
    return std::move(reply_);
  }

  const TailscaleNode& node_;
  const v1::TailscaleUpRequest& request_;
  const std::function<bool()>& cancelled_;
  const TailscaleSettings wanted_;
  std::optional<TailscaleSettings> prefs_;
  v1::TailscaleUpReply reply_;
};

}  // namespace

absl::StatusOr<v1::TailscaleUpReply> TailscaleUp(const TailscaleNode& node,
                                                 const v1::TailscaleUpRequest& request,
                                                 const std::function<bool()>& cancelled) {
  if (absl::Status s = ValidateTailscaleUpRequest(request); !s.ok()) return s;
  Joiner joiner(node, request, cancelled);
  return joiner.Run();
}

}  // namespace sparkfleet
