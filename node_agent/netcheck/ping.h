// Ping: ICMP echo from this node to peers through iputils ping(8), one child process
// per target, and the parser of its output.
//
// ping is run with argv only (`ping -n -c COUNT -i INTERVAL -W TIMEOUT -s SIZE
// [-M do] [-I IFACE] TARGET`) under LC_ALL=C, so its summary reads the same on every
// node. The parser is pure and reads iputils' text: the statistics line
// ("3 packets transmitted, 3 received, 0% packet loss"), the RTT line
// ("rtt min/avg/max/mdev = 0.051/0.064/0.090/0.018 ms") and the first error a reply
// or ping itself reported ("Frag needed and DF set (mtu = 1400)", "Destination Host
// Unreachable", "connect: Network is unreachable").
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_PING_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_PING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

struct PingOptions {
  std::string interface;                              // -I; empty = routing decides
  uint32_t count = 3;                                 // -c
  absl::Duration interval = absl::Milliseconds(200);  // -i
  absl::Duration timeout = absl::Seconds(1);          // -W, per reply
  uint32_t payload_bytes = 56;                        // -s
  bool dont_fragment = false;                         // -M do
};

// The options of `request` with its defaults filled in (count 3, interval 200 ms,
// timeout 1 s, payload 56 bytes). INVALID_ARGUMENT naming the field for a target that
// is neither an IP address nor a host name, a bad interface name, count over 100,
// interval under 10 ms or over 10 s, timeout over 60 s, payload over 65507 bytes, or
// more than 1024 targets.
[[nodiscard]] absl::StatusOr<PingOptions> PingOptionsFromRequest(const v1::PingRequest& request);

// ping's argv for one target.
std::vector<std::string> PingArgv(const std::string& target, const PingOptions& options);

// What one ping run said. Pure. RTTs are converted to microseconds; with no statistics
// line (ping could not start sending) sent and received are 0, loss is 100% and
// `error` says why.
v1::PingResult ParsePingOutput(absl::string_view target, absl::string_view stdout_text,
                               absl::string_view stderr_text);

// Pings every target, several at once; results in target order. A ping that cannot be
// started or is killed (timeout, `cancelled`) gives an unreachable result saying so.
v1::PingReply PingTargets(ProcessRunner& runner, const std::vector<std::string>& targets,
                          const PingOptions& options, const std::function<bool()>& cancelled);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_PING_H_
