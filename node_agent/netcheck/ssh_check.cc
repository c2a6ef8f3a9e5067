#include "node_agent/netcheck/ssh_check.h"

#include <pwd.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/passwd.h"
#include "common/validate.h"
#include "node_agent/netcheck/run_each.h"

namespace sparkfleet {
namespace {

constexpr size_t kMaxTargets = 1024;
constexpr size_t kParallelChecks = 32;
constexpr uint32_t kDefaultConnectTimeoutS = 5;
constexpr uint32_t kMaxConnectTimeoutS = 120;

// What to look for in ssh's stderr, most specific first: a changed host key also
// prints "Host key verification failed.".
struct Signature {
  absl::string_view text;
  v1::SshCheckOutcome outcome;
};
constexpr Signature kSignatures[] = {
    {"has changed and you have requested strict checking", v1::SSH_CHECK_OUTCOME_HOST_KEY_CHANGED},
    {"REMOTE HOST IDENTIFICATION HAS CHANGED", v1::SSH_CHECK_OUTCOME_HOST_KEY_CHANGED},
    {"host key is known for", v1::SSH_CHECK_OUTCOME_HOST_KEY_UNKNOWN},
    {"Host key verification failed", v1::SSH_CHECK_OUTCOME_HOST_KEY_UNKNOWN},
    {"Permission denied", v1::SSH_CHECK_OUTCOME_AUTH_REFUSED},
    {"Connection refused", v1::SSH_CHECK_OUTCOME_CONNECTION_REFUSED},
    {"Connection timed out", v1::SSH_CHECK_OUTCOME_TIMEOUT},
    {"Operation timed out", v1::SSH_CHECK_OUTCOME_TIMEOUT},
    {"Could not resolve hostname", v1::SSH_CHECK_OUTCOME_NAME_UNRESOLVED},
};

std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(text, absl::ByAnyChar("\r\n"))) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("CheckSshRequest.", field, ": ", message));
}

}  // namespace

SshDiagnosis DiagnoseSshFailure(absl::string_view stderr_text) {
  std::vector<absl::string_view> lines = Lines(stderr_text);
  for (const Signature& signature : kSignatures) {
    for (absl::string_view line : lines) {
      if (absl::StrContains(line, signature.text)) {
        return {signature.outcome, std::string(line)};
      }
    }
  }
  SshDiagnosis other;
  other.detail = lines.empty() ? "ssh failed without a message" : std::string(lines.back());
  return other;
}

std::optional<std::string> HomeFromPasswd(absl::string_view passwd_text, absl::string_view user) {
  std::optional<PasswdEntry> entry = FindPasswdEntry(passwd_text, user);
  if (!entry) return std::nullopt;
  return entry->home;
}

std::vector<std::string> SshArgv(const v1::SshTarget& target, const std::string& remote_user,
                                 const SshFiles& files, absl::Duration connect_timeout,
                                 const std::string& run_as) {
  std::vector<std::string> argv;
  if (!run_as.empty()) argv = {"runuser", "-u", run_as, "--"};
  argv.insert(argv.end(), {"ssh",
                           "-F",
                           "none",
                           "-o",
                           "BatchMode=yes",
                           "-o",
                           absl::StrCat("ConnectTimeout=", absl::ToInt64Seconds(connect_timeout)),
                           "-o",
                           "StrictHostKeyChecking=yes",
                           "-o",
                           absl::StrCat("UserKnownHostsFile=", files.known_hosts),
                           "-o",
                           absl::StrCat("GlobalKnownHostsFile=", files.global_known_hosts),
                           "-o",
                           "IdentitiesOnly=yes",
                           "-i",
                           files.identity,
                           "-l",
                           remote_user,
                           "-p",
                           absl::StrCat(target.port() == 0 ? 22 : target.port()),
                           "--",
                           target.host(),
                           "hostname"});
  return argv;
}

absl::Status ValidateCheckSshRequest(const v1::CheckSshRequest& request) {
  if (!request.user().empty()) {
    if (absl::Status s = ValidateUserName(request.user()); !s.ok()) {
      return Invalid("user", s.message());
    }
  }
  if (request.targets().empty()) return Invalid("targets", "at least one target is required");
  if (static_cast<size_t>(request.targets_size()) > kMaxTargets) {
    return Invalid("targets", absl::StrCat(request.targets_size(), " targets; at most ",
                                           kMaxTargets, " per call"));
  }
  if (request.connect_timeout_s() > kMaxConnectTimeoutS) {
    return Invalid("connect_timeout_s",
                   absl::StrCat(request.connect_timeout_s(), " is over ", kMaxConnectTimeoutS));
  }
  for (int i = 0; i < request.targets_size(); ++i) {
    const v1::SshTarget& target = request.targets(i);
    std::string field = absl::StrCat("targets[", i, "]");
    if (!ValidateIpAddress(target.host()).ok() && !ValidateHostname(target.host()).ok()) {
      return Invalid(field + ".host", absl::StrCat("\"", absl::CHexEscape(target.host()),
                                                   "\" is neither an IP address nor a host name"));
    }
    if (target.port() > 65535) {
      return Invalid(field + ".port", absl::StrCat(target.port(), " is not in 1..65535"));
    }
    if (!target.user().empty()) {
      if (absl::Status s = ValidateUserName(target.user()); !s.ok()) {
        return Invalid(field + ".user", s.message());
      }
    }
  }
  return absl::OkStatus();
}

