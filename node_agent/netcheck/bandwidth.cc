#include "node_agent/netcheck/bandwidth.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/validate.h"
#include "node_agent/netcheck/json_reader.h"

namespace sparkfleet {
namespace {

constexpr uint32_t kDefaultDurationS = 5;
constexpr uint32_t kMaxStreams = 128;
constexpr absl::Duration kMaxAcceptTimeout = absl::Seconds(600);
// Time for iperf3 to connect, exchange parameters and results around the test itself.
constexpr absl::Duration kIperf3Slack = absl::Seconds(20);

absl::Status Invalid(absl::string_view message, absl::string_view field, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(message, ".", field, ": ", detail));
}

absl::Status CheckAddress(absl::string_view message, absl::string_view field,
                          const std::string& address) {
  if (ValidateIpAddress(address).ok()) return absl::OkStatus();
  return Invalid(message, field,
                 absl::StrCat("\"", absl::CHexEscape(address), "\" is not an IP address"));
}

// ib_write_bw requests are read by rdma_bandwidth.h; reaching here is the caller's slip.
absl::Status NotIperf3(absl::string_view message) {
  return Invalid(message, "tool", "ib_write_bw is not iperf3 (see rdma_bandwidth.h)");
}

// True when `number` is there and in [low, high]: only then may it be cast to an integer
// (a cast of a value outside the type's range is undefined behaviour).
bool InRange(std::optional<double> number, double low, double high) {
  return number.has_value() && *number >= low && *number <= high;
}

// iperf3's own reason from its JSON "error", else its last stderr line, else how it ended.
std::string Iperf3Error(const ProcessResult& result) {
  absl::StatusOr<JsonValue> json = JsonValue::Parse(result.stdout_text);
  if (json.ok()) {
    if (std::optional<std::string> error = json->StringAt({"error"})) return *error;
  }
  absl::string_view err = absl::StripTrailingAsciiWhitespace(result.stderr_text);
  size_t newline = err.rfind('\n');
  if (!err.empty()) return std::string(newline == err.npos ? err : err.substr(newline + 1));
  return result.Describe();
}

}  // namespace

absl::StatusOr<BandwidthTestOptions> BandwidthTestOptionsFromRequest(
    const v1::BandwidthTestRequest& request) {
  constexpr absl::string_view kMessage = "BandwidthTestRequest";
  if (request.tool() == v1::BANDWIDTH_TOOL_IB_WRITE_BW) return NotIperf3(kMessage);
  if (request.servers_size() != 1) {
    return Invalid(kMessage, "servers",
                   absl::StrCat("iperf3 takes exactly one server, got ", request.servers_size()));
  }
  const v1::BandwidthServer& server = request.servers(0);
  if (absl::Status s = CheckAddress(kMessage, "servers[0].address", server.address()); !s.ok()) {
    return s;
  }
  if (server.port() == 0 || server.port() > 65535) {
    return Invalid(kMessage, "servers[0].port", absl::StrCat(server.port(), " is not in 1..65535"));
  }
  BandwidthTestOptions options;
  options.server_address = server.address();
  options.server_port = static_cast<uint16_t>(server.port());
  if (!request.bind_address().empty()) {
    if (absl::Status s = CheckAddress(kMessage, "bind_address", request.bind_address()); !s.ok()) {
      return s;
    }
    options.bind_address = request.bind_address();
  }
  if (request.duration_s() > kMaxBandwidthDurationS) {
    return Invalid(kMessage, "duration_s",
                   absl::StrCat(request.duration_s(), " is over ", kMaxBandwidthDurationS));
  }
  options.duration_s = request.duration_s() == 0 ? kDefaultDurationS : request.duration_s();
  if (request.parallel_streams() > kMaxStreams) {
    return Invalid(kMessage, "parallel_streams",
                   absl::StrCat(request.parallel_streams(), " is over ", kMaxStreams));
  }
  options.parallel_streams = request.parallel_streams() == 0 ? 1 : request.parallel_streams();
  options.reverse = request.reverse();
  return options;
}

std::vector<std::string> Iperf3ClientArgv(const BandwidthTestOptions& options) {
  std::vector<std::string> argv = {"iperf3",
                                   "-c",
                                   options.server_address,
                                   "-p",
                                   absl::StrCat(options.server_port),
                                   "-t",
                                   absl::StrCat(options.duration_s),
                                   "-P",
                                   absl::StrCat(options.parallel_streams),
                                   "--connect-timeout",
                                   "5000",
                                   "--json"};
  if (options.reverse) argv.push_back("-R");
  if (!options.bind_address.empty()) argv.insert(argv.end(), {"-B", options.bind_address});
  return argv;
}

