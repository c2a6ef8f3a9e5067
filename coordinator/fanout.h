// FanOut: one asynchronous call per node, all at once, and a result per node.
//
// Calls go out through gRPC's callback API with at most `parallel` in flight; every call
// has its own deadline, so a dead or stopped node costs at most the timeout and never
// delays the answers of the others. Nothing is all-or-nothing: each node's status,
// duration and reply is kept. Channels come from an AgentChannels pool, so a command
// that fans out several times reuses its connections.
//
//   AgentChannels channels(config, credentials);
//   auto results = FanOut<v1::GetInfoRequest, v1::NodeInfo>(
//       channels, nodes, options, [](const ClusterNode&) { return v1::GetInfoRequest(); },
//       [](auto* async, auto* ctx, auto* req, auto* reply, auto done) {
//         async->GetInfo(ctx, req, reply, std::move(done));
//       });
#ifndef SPARKFLEET_COORDINATOR_FANOUT_H_
#define SPARKFLEET_COORDINATOR_FANOUT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "sparkfleet/v1/agent.grpc.pb.h"

namespace sparkfleet {

// One channel per agent address, made on first use and kept for the pool's lifetime.
// Thread-safe.
class AgentChannels {
 public:
  // `credentials` null means plaintext (cluster.yaml agent.insecure, loopback only).
  explicit AgentChannels(std::shared_ptr<grpc::ChannelCredentials> credentials);
  AgentChannels(const AgentChannels&) = delete;
  AgentChannels& operator=(const AgentChannels&) = delete;

  // The agent's stub for `node`. With TLS the server certificate must name the node's
  // hostname (its SAN), whatever address it is reached on.
  v1::NodeAgent::Stub& StubFor(const ClusterNode& node);

 private:
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<v1::NodeAgent::Stub>> stubs_
      ABSL_GUARDED_BY(mu_);
};

struct FanOutOptions {
  absl::Duration timeout = absl::Seconds(10);  // per call
  int parallel = 256;                          // calls in flight at most
  // When set and stderr is a terminal, "label: k/n nodes answered" is shown on stderr
  // once the run has taken longer than a second.
  std::string progress_label;
};

template <typename Reply>
struct NodeResult {
  std::string node;
  absl::Status status;
  absl::Duration duration;
  Reply reply;
};

namespace fanout_internal {

// Starts one call: (async stub, context, request, reply, completion).
template <typename Request, typename Reply>
using StartCall = std::function<void(v1::NodeAgent::Stub::async_interface*, grpc::ClientContext*,
                                     const Request*, Reply*, std::function<void(grpc::Status)>)>;

// Limits calls in flight and waits for all of them, showing progress.
class InFlight {
 public:
  InFlight(int limit, int total, std::string progress_label);
  void Acquire();
  void Release();
  void WaitAll();

 private:
  void ShowProgress(bool final) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int limit_;
  const int total_;
  const std::string label_;
  const absl::Time start_ = absl::Now();
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  bool shown_ ABSL_GUARDED_BY(mu_) = false;
};

// gRPC's status as ours, with the node's address added to transport errors so that
// "connection refused" says where.
absl::Status CallStatus(const grpc::Status& status, const ClusterNode& node);

}  // namespace fanout_internal

namespace fanout_internal {

// Starts one call per node with at most options.parallel in flight, each with its own
// deadline: `launch(i, context, done)` starts node i's call on `context` and arranges for
// `done` to be called exactly once when the call ends. Fills results[i].node, .status and
// .duration, and returns when every call has ended.
template <typename Result>
void DriveCalls(const std::vector<ClusterNode>& nodes, const FanOutOptions& options,
                std::vector<NodeResult<Result>>& results,
                const std::function<void(size_t, grpc::ClientContext*,
                                         std::function<void(grpc::Status)>)>& launch) {
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts(nodes.size());
  std::vector<absl::Time> started(nodes.size());
  InFlight in_flight(options.parallel, static_cast<int>(nodes.size()), options.progress_label);
  for (size_t i = 0; i < nodes.size(); ++i) {
    in_flight.Acquire();
    results[i].node = nodes[i].hostname;
    contexts[i] = std::make_unique<grpc::ClientContext>();
    started[i] = absl::Now();
    contexts[i]->set_deadline(absl::ToChronoTime(started[i] + options.timeout));
    launch(i, contexts[i].get(), [&, i](grpc::Status status) {
      results[i].duration = absl::Now() - started[i];
      results[i].status = CallStatus(status, nodes[i]);
      in_flight.Release();
    });
  }
  in_flight.WaitAll();
}

}  // namespace fanout_internal

template <typename Request, typename Reply>
std::vector<NodeResult<Reply>> FanOut(
    AgentChannels& channels, const std::vector<ClusterNode>& nodes, const FanOutOptions& options,
    const std::function<Request(const ClusterNode&)>& make_request,
    const fanout_internal::StartCall<Request, Reply>& start) {
  std::vector<NodeResult<Reply>> results(nodes.size());
  std::vector<Request> requests(nodes.size());
  fanout_internal::DriveCalls<Reply>(
      nodes, options, results,
      [&](size_t i, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
        requests[i] = make_request(nodes[i]);
        start(channels.StubFor(nodes[i]).async(), context, &requests[i], &results[i].reply,
              std::move(done));
      });
  return results;
}

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_FANOUT_H_
