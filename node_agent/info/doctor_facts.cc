#include "node_agent/info/doctor_facts.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/passwd.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

constexpr int kMaxUsers = 32;
constexpr absl::Duration kClockToolTimeout = absl::Seconds(5);

void Warn(v1::GetDoctorFactsReply& reply, absl::string_view path, absl::string_view message) {
  v1::ProbeWarning* warning = reply.add_warnings();
  warning->set_path(std::string(path));
  warning->set_message(std::string(message));
}

// "127526044 kB" -> bytes.
std::optional<int64_t> KilobytesField(absl::string_view value) {
  std::vector<absl::string_view> words = absl::StrSplit(value, ' ', absl::SkipWhitespace());
  int64_t number = 0;
  if (words.empty() || !absl::SimpleAtoi(words[0], &number) || number < 0) return std::nullopt;
  if (words.size() > 1 && words[1] != "kB") return std::nullopt;
  return words.size() > 1 ? number * 1024 : number;
}

// The clock as chrony or systemd-timesyncd keeps it; nullopt and a warning when neither
// answers.
v1::ClockSync ReadClock(ProcessRunner& runner, v1::GetDoctorFactsReply& reply) {
  ProcessOptions options;
  options.timeout = kClockToolTimeout;
  absl::StatusOr<ProcessResult> chrony = runner.Run({"chronyc", "-c", "tracking"}, options);
  if (chrony.ok() && chrony->ok()) {
    if (std::optional<v1::ClockSync> clock = ParseChronyTracking(chrony->stdout_text)) {
      return *clock;
    }
  }
  absl::StatusOr<ProcessResult> timedatectl = runner.Run({"timedatectl", "show"}, options);
  if (timedatectl.ok() && timedatectl->ok()) {
    if (std::optional<v1::ClockSync> clock = ParseTimedatectlShow(timedatectl->stdout_text)) {
      return *clock;
    }
  }
  v1::ClockSync unknown;
  unknown.set_source(v1::CLOCK_SYNC_SOURCE_UNSPECIFIED);
  auto said = [](const absl::StatusOr<ProcessResult>& ran) {
    if (absl::IsNotFound(ran.status())) return std::string("not installed");
    return ran.ok() ? ran->Describe() : std::string(ran.status().message());
  };
  std::string why = absl::StrCat("chronyc: ", said(chrony), "; timedatectl: ", said(timedatectl));
  unknown.set_detail(why);
  Warn(reply, "chronyc/timedatectl", absl::StrCat("clock synchronization unknown: ", why));
  return unknown;
}

}  // namespace

void ParseMeminfo(absl::string_view text, v1::GetDoctorFactsReply& reply) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    std::optional<int64_t> bytes = KilobytesField(absl::StripAsciiWhitespace(kv.second));
    if (!bytes.has_value()) continue;
    if (kv.first == "MemTotal") reply.set_memory_total_bytes(*bytes);
    if (kv.first == "MemAvailable") reply.set_memory_available_bytes(*bytes);
    if (kv.first == "CmaTotal") reply.set_cma_total_bytes(*bytes);
    if (kv.first == "CmaFree") reply.set_cma_free_bytes(*bytes);
  }
}

std::optional<v1::ClockSync> ParseChronyTracking(absl::string_view text) {
  // Reference ID, name, stratum, ref time, system time offset (s), last offset, RMS
  // offset, frequency, residual freq, skew, root delay, root dispersion, update interval,
  // leap status.
  std::vector<std::string> fields = absl::StrSplit(absl::StripAsciiWhitespace(text), ',');
  if (fields.size() < 14) return std::nullopt;
  int stratum = 0;
  double offset_s = 0;
  if (!absl::SimpleAtoi(fields[2], &stratum) || !absl::SimpleAtod(fields[4], &offset_s)) {
    return std::nullopt;
  }
  const std::string& leap = fields[13];
  v1::ClockSync clock;
  clock.set_source(v1::CLOCK_SYNC_SOURCE_CHRONY);
  bool synchronized =
      leap != "Not synchronised" && stratum > 0 && stratum < 16 && fields[0] != "00000000";
  clock.set_synchronized(synchronized);
  if (synchronized) clock.set_offset_us(static_cast<int64_t>(std::llround(offset_s * 1e6)));
  clock.set_detail(absl::StrCat("chronyc tracking: reference ", fields[1], ", stratum ", stratum,
                                ", leap status ", leap));
  return clock;
}

std::optional<v1::ClockSync> ParseTimedatectlShow(absl::string_view text) {
  std::optional<bool> synchronized;
  bool ntp = false;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "NTPSynchronized") synchronized = kv.second == "yes";
    if (kv.first == "NTP") ntp = kv.second == "yes";
  }
  if (!synchronized.has_value()) return std::nullopt;
  v1::ClockSync clock;
  clock.set_source(ntp ? v1::CLOCK_SYNC_SOURCE_TIMESYNCD : v1::CLOCK_SYNC_SOURCE_NONE);
  clock.set_synchronized(*synchronized);
  clock.set_detail(absl::StrCat("timedatectl show: NTP=", ntp ? "yes" : "no",
                                ", NTPSynchronized=", *synchronized ? "yes" : "no"));
  return clock;
}

absl::Status ValidateGetDoctorFactsRequest(const v1::GetDoctorFactsRequest& request) {
  if (request.users_size() > kMaxUsers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GetDoctorFactsRequest.users: ", request.users_size(), " users; at most ", kMaxUsers));
  }
  for (int i = 0; i < request.users_size(); ++i) {
    if (absl::Status s = ValidateUserName(request.users(i)); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("GetDoctorFactsRequest.users[", i, "]: ", s.message()));
    }
  }
  return absl::OkStatus();
}

v1::GetDoctorFactsReply CollectDoctorFacts(Env& env, ProcessRunner& runner,
                                           const v1::GetDoctorFactsRequest& request,
                                           const std::function<absl::Time()>& now) {
  v1::GetDoctorFactsReply reply;
  absl::StatusOr<std::string> meminfo = env.ReadFile("/proc/meminfo");
  if (meminfo.ok()) {
    ParseMeminfo(*meminfo, reply);
  } else {
    Warn(reply, "/proc/meminfo", meminfo.status().message());
  }
  *reply.mutable_clock() = ReadClock(runner, reply);
  absl::StatusOr<std::string> passwd = env.ReadFile("/etc/passwd");
  if (!passwd.ok() && request.users_size() > 0) {
    Warn(reply, "/etc/passwd", passwd.status().message());
  }
  for (const std::string& user : request.users()) {
    v1::UserAccount* account = reply.add_users();
    account->set_name(user);
    if (!passwd.ok()) continue;
    std::optional<PasswdEntry> entry = FindPasswdEntry(*passwd, user);
    account->set_exists(entry.has_value());
    if (!entry.has_value()) continue;
    account->set_uid(entry->uid);
    account->set_gid(entry->gid);
    account->set_home(entry->home);
  }
  reply.set_wall_clock_unix_us(absl::ToUnixMicros(now()));
  return reply;
}

}  // namespace sparkfleet
