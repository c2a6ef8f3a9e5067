// Bandwidth: TCP throughput between two nodes with iperf3, always in child processes.
//
// libiperf calls exit() on some errors and keeps its error state in a global, so the
// agent never links it: it runs the iperf3 program with --json. A test is two calls on
// two agents: BandwidthServe on the receiving node starts a one-shot server
// (`iperf3 -s -1 --idle-timeout S -B ADDR -p PORT --json`) on a free port and answers at
// once; BandwidthTest on the sending node runs the client
// (`iperf3 -c ADDR -p PORT -t DURATION -P STREAMS [-R] [-B ADDR] --json`) and parses its
// JSON. A server whose client never comes exits after its accept timeout (iperf3's
// idle timeout), and is killed anyway after accept timeout + the longest test + slack;
// every server still running is killed when the agent stops (bandwidth_servers.h).
// RDMA (ib_write_bw) is in rdma_bandwidth.h.
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_BANDWIDTH_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_BANDWIDTH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/process_runner.h"
#include "node_agent/netcheck/bandwidth_servers.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// The longest bandwidth test a client may ask for.
inline constexpr uint32_t kMaxBandwidthDurationS = 300;

struct BandwidthTestOptions {
  std::string server_address;
  uint16_t server_port = 0;
  std::string bind_address;  // -B; empty = routing decides
  uint32_t duration_s = 5;
  uint32_t parallel_streams = 1;
  bool reverse = false;
};

// The client options of `request` with defaults (5 s, 1 stream). INVALID_ARGUMENT
// naming the field for anything but exactly one server with an IP address and a port,
// a bind address that is not an IP address, a duration over kMaxBandwidthDurationS or
// more than 128 streams or the ib_write_bw tool (rdma_bandwidth.h reads those).
[[nodiscard]] absl::StatusOr<BandwidthTestOptions> BandwidthTestOptionsFromRequest(
    const v1::BandwidthTestRequest& request);

std::vector<std::string> Iperf3ClientArgv(const BandwidthTestOptions& options);

// What the client's `iperf3 --json` said. Pure. FAILED_PRECONDITION carrying iperf3's
// own "error" text when the test did not run (iperf3 3.12 exits 0 even then);
// INVALID_ARGUMENT when the text is not iperf3's JSON.
[[nodiscard]] absl::StatusOr<v1::BandwidthResult> ParseIperf3ClientJson(
    absl::string_view json, const BandwidthTestOptions& options);

// Runs the client and parses its result; FAILED_PRECONDITION with iperf3's reason when
// the test could not run (server unreachable, refused), ABORTED when `cancelled`.
[[nodiscard]] absl::StatusOr<v1::BandwidthResult> RunBandwidthTest(
    ProcessRunner& runner, const BandwidthTestOptions& options,
    const std::function<bool()>& cancelled);

struct BandwidthServeOptions {
  std::string bind_address;
  absl::Duration accept_timeout = absl::Seconds(30);
};

// The server options of `request` (accept timeout 0 = 30 s, at most 600 s);
// INVALID_ARGUMENT for a bind address that is not an IP address or the ib_write_bw
// tool (rdma_bandwidth.h serves those).
[[nodiscard]] absl::StatusOr<BandwidthServeOptions> BandwidthServeOptionsFromRequest(
    const v1::BandwidthServeRequest& request);

std::vector<std::string> Iperf3ServerArgv(const std::string& address, uint16_t port,
                                          absl::Duration accept_timeout);

// Starts a one-shot iperf3 server on a free port of options.bind_address and returns
// once it listens; errors as BandwidthServers::Start's, with iperf3's words.
[[nodiscard]] absl::StatusOr<v1::BandwidthServer> StartIperf3Server(
    BandwidthServers& servers, const BandwidthServeOptions& options);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_BANDWIDTH_H_
