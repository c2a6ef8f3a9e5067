// The pure half of rdma_bandwidth.h: requests, argv and perftest's output.
// rdma_bandwidth_run.cc runs the processes.
#include "node_agent/netcheck/rdma_bandwidth.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/validate.h"
#include "node_agent/netcheck/bandwidth.h"

namespace sparkfleet {
namespace {

// Where the kernel lists RDMA devices (as node_agent/probe/rdma_probe.cc reads them).
constexpr char kClassInfiniband[] = "/sys/class/infiniband";
constexpr size_t kMaxDeviceNameLength = 64;  // IB_DEVICE_NAME_MAX
constexpr absl::Duration kMaxAcceptTimeout = absl::Seconds(600);

absl::Status Invalid(absl::string_view message, absl::string_view field, absl::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat(message, ".", field, ": ", detail));
}

absl::Status CheckIpv4(absl::string_view message, absl::string_view field,
                       const std::string& address) {
  if (ValidateIpAddress(address).ok() && !IsIpv6(address)) return absl::OkStatus();
  return Invalid(message, field,
                 absl::StrCat("\"", absl::CHexEscape(address),
                              "\" is not an IPv4 address (ib_write_bw connects over IPv4)"));
}

bool IsDeviceName(absl::string_view name) {
  // A leading '-' would read as one of ib_write_bw's options.
  if (name.empty() || name.size() > kMaxDeviceNameLength || name == "." || name == ".." ||
      name.front() == '-') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// A device name that may be put in argv; `must_exist` also wants it on this node.
absl::Status CheckDevice(Env& env, absl::string_view message, absl::string_view field,
                         const std::string& name, bool must_exist) {
  if (!IsDeviceName(name)) {
    return Invalid(message, field,
                   absl::StrCat("\"", absl::CHexEscape(name),
                                "\" is not an RDMA device name (letters, digits, _ . -)"));
  }
  if (!must_exist || env.Exists(absl::StrCat(kClassInfiniband, "/", name))) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> present = env.ListDir(kClassInfiniband);
  std::string have = present.ok() && !present->empty()
                         ? absl::StrCat("this node has ", absl::StrJoin(*present, ", "))
                         : "this node has no RDMA device";
  return Invalid(message, field,
                 absl::StrCat("no RDMA device ", name, " under ", kClassInfiniband, "; ", have));
}

absl::Status CheckDeviceList(Env& env, absl::string_view message, absl::string_view field,
                             const google::protobuf::RepeatedPtrField<std::string>& devices) {
  if (devices.empty()) return Invalid(message, field, "ib_write_bw needs at least one device");
  if (devices.size() > kMaxRdmaLanes) {
    return Invalid(message, field,
                   absl::StrCat(devices.size(), " devices; at most ", kMaxRdmaLanes));
  }
  for (int i = 0; i < devices.size(); ++i) {
    if (absl::Status s = CheckDevice(env, message, absl::StrCat(field, "[", i, "]"), devices[i],
                                     /*must_exist=*/true);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<IbWriteBwLane> LaneFromRequest(Env& env, const v1::BandwidthTestRequest& request,
                                              int i) {
  constexpr absl::string_view kMessage = "BandwidthTestRequest";
  const v1::BandwidthServer& server = request.servers(i);
  std::string field = absl::StrCat("servers[", i, "]");
  if (absl::Status s = CheckIpv4(kMessage, field + ".address", server.address()); !s.ok()) {
    return s;
  }
  if (server.port() == 0 || server.port() > 65535) {
    return Invalid(kMessage, field + ".port", absl::StrCat(server.port(), " is not in 1..65535"));
  }
  if (!server.rdma_device().empty()) {
    if (absl::Status s = CheckDevice(env, kMessage, field + ".rdma_device", server.rdma_device(),
                                     /*must_exist=*/false);
        !s.ok()) {
      return s;
    }
  }
  IbWriteBwLane lane;
  lane.local_device = request.rdma_devices(i);
  lane.remote_device = server.rdma_device();
  lane.server_address = server.address();
  lane.server_port = static_cast<uint16_t>(server.port());
  return lane;
}

bool IsUnsigned(absl::string_view token) {
  uint64_t value = 0;
  return absl::SimpleAtoi(token, &value);
}

}  // namespace

absl::StatusOr<IbWriteBwServeOptions> IbWriteBwServeOptionsFromRequest(
    Env& env, const v1::BandwidthServeRequest& request) {
  constexpr absl::string_view kMessage = "BandwidthServeRequest";
  if (absl::Status s = CheckIpv4(kMessage, "bind_address", request.bind_address()); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckDeviceList(env, kMessage, "rdma_devices", request.rdma_devices());
      !s.ok()) {
    return s;
  }
  IbWriteBwServeOptions options;
  options.bind_address = request.bind_address();
  options.devices.assign(request.rdma_devices().begin(), request.rdma_devices().end());
  if (request.accept_timeout_ms() != 0) {
    options.accept_timeout = absl::Milliseconds(request.accept_timeout_ms());
  }
  if (options.accept_timeout > kMaxAcceptTimeout) {
    return Invalid(kMessage, "accept_timeout_ms",
                   absl::StrCat(request.accept_timeout_ms(), " is over 600000"));
  }
  return options;
}

absl::StatusOr<IbWriteBwTestOptions> IbWriteBwTestOptionsFromRequest(
    Env& env, const v1::BandwidthTestRequest& request) {
  constexpr absl::string_view kMessage = "BandwidthTestRequest";
  if (request.servers_size() != request.rdma_devices_size()) {
    return Invalid(kMessage, "rdma_devices",
                   absl::StrCat(request.rdma_devices_size(), " devices for ",
                                request.servers_size(), " servers; ib_write_bw needs one each"));
  }
  if (absl::Status s = CheckDeviceList(env, kMessage, "rdma_devices", request.rdma_devices());
      !s.ok()) {
    return s;
  }
  IbWriteBwTestOptions options;
  for (int i = 0; i < request.servers_size(); ++i) {
    absl::StatusOr<IbWriteBwLane> lane = LaneFromRequest(env, request, i);
    if (!lane.ok()) return lane.status();
    options.lanes.push_back(*std::move(lane));
  }
  if (!request.bind_address().empty()) {
    if (absl::Status s = CheckIpv4(kMessage, "bind_address", request.bind_address()); !s.ok()) {
      return s;
    }
    options.bind_address = request.bind_address();
  }
  if (request.duration_s() > kMaxBandwidthDurationS) {
    return Invalid(kMessage, "duration_s",
                   absl::StrCat(request.duration_s(), " is over ", kMaxBandwidthDurationS));
  }
  options.duration_s = std::max(kIbWriteBwMinDurationS, request.duration_s());
  if (request.parallel_streams() > 1 || request.reverse()) {
    return Invalid(kMessage, request.reverse() ? "reverse" : "parallel_streams",
                   "is iperf3's; ib_write_bw runs one queue pair per device, sender to server");
  }
  return options;
}

std::string IbWriteBwBindFlag(absl::string_view help_text) {
  if (absl::StrContains(help_text, "--bind_source_ip")) return "--bind_source_ip";
  if (absl::StrContains(help_text, "--source_ip")) return "--source_ip";
  return "";
}

std::vector<std::string> IbWriteBwServerArgv(const std::string& device, uint16_t port,
                                             const std::string& bind_flag,
                                             const std::string& bind_address) {
  std::vector<std::string> argv = {"ib_write_bw",      "-d", device,          "-p",
                                   absl::StrCat(port), "-F", "--report_gbits"};
  if (!bind_flag.empty()) argv.insert(argv.end(), {bind_flag, bind_address});
  return argv;
}

std::vector<std::string> IbWriteBwClientArgv(const IbWriteBwLane& lane, uint32_t duration_s,
                                             const std::string& bind_flag,
                                             const std::string& bind_address) {
  std::vector<std::string> argv = {"ib_write_bw",
                                   "-d",
                                   lane.local_device,
                                   "-p",
                                   absl::StrCat(lane.server_port),
                                   "-D",
                                   absl::StrCat(duration_s),
                                   "-F",
                                   "--report_gbits"};
  if (!bind_flag.empty() && !bind_address.empty()) {
    argv.insert(argv.end(), {bind_flag, bind_address});
  }
  argv.push_back(lane.server_address);
  return argv;
}

absl::StatusOr<double> ParseIbWriteBwAverageBps(absl::string_view output) {
  std::vector<absl::string_view> lines = absl::StrSplit(output, '\n');
  auto header = std::find_if(lines.begin(), lines.end(), [](absl::string_view line) {
    return absl::StrContains(line, "BW average[");
  });
  if (header == lines.end()) {
    return absl::InvalidArgumentError(
        "ib_write_bw printed no result table (no \"BW average\" column)");
  }
  // perftest's MB is MiB (its --help says so); Gb is 10^9 bits.
  const double bits_per_unit =
      absl::StrContains(*header, "BW average[Gb/sec]") ? 1e9 : 8.0 * (1 << 20);
  for (auto it = header + 1; it != lines.end(); ++it) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(*it, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // #bytes #iterations BW-peak BW-average [MsgRate]; warnings in between are skipped.
    double average = 0;
    if (fields.size() >= 4 && IsUnsigned(fields[0]) && IsUnsigned(fields[1]) &&
        absl::SimpleAtod(fields[3], &average) && average >= 0) {
      return average * bits_per_unit;
    }
  }
  return absl::InvalidArgumentError("ib_write_bw's result table has no result row");
}

std::string IbWriteBwError(const ProcessResult& result) {
  std::vector<std::string> said;
  for (absl::string_view line : absl::StrSplit(result.stderr_text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line.find_first_not_of("-*") != line.npos) said.emplace_back(line);
  }
  if (said.size() > 3) said.erase(said.begin(), said.end() - 3);
  if (said.empty()) return result.Describe();
  return absl::StrCat(absl::StrJoin(said, "; "), " (", result.Describe(), ")");
}

}  // namespace sparkfleet
