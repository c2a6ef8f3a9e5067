// RDMA bandwidth between two nodes with perftest's ib_write_bw, one process per RDMA
// device, the way NVIDIA's DGX Spark guide measures both halves of a ConnectX-7 port
// at once (~92 + ~97 Gb/s on a healthy pair).
//
// A test is two calls on two agents, like iperf3's (bandwidth.h). BandwidthServe on the
// receiving node starts one server per requested device,
//   ib_write_bw -d DEV -p PORT -F --report_gbits [--bind_source_ip ADDR]
// each on its own free TCP port (perftest's -p is the port of its out-of-band TCP
// connection, over which the two sides swap queue-pair numbers before the data flows
// over the device), and answers at once. BandwidthTest on the sending node runs one
// client per server, all at the same time, each on its own local device,
//   ib_write_bw -d DEV -p PORT -D S -F --report_gbits [--bind_source_ip ADDR] SERVER
// and sums their "BW average[Gb/sec]". perftest's server waits for a client forever:
// BandwidthServers kills it when its port still listens at the accept timeout.
//
// -F keeps perftest from failing (or warning into its table) when the CPU frequency is
// not at maximum; -D runs for a duration, which perftest wants over twice its 2 s
// warm-up margin, so at least 5 s. The bind flag is the one this perftest's --help
// names (--bind_source_ip; --source_ip in perftest 4.5 such as Debian 12's), else none
// and the server listens on every IPv4 address. perftest's TCP setup is IPv4 here.
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_RDMA_BANDWIDTH_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_RDMA_BANDWIDTH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "node_agent/netcheck/bandwidth_servers.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// perftest's -D must exceed twice its default 2 s margin.
inline constexpr uint32_t kIbWriteBwMinDurationS = 5;
// Devices (servers, lanes) one request may name.
inline constexpr int kMaxRdmaLanes = 16;

// One client: local device -> a server on the peer.
struct IbWriteBwLane {
  std::string local_device;
  std::string remote_device;  // what the server said it serves; may be empty
  std::string server_address;
  uint16_t server_port = 0;
};

struct IbWriteBwTestOptions {
  std::vector<IbWriteBwLane> lanes;
  std::string bind_address;  // empty = routing decides
  uint32_t duration_s = kIbWriteBwMinDurationS;
};

struct IbWriteBwServeOptions {
  std::string bind_address;
  std::vector<std::string> devices;
  absl::Duration accept_timeout = absl::Seconds(30);
};

// The options of `request`. INVALID_ARGUMENT naming the field for: a bind address that
// is not IPv4; no device, more than kMaxRdmaLanes, a name that is not a device name or
// a device not under /sys/class/infiniband of `env`; (test) servers and rdma_devices of
// different lengths, a server without an IPv4 address and port, a duration over
// kMaxBandwidthDurationS, parallel_streams > 1 or reverse (iperf3's). Durations under
// kIbWriteBwMinDurationS (0 included) become it.
[[nodiscard]] absl::StatusOr<IbWriteBwServeOptions> IbWriteBwServeOptionsFromRequest(
    Env& env, const v1::BandwidthServeRequest& request);
[[nodiscard]] absl::StatusOr<IbWriteBwTestOptions> IbWriteBwTestOptionsFromRequest(
    Env& env, const v1::BandwidthTestRequest& request);

// The flag that binds perftest's TCP socket, read from its --help text: "--bind_source_ip",
// "--source_ip" or "" (this perftest cannot bind). Pure.
std::string IbWriteBwBindFlag(absl::string_view help_text);

// Pure. `bind_flag` empty: no bind.
std::vector<std::string> IbWriteBwServerArgv(const std::string& device, uint16_t port,
                                             const std::string& bind_flag,
                                             const std::string& bind_address);
std::vector<std::string> IbWriteBwClientArgv(const IbWriteBwLane& lane, uint32_t duration_s,
                                             const std::string& bind_flag,
                                             const std::string& bind_address);

// Bits per second from the "BW average" column of ib_write_bw's result table (Gb/sec
// with --report_gbits, MiB/sec without), skipping warnings printed inside the table.
// INVALID_ARGUMENT when there is no table or no result row. Pure.
[[nodiscard]] absl::StatusOr<double> ParseIbWriteBwAverageBps(absl::string_view output);

// perftest's own words for a failed run: its last stderr lines, else how it ended.
std::string IbWriteBwError(const ProcessResult& result);

// BandwidthServe with ib_write_bw on node `node_name`: one server per device; when one
// fails the others are killed. FAILED_PRECONDITION "ib_write_bw (perftest) is not
// installed on NODE; ..." without perftest, or with perftest's words when a server
// could not start; errors of IbWriteBwServeOptionsFromRequest and BandwidthServers::Start.
[[nodiscard]] absl::StatusOr<v1::BandwidthServeReply> ServeIbWriteBw(
    Env& env, ProcessRunner& runner, const std::string& node_name,
    const v1::BandwidthServeRequest& request, BandwidthServers& servers);

// BandwidthTest with ib_write_bw: every lane at once, each in its own child, and the
// sum with per-lane figures. FAILED_PRECONDITION without perftest (as above) or when a
// lane did not give a figure (each lane's outcome in the message); ABORTED when
// `cancelled`.
[[nodiscard]] absl::StatusOr<v1::BandwidthResult> TestIbWriteBw(
    Env& env, ProcessRunner& runner, const std::string& node_name,
    const v1::BandwidthTestRequest& request, const std::function<bool()>& cancelled);

// Runs the clients of validated `options` (TestIbWriteBw after its checks).
[[nodiscard]] absl::StatusOr<v1::BandwidthResult> RunIbWriteBwClients(
    ProcessRunner& runner, const std::string& node_name, const IbWriteBwTestOptions& options,
    const std::function<bool()>& cancelled);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_RDMA_BANDWIDTH_H_
