#include "node_agent/ops/netplan_link.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "node_agent/ops/file_edit.h"
#include "node_agent/probe/nic_probe.h"
#include "node_agent/probe/sysfs_reader.h"

namespace sparkfleet {
namespace {

constexpr absl::Duration kDefaultSettleTimeout = absl::Seconds(30);
constexpr size_t kMaxStderrBytes = 1000;

// The node's NICs as the probe sees them; addresses from the kernel when the root is
// the machine itself, from the fixture tree's address list otherwise.
std::vector<v1::Nic> ReadNics(Env& env) {
  google::protobuf::RepeatedPtrField<v1::ProbeWarning> ignored;
  SysfsReader sysfs(env, &ignored);
  return ProbeNics(sysfs, /*live_addresses=*/env.root() == "/");
}

absl::Duration SettleTimeout(const v1::ConfigureLinkRequest& request) {
  return request.settle_timeout_ms() == 0 ? kDefaultSettleTimeout
                                          : absl::Milliseconds(request.settle_timeout_ms());
}

std::string Tail(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() > kMaxStderrBytes) text = text.substr(text.size() - kMaxStderrBytes);
  return std::string(text);
}

absl::Status RunNetplanApply(ProcessRunner& runner, const LinkWait& wait) {
  ProcessOptions options;
  options.timeout = wait.apply_timeout;
  absl::StatusOr<ProcessResult> result = runner.Run({"netplan", "apply"}, options);
  if (!result.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("`netplan apply` could not start: ", result.status().message()));
  }
  if (result->ok()) return absl::OkStatus();
  std::string what = absl::StrCat("`netplan apply` failed (", result->Describe(), ")");
  if (std::string err = Tail(result->stderr_text); !err.empty()) absl::StrAppend(&what, ": ", err);
  return result->timed_out ? absl::UnavailableError(what) : absl::FailedPreconditionError(what);
}

// Polls until LinkSettled holds and still holds `stable_for` later, or `timeout` passes
// (then the last problem, prefixed with the time waited), or the call is cancelled.
absl::Status WaitUntilSettled(Env& env, const v1::ConfigureLinkRequest& request,
                              const LinkWait& wait, absl::Duration timeout, bool check_carrier) {
  const absl::Time deadline = wait.now() + timeout;
  std::optional<absl::Time> settled_since;
  while (true) {
    absl::Status settled = LinkSettled(request, ReadNics(env), check_carrier);
    const absl::Time now = wait.now();
    if (!settled.ok()) {
      settled_since.reset();
    } else if (!settled_since) {
      settled_since = now;
    }
    if (settled_since && (now - *settled_since >= wait.stable_for || now >= deadline)) {
      return absl::OkStatus();
    }
    if (now >= deadline) {
      return absl::Status(
          settled.code(),
          absl::StrCat("after waiting ", absl::FormatDuration(timeout), ", ", settled.message()));
    }
    if (wait.cancelled()) {
      return absl::CancelledError("the call was cancelled while waiting for the link to settle");
    }
    wait.sleep(std::min(wait.poll_interval, deadline - now));
  }
}

// Puts the previous file back, re-applies it and says how that went, after `failure`.
absl::Status RollBack(Env& env, ProcessRunner& runner, const v1::ConfigureLinkRequest& request,
                      const LinkWait& wait, const FileSnapshot& before,
                      const absl::Status& failure) {
  const std::string undone =
      before.content ? absl::StrCat("the previous ", kNetplanLinkPath, " was restored")
                     : absl::StrCat(kNetplanLinkPath, " was removed (there was none before)");
  std::string outcome;
  if (absl::Status restored = RestoreSnapshot(env, before); !restored.ok()) {
    outcome = absl::StrCat("putting the previous ", kNetplanLinkPath, " back FAILED (",
                           restored.message(), "); fix it by hand and run `netplan apply`");
  } else if (absl::Status reapplied = RunNetplanApply(runner, wait); !reapplied.ok()) {
    outcome = absl::StrCat(undone, ", but re-applying it failed too: ", reapplied.message());
  } else if (request.management_address().empty()) {
    outcome = absl::StrCat(undone, " and re-applied");
  } else {
    absl::Status back = WaitUntilSettled(env, request, wait, SettleTimeout(request),
                                         /*check_carrier=*/false);
    if (back.ok()) {
      outcome = absl::StrCat(undone, " and re-applied; the management address ",
                             request.management_address(), " is back");
    } else if (absl::IsCancelled(back)) {
      outcome = absl::StrCat(undone, " and re-applied");
    } else {
      outcome = absl::StrCat(undone, " and re-applied, but ", back.message());
    }
  }
  absl::Status rolled_back(failure.code(),
                           absl::StrCat("ConfigureLink: ", failure.message(), "; ", outcome));
  LogWarning(rolled_back.message());
  return rolled_back;
}

void AddLinkNics(const v1::ConfigureLinkRequest& request, const std::vector<v1::Nic>& nics,
                 v1::ConfigureLinkReply* reply) {
  for (const v1::LinkInterface& interface : request.interfaces()) {
    auto nic = std::find_if(nics.begin(), nics.end(),
                            [&](const v1::Nic& n) { return n.name() == interface.name(); });
    if (nic != nics.end()) *reply->add_interfaces() = *nic;
  }
}

}  // namespace

absl::StatusOr<v1::ConfigureLinkReply> ConfigureLink(Env& env, ProcessRunner& runner,
                                                     const v1::ConfigureLinkRequest& request,
                                                     const LinkWait& wait) {
  std::vector<v1::Nic> nics = ReadNics(env);
  if (absl::Status fits = CheckLinkAgainstNode(request, nics); !fits.ok()) return fits;
  FileEdit edit;
  edit.path = kNetplanLinkPath;
  edit.content = RenderNetplanLink(request);
  edit.options.mode = 0600;  // netplan warns about (and may refuse) readable files
  absl::StatusOr<FileSnapshot> before = TakeSnapshot(env, kNetplanLinkPath);
  if (!before.ok()) return before.status();
  const bool apply = !request.dry_run() && before->content != edit.content;
  if (apply && !runner.Find("netplan").ok()) {
    return absl::FailedPreconditionError(
        "ConfigureLink: netplan is not installed (no `netplan` on the agent's PATH); install "
        "netplan.io, or configure the link's addresses by hand");
  }
  absl::StatusOr<v1::ChangeReport> change = ApplyFileEdit(env, edit, request.dry_run());
  if (!change.ok()) return change.status();
  v1::ConfigureLinkReply reply;
  *reply.add_changes() = *std::move(change);
  if (apply) {
    absl::Status settled = RunNetplanApply(runner, wait);
    if (settled.ok()) {
      settled = WaitUntilSettled(env, request, wait, SettleTimeout(request), true);
    }
    if (!settled.ok()) return RollBack(env, runner, request, wait, *before, settled);
    reply.set_applied(true);
    nics = ReadNics(env);
  }
  AddLinkNics(request, nics, &reply);
  return reply;
}

}  // namespace sparkfleet
