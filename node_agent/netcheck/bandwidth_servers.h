// BandwidthServers: the one-shot bandwidth servers (iperf3, perftest's ib_write_bw) an
// agent runs for its peers' BandwidthTests, each a child process on a free TCP port.
//
// Start picks a free port on the bind address, starts the tool's server there in a
// child owned by a thread of this object and answers once the port listens. A server
// whose client never comes is killed after its accept timeout (or exits by itself when
// the tool has an idle timeout of its own, as iperf3 does), and every server is killed
// at its hard deadline and when the agent stops. Finished threads are joined at the next
// Start, the rest at Stop.
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_BANDWIDTH_SERVERS_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_BANDWIDTH_SERVERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// How to run one kind of server and read its failures.
struct BandwidthServerCommand {
  std::string tool;  // "iperf3", "ib_write_bw": for messages
  // The argv of a server listening on `port` (of the bind address given to Start).
  std::function<std::vector<std::string>(uint16_t port)> argv;
  absl::Duration timeout = absl::Minutes(5);  // killed then, client or not
  // Killed when its port still listens this long after the start: no client came.
  // Zero: the tool gives up by itself (iperf3's --idle-timeout).
  absl::Duration accept_timeout = absl::ZeroDuration();
  // The tool's own reason for ending (its JSON error, its last stderr line, ...).
  std::function<std::string(const ProcessResult&)> error;
  // True when that reason says someone else holds the port: Start picks another.
  std::function<bool(absl::string_view reason)> port_taken;
};

// True when a TCP socket listens on address:port. Probes with a bind that has
// SO_REUSEADDR, which fails only against a listener and never disturbs one.
bool TcpPortListening(const std::string& address, uint16_t port);

// Thread-safe.
class BandwidthServers {
 public:
  explicit BandwidthServers(ProcessRunner& runner);
  BandwidthServers(const BandwidthServers&) = delete;
  BandwidthServers& operator=(const BandwidthServers&) = delete;
  ~BandwidthServers();  // Stop()

  // Starts `command` on a free port of `bind_address` and returns once it listens.
  // INVALID_ARGUMENT when the address is not one of this node's; FAILED_PRECONDITION
  // with the tool's words when the server could not start (program missing: NOT_FOUND);
  // UNAVAILABLE after Stop.
  [[nodiscard]] absl::StatusOr<v1::BandwidthServer> Start(const std::string& bind_address,
                                                          const BandwidthServerCommand& command);

  // Kills the server Start returned as `server` if it still runs (a sibling server of
  // the same request failed, so no client will come).
  void Abandon(const v1::BandwidthServer& server);

  // Kills every server still running and joins its thread; later Starts fail.
  void Stop();

  // Servers whose process has not ended yet.
  int running();

 private:
  struct Server {
    std::string address;
    uint16_t port = 0;
    std::thread thread;
    std::atomic<bool> finished{false};
    std::atomic<bool> abandoned{false};
    absl::StatusOr<ProcessResult> result = absl::UnknownError("still running");
  };

  absl::StatusOr<v1::BandwidthServer> StartOnce(const std::string& bind_address,
                                                const BandwidthServerCommand& command,
                                                uint16_t port, bool& port_taken);
  // The ProcessOptions::cancelled of `server`: the agent stops, the server was
  // abandoned, or its accept timeout passed with the port still listening.
  std::function<bool()> KillWhen(Server* server, absl::Duration accept_timeout);
  void JoinFinished() ABSL_LOCKS_EXCLUDED(mu_);

  ProcessRunner& runner_;
  std::atomic<bool> stopping_{false};
  absl::Mutex mu_;
  std::list<std::unique_ptr<Server>> servers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_BANDWIDTH_SERVERS_H_
