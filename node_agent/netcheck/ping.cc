#include "node_agent/netcheck/ping.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/validate.h"
#include "node_agent/netcheck/run_each.h"

namespace sparkfleet {
namespace {

constexpr size_t kMaxTargets = 1024;
constexpr size_t kParallelPings = 32;
constexpr uint32_t kMaxCount = 100;
constexpr uint32_t kMaxPayloadBytes = 65507;  // 65535 - IPv4 header - ICMP header

absl::Status FieldError(absl::string_view field, const absl::Status& why) {
  return absl::InvalidArgumentError(absl::StrCat("PingRequest.", field, ": ", why.message()));
}

// "a/b/c/d ms" after "rtt min/avg/max/mdev = " into the result, in microseconds.
void ParseRttLine(absl::string_view line, v1::PingResult& result) {
  size_t eq = line.find('=');
  if (eq == absl::string_view::npos) return;
  absl::string_view values = absl::StripAsciiWhitespace(line.substr(eq + 1));
  values = values.substr(0, values.find(' '));
  std::vector<absl::string_view> parts = absl::StrSplit(values, '/');
  if (parts.size() != 4) return;
  double ms[4];
  for (int i = 0; i < 4; ++i) {
    if (!absl::SimpleAtod(parts[i], &ms[i])) return;
  }
  result.set_min_rtt_us(ms[0] * 1000);
  result.set_avg_rtt_us(ms[1] * 1000);
  result.set_max_rtt_us(ms[2] * 1000);
  result.set_mdev_rtt_us(ms[3] * 1000);
}

// "3 packets transmitted, 2 received, +1 errors, 33.3333% packet loss, time 402ms".
bool ParseStatisticsLine(absl::string_view line, v1::PingResult& result) {
  if (!absl::StrContains(line, " packets transmitted, ")) return false;
  uint32_t sent = 0, received = 0;
  for (absl::string_view part : absl::StrSplit(line, ", ")) {
    part = absl::StripAsciiWhitespace(part);
    absl::string_view number = part.substr(0, part.find(' '));
    if (absl::EndsWith(part, "packets transmitted")) {
      if (!absl::SimpleAtoi(number, &sent)) return false;
    } else if (absl::EndsWith(part, " received")) {
      if (!absl::SimpleAtoi(number, &received)) return false;
    }
  }
  result.set_sent(sent);
  result.set_received(received);
  return true;
}

// "From 10.0.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)" -> the part after the
// sequence number.
std::string ReplyError(absl::string_view line) {
  size_t seq = line.find("icmp_seq=");
  if (seq == absl::string_view::npos) return std::string(line);
  absl::string_view rest = line.substr(seq);
  size_t space = rest.find(' ');
  if (space == absl::string_view::npos) return std::string(line);
  return std::string(absl::StripAsciiWhitespace(rest.substr(space + 1)));
}

}  // namespace

absl::StatusOr<PingOptions> PingOptionsFromRequest(const v1::PingRequest& request) {
  if (request.targets().empty()) {
    return absl::InvalidArgumentError("PingRequest.targets: at least one target is required");
  }
  if (static_cast<size_t>(request.targets_size()) > kMaxTargets) {
    return absl::InvalidArgumentError(absl::StrCat("PingRequest.targets: ", request.targets_size(),
                                                   " targets; at most ", kMaxTargets, " per call"));
  }
  for (int i = 0; i < request.targets_size(); ++i) {
    const std::string& target = request.targets(i);
    if (!ValidateIpAddress(target).ok() && !ValidateHostname(target).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PingRequest.targets[", i, "] \"", absl::CHexEscape(target),
                       "\" is neither an IP address nor a host name"));
    }
  }
  PingOptions options;
  if (!request.interface().empty()) {
    if (absl::Status s = ValidateInterfaceName(request.interface()); !s.ok()) {
      return FieldError("interface", s);
    }
    options.interface = request.interface();
  }
  if (request.count() > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("PingRequest.count: ", request.count(), " is over ", kMaxCount));
  }
  if (request.count() != 0) options.count = request.count();
  if (request.interval_ms() != 0) {
    if (request.interval_ms() < 10 || request.interval_ms() > 10000) {
      return absl::InvalidArgumentError(
          absl::StrCat("PingRequest.interval_ms: ", request.interval_ms(), " is not in 10..10000"));
    }
    options.interval = absl::Milliseconds(request.interval_ms());
  }
  if (request.timeout_ms() != 0) {
    if (request.timeout_ms() > 60000) {
      return absl::InvalidArgumentError(
          absl::StrCat("PingRequest.timeout_ms: ", request.timeout_ms(), " is over 60000"));
    }
    options.timeout = absl::Milliseconds(request.timeout_ms());
  }
  if (request.payload_bytes() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PingRequest.payload_bytes: ", request.payload_bytes(), " is over ", kMaxPayloadBytes));
  }
  if (request.payload_bytes() != 0) options.payload_bytes = request.payload_bytes();
  options.dont_fragment = request.dont_fragment();
  return options;
}