std::string CurrentUserName() {
  uid_t uid = geteuid();
  struct passwd entry;
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &entry, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return absl::StrCat("uid ", uid);
}

SshChecker::SshChecker(Env& env, ProcessRunner& runner, std::string agent_user)
    : env_(env), runner_(runner), agent_user_(std::move(agent_user)) {}

std::string SshChecker::HomeOf(const std::string& user) {
  absl::StatusOr<std::string> passwd = env_.ReadFile("/etc/passwd");
  if (passwd.ok()) {
    if (std::optional<std::string> home = HomeFromPasswd(*passwd, user)) return *home;
  }
  return user == "root" ? "/root" : absl::StrCat("/home/", user);
}

v1::CheckSshReply SshChecker::Check(const v1::CheckSshRequest& request,
                                    const std::function<bool()>& cancelled) {
  const std::string user = request.user().empty() ? agent_user_ : request.user();
  const std::string home = HomeOf(user);
  const std::string identity = home + "/.ssh/id_ed25519";
  SshFiles files{env_.HostPath(identity), env_.HostPath(home + "/.ssh/known_hosts"),
                 env_.HostPath("/etc/ssh/ssh_known_hosts")};
  // Trust not set up is the likeliest reason for a refusal: say so next to ssh's words.
  std::string no_key_note;
  if (!env_.Exists(identity)) {
    no_key_note = absl::StrCat(" (no key ", identity, " for ", user,
                               " on this node: SSH trust is not set up)");
  }
  const std::string run_as = agent_user_ == "root" && user != "root" ? user : "";
  absl::Duration connect_timeout = absl::Seconds(
      request.connect_timeout_s() == 0 ? kDefaultConnectTimeoutS : request.connect_timeout_s());
  ProcessOptions process;
  process.env = {{"LC_ALL", "C"}};
  process.timeout = connect_timeout + absl::Seconds(10);
  process.cancelled = cancelled;
  process.max_output_bytes = 64 << 10;

  std::vector<v1::SshCheckResult> results(request.targets_size());
  RunEach(results.size(), kParallelChecks, [&](size_t i) {
    const v1::SshTarget& target = request.targets(static_cast<int>(i));
    v1::SshCheckResult& result = results[i];
    const std::string remote_user = target.user().empty() ? user : target.user();
    result.set_target(target.host());
    result.set_port(target.port() == 0 ? 22 : target.port());
    result.set_user(remote_user);
    absl::Time start = absl::Now();
    absl::StatusOr<ProcessResult> ran =
        runner_.Run(SshArgv(target, remote_user, files, connect_timeout, run_as), process);
    result.set_duration_ms(absl::ToInt64Milliseconds(absl::Now() - start));
    if (!ran.ok()) {
      result.set_outcome(v1::SSH_CHECK_OUTCOME_OTHER);
      result.set_detail(std::string(ran.status().message()));
    } else if (ran->timed_out || ran->cancelled) {
      result.set_outcome(v1::SSH_CHECK_OUTCOME_TIMEOUT);
      result.set_detail(absl::StrCat("ssh ", ran->Describe()));
    } else if (ran->exit_code != 255 && ran->term_signal == 0) {
      // ssh passes the remote command's status on; 255 is ssh's own failure.
      result.set_outcome(v1::SSH_CHECK_OUTCOME_OK);
      std::vector<absl::string_view> lines = Lines(ran->stdout_text);
      if (!lines.empty()) result.set_remote_hostname(std::string(lines.front()));
      if (ran->exit_code != 0) {
        result.set_detail(absl::StrCat("logged in; `hostname` ", ran->Describe()));
      }
    } else {
      SshDiagnosis diagnosis = DiagnoseSshFailure(ran->stderr_text);
      result.set_outcome(diagnosis.outcome);
      result.set_detail(diagnosis.detail + no_key_note);
    }
  });
  v1::CheckSshReply reply;
  for (v1::SshCheckResult& result : results) *reply.add_results() = std::move(result);
  return reply;
}

}  // namespace sparkfleet