absl::StatusOr<v1::BandwidthResult> ParseIperf3ClientJson(absl::string_view json,
                                                          const BandwidthTestOptions& options) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(json);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("iperf3 did not print its JSON report: ", doc.status().message()));
  }
  std::string server = FormatHostPort(options.server_address, options.server_port);
  if (std::optional<std::string> error = doc->StringAt({"error"})) {
    return absl::FailedPreconditionError(
        absl::StrCat("iperf3 client to ", server, " failed: ", *error));
  }
  std::optional<double> sent = doc->NumberAt({"end", "sum_sent", "bits_per_second"});
  std::optional<double> received = doc->NumberAt({"end", "sum_received", "bits_per_second"});
  if (!sent.has_value() || !received.has_value()) {
    return absl::InvalidArgumentError(
        "iperf3's JSON report has no end.sum_sent / end.sum_received bits_per_second");
  }
  v1::BandwidthResult result;
  result.set_tool(v1::BANDWIDTH_TOOL_IPERF3);
  result.set_sent_bps(*sent);
  result.set_received_bps(*received);
  std::optional<double> retransmits = doc->NumberAt({"end", "sum_sent", "retransmits"});
  result.set_retransmits(InRange(retransmits, 0, 1e18) ? static_cast<int64_t>(*retransmits) : -1);
  result.set_duration_s(doc->NumberAt({"end", "sum_received", "seconds"})
                            .value_or(doc->NumberAt({"end", "sum_sent", "seconds"}).value_or(0)));
  std::optional<double> streams = doc->NumberAt({"start", "test_start", "num_streams"});
  result.set_parallel_streams(InRange(streams, 0, std::numeric_limits<uint32_t>::max())
                                  ? static_cast<uint32_t>(*streams)
                                  : options.parallel_streams);
  std::optional<double> reverse = doc->NumberAt({"start", "test_start", "reverse"});
  result.set_reverse(reverse.has_value() ? *reverse != 0 : options.reverse);
  v1::BandwidthLane* lane = result.add_lanes();
  lane->set_server(server);
  lane->set_bandwidth_bps(*received);
  return result;
}

absl::StatusOr<v1::BandwidthResult> RunBandwidthTest(ProcessRunner& runner,
                                                     const BandwidthTestOptions& options,
                                                     const std::function<bool()>& cancelled) {
  ProcessOptions process;
  process.timeout = absl::Seconds(options.duration_s) + kIperf3Slack;
  process.cancelled = cancelled;
  process.env = {{"LC_ALL", "C"}};
  absl::StatusOr<ProcessResult> ran = runner.Run(Iperf3ClientArgv(options), process);
  if (!ran.ok()) return ran.status();
  std::string server = FormatHostPort(options.server_address, options.server_port);
  if (ran->cancelled) {
    return absl::AbortedError(absl::StrCat("iperf3 client to ", server, " cancelled"));
  }
  if (ran->timed_out) {
    return absl::FailedPreconditionError(
        absl::StrCat("iperf3 client to ", server, " ", ran->Describe()));
  }
  absl::StatusOr<v1::BandwidthResult> result = ParseIperf3ClientJson(ran->stdout_text, options);
  if (!result.ok() && result.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::FailedPreconditionError(
        absl::StrCat("iperf3 client to ", server, " ", ran->Describe(), ": ", Iperf3Error(*ran)));
  }
  return result;
}

absl::StatusOr<BandwidthServeOptions> BandwidthServeOptionsFromRequest(
    const v1::BandwidthServeRequest& request) {
  constexpr absl::string_view kMessage = "BandwidthServeRequest";
  if (request.tool() == v1::BANDWIDTH_TOOL_IB_WRITE_BW) return NotIperf3(kMessage);
  if (absl::Status s = CheckAddress(kMessage, "bind_address", request.bind_address()); !s.ok()) {
    return s;
  }
  BandwidthServeOptions options;
  options.bind_address = request.bind_address();
  if (request.accept_timeout_ms() != 0) {
    options.accept_timeout = absl::Milliseconds(request.accept_timeout_ms());
  }
  if (options.accept_timeout > kMaxAcceptTimeout) {
    return Invalid(kMessage, "accept_timeout_ms",
                   absl::StrCat(request.accept_timeout_ms(), " is over 600000"));
  }
  return options;
}

std::vector<std::string> Iperf3ServerArgv(const std::string& address, uint16_t port,
                                          absl::Duration accept_timeout) {
  // iperf3 counts its idle timeout in whole seconds.
  int64_t idle_s =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(accept_timeout))));
  return {"iperf3", "-s",    "-1", "--idle-timeout",   absl::StrCat(idle_s),
          "-B",     address, "-p", absl::StrCat(port), "--json"};
}

absl::StatusOr<v1::BandwidthServer> StartIperf3Server(BandwidthServers& servers,
                                                      const BandwidthServeOptions& options) {
  BandwidthServerCommand command;
  command.tool = "iperf3";
  command.argv = [options](uint16_t port) {
    return Iperf3ServerArgv(options.bind_address, port, options.accept_timeout);
  };
  // Past iperf3's own idle timeout: a client that came may run the longest test.
  command.timeout =
      options.accept_timeout + absl::Seconds(kMaxBandwidthDurationS) + 2 * kIperf3Slack;
  command.error = Iperf3Error;
  command.port_taken = [](absl::string_view why) { return absl::StrContains(why, "in use"); };
  return servers.Start(options.bind_address, command);
}

}  // namespace sparkfleet
