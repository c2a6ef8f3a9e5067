// The process half of rdma_bandwidth.h: ib_write_bw servers and clients.
#include <functional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/validate.h"
#include "node_agent/netcheck/bandwidth.h"
#include "node_agent/netcheck/rdma_bandwidth.h"
#include "node_agent/netcheck/run_each.h"

namespace sparkfleet {
namespace {

constexpr char kTool[] = "ib_write_bw";
// Device setup, the TCP exchange and the report around the measured time.
constexpr absl::Duration kSlack = absl::Seconds(30);
constexpr absl::Duration kHelpTimeout = absl::Seconds(10);

absl::Status CheckInstalled(ProcessRunner& runner, const std::string& node_name) {
  if (runner.Find(kTool).ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("ib_write_bw (perftest) is not installed on ",
                                                    node_name, "; apt-get install perftest"));
}

// The bind flag of the installed perftest; "" when its help does not name one.
std::string BindFlag(ProcessRunner& runner) {
  ProcessOptions process;
  process.timeout = kHelpTimeout;
  process.env = {{"LC_ALL", "C"}};
  absl::StatusOr<ProcessResult> help = runner.Run({kTool, "--help"}, process);
  if (!help.ok()) return "";
  return IbWriteBwBindFlag(absl::StrCat(help->stdout_text, help->stderr_text));
}

BandwidthServerCommand ServerCommand(const IbWriteBwServeOptions& options,
                                     const std::string& device, const std::string& bind_flag) {
  BandwidthServerCommand command;
  command.tool = absl::StrCat(kTool, " (", device, ")");
  command.argv = [device, bind_flag, address = options.bind_address](uint16_t port) {
    return IbWriteBwServerArgv(device, port, bind_flag, address);
  };
  command.timeout = options.accept_timeout + absl::Seconds(kMaxBandwidthDurationS) + kSlack;
  // perftest waits for its client forever.
  command.accept_timeout = options.accept_timeout;
  command.error = IbWriteBwError;
  command.port_taken = [](absl::string_view why) {
    return absl::StrContains(why, "Couldn't listen to port");
  };
  return command;
}

std::string LaneName(const IbWriteBwLane& lane) {
  return absl::StrCat(
      lane.local_device, " -> ", FormatHostPort(lane.server_address, lane.server_port),
      lane.remote_device.empty() ? "" : absl::StrCat(" (", lane.remote_device, ")"));
}

// One lane's client: its bits per second, or why there is none.
absl::StatusOr<double> RunLane(ProcessRunner& runner, const IbWriteBwTestOptions& options,
                               const IbWriteBwLane& lane, const std::string& bind_flag,
                               const std::function<bool()>& cancelled) {
  ProcessOptions process;
  process.timeout = absl::Seconds(options.duration_s) + kSlack;
  process.cancelled = cancelled;
  process.env = {{"LC_ALL", "C"}};
  absl::StatusOr<ProcessResult> ran = runner.Run(
      IbWriteBwClientArgv(lane, options.duration_s, bind_flag, options.bind_address), process);
  if (!ran.ok()) return ran.status();
  if (ran->cancelled) return absl::AbortedError("cancelled");
  if (!ran->ok()) return absl::FailedPreconditionError(IbWriteBwError(*ran));
  absl::StatusOr<double> bps = ParseIbWriteBwAverageBps(ran->stdout_text);
  if (!bps.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(bps.status().message(), "; ", IbWriteBwError(*ran)));
  }
  return bps;
}

}  // namespace

absl::StatusOr<v1::BandwidthServeReply> ServeIbWriteBw(Env& env, ProcessRunner& runner,
                                                       const std::string& node_name,
                                                       const v1::BandwidthServeRequest& request,
                                                       BandwidthServers& servers) {
  absl::StatusOr<IbWriteBwServeOptions> options = IbWriteBwServeOptionsFromRequest(env, request);
  if (!options.ok()) return options.status();
  if (absl::Status s = CheckInstalled(runner, node_name); !s.ok()) return s;
  const std::string bind_flag = BindFlag(runner);
  v1::BandwidthServeReply reply;
  for (const std::string& device : options->devices) {
    absl::StatusOr<v1::BandwidthServer> server =
        servers.Start(options->bind_address, ServerCommand(*options, device, bind_flag));
    if (!server.ok()) {
      // No client comes to the others either.
      for (const v1::BandwidthServer& started : reply.servers()) servers.Abandon(started);
      return absl::Status(server.status().code(),
                          absl::StrCat("on ", node_name, ": ", server.status().message()));
    }
    server->set_rdma_device(device);
    *reply.add_servers() = *std::move(server);
  }
  return reply;
}

absl::StatusOr<v1::BandwidthResult> TestIbWriteBw(Env& env, ProcessRunner& runner,
                                                  const std::string& node_name,
                                                  const v1::BandwidthTestRequest& request,
                                                  const std::function<bool()>& cancelled) {
  absl::StatusOr<IbWriteBwTestOptions> options = IbWriteBwTestOptionsFromRequest(env, request);
  if (!options.ok()) return options.status();
  if (absl::Status s = CheckInstalled(runner, node_name); !s.ok()) return s;
  return RunIbWriteBwClients(runner, node_name, *options, cancelled);
}

absl::StatusOr<v1::BandwidthResult> RunIbWriteBwClients(ProcessRunner& runner,
                                                        const std::string& node_name,
                                                        const IbWriteBwTestOptions& options,
                                                        const std::function<bool()>& cancelled) {
  const std::string bind_flag = options.bind_address.empty() ? "" : BindFlag(runner);
  const size_t n = options.lanes.size();
  std::vector<absl::StatusOr<double>> bps(n, absl::UnknownError("not run"));
  // Both halves of a Spark port at once: their sum is the port's bandwidth.
  RunEach(n, n, [&](size_t i) {
    bps[i] = RunLane(runner, options, options.lanes[i], bind_flag, cancelled);
  });
  v1::BandwidthResult result;
  result.set_tool(v1::BANDWIDTH_TOOL_IB_WRITE_BW);
  std::vector<std::string> outcomes;
  bool failed = false, aborted = false;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const IbWriteBwLane& lane = options.lanes[i];
    if (!bps[i].ok()) {
      failed = true;
      aborted |= bps[i].status().code() == absl::StatusCode::kAborted;
      outcomes.push_back(absl::StrCat(LaneName(lane), ": ", bps[i].status().message()));
      continue;
    }
    outcomes.push_back(absl::StrFormat("%s: %.2f Gb/s", LaneName(lane), *bps[i] / 1e9));
    sum += *bps[i];
    v1::BandwidthLane* out = result.add_lanes();
    out->set_local_rdma_device(lane.local_device);
    out->set_remote_rdma_device(lane.remote_device);
    out->set_server(FormatHostPort(lane.server_address, lane.server_port));
    out->set_bandwidth_bps(*bps[i]);
  }
  std::string what =
      absl::StrCat("ib_write_bw on ", node_name, ": ", absl::StrJoin(outcomes, "; "));
  if (aborted) return absl::AbortedError(what);
  if (failed) return absl::FailedPreconditionError(what);
  // RDMA writes are acknowledged: what the sender counts is what arrived.
  result.set_sent_bps(sum);
  result.set_received_bps(sum);
  result.set_retransmits(-1);
  result.set_duration_s(options.duration_s);
  result.set_parallel_streams(1);
  return result;
}

}  // namespace sparkfleet