std::vector<std::string> PingArgv(const std::string& target, const PingOptions& options) {
  auto seconds = [](absl::Duration d) { return absl::StrFormat("%.3f", absl::ToDoubleSeconds(d)); };
  std::vector<std::string> argv = {"ping", "-n",
                                   "-c",   absl::StrCat(options.count),
                                   "-i",   seconds(options.interval),
                                   "-W",   seconds(options.timeout),
                                   "-s",   absl::StrCat(options.payload_bytes)};
  if (options.dont_fragment) argv.insert(argv.end(), {"-M", "do"});
  if (!options.interface.empty()) argv.insert(argv.end(), {"-I", options.interface});
  argv.push_back(target);
  return argv;
}

v1::PingResult ParsePingOutput(absl::string_view target, absl::string_view stdout_text,
                               absl::string_view stderr_text) {
  v1::PingResult result;
  result.set_target(std::string(target));
  bool have_statistics = false;
  std::string reply_error;
  for (absl::string_view line : absl::StrSplit(stdout_text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "From ") && reply_error.empty()) {
      reply_error = ReplyError(line);
    } else if (ParseStatisticsLine(line, result)) {
      have_statistics = true;
    } else if (absl::StartsWith(line, "rtt ") || absl::StartsWith(line, "round-trip ")) {
      ParseRttLine(line, result);
    }
  }
  std::string ping_error;
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    absl::ConsumePrefix(&line, "ping: ");
    ping_error = std::string(line);
    break;
  }
  result.set_reachable(result.received() > 0);
  result.set_loss_percent(
      result.sent() == 0 ? 100.0 : 100.0 * (result.sent() - result.received()) / result.sent());
  if (!result.reachable()) {
    if (!reply_error.empty()) {
      result.set_error(reply_error);
    } else if (!ping_error.empty()) {
      result.set_error(ping_error);
    } else if (!have_statistics) {
      result.set_error("ping printed no statistics");
    } else {
      result.set_error("no echo reply");
    }
  } else if (!reply_error.empty() || !ping_error.empty()) {
    // Some replies came back; keep what happened to the others.
    result.set_error(!reply_error.empty() ? reply_error : ping_error);
  }
  return result;
}

v1::PingReply PingTargets(ProcessRunner& runner, const std::vector<std::string>& targets,
                          const PingOptions& options, const std::function<bool()>& cancelled) {
  std::vector<v1::PingResult> results(targets.size());
  ProcessOptions process;
  process.env = {{"LC_ALL", "C"}};
  // ping stops by itself after count * interval plus the last reply's wait.
  process.timeout = options.interval * options.count + options.timeout + absl::Seconds(5);
  process.cancelled = cancelled;
  process.max_output_bytes = 256 << 10;
  RunEach(targets.size(), kParallelPings, [&](size_t i) {
    absl::StatusOr<ProcessResult> ran = runner.Run(PingArgv(targets[i], options), process);
    if (!ran.ok()) {
      results[i] = ParsePingOutput(targets[i], "", ran.status().message());
    } else {
      results[i] = ParsePingOutput(targets[i], ran->stdout_text, ran->stderr_text);
      if (ran->timed_out || ran->cancelled) {
        results[i].set_error(absl::StrCat(
            "ping ", ran->Describe(), results[i].error().empty() ? "" : ": ", results[i].error()));
      }
    }
    results[i].set_payload_bytes(options.payload_bytes);
    results[i].set_dont_fragment(options.dont_fragment);
  });
  v1::PingReply reply;
  for (v1::PingResult& result : results) *reply.add_results() = std::move(result);
  return reply;
}

}  // namespace sparkfleet
