// FanOutStream: FanOut (fanout.h) for server-streaming RPCs (InstallNccl,
// InstallTailscale, ...): one call per node, all at once, each node's events collected in
// order, and a result per node once its stream has ended.
//
//   auto results = FanOutStream<v1::InstallNcclRequest, v1::InstallNcclEvent>(
//       channels, nodes, options, [](const ClusterNode&) { return request; },
//       [](auto* async, auto* ctx, auto* req, auto* reactor) {
//         async->InstallNccl(ctx, req, reactor);
//       });
//   // results[i].reply is every event node i sent; results[i].status how its stream ended.
//
// options.timeout bounds each node's whole stream, so give installs a long one.
#ifndef SPARKFLEET_COORDINATOR_STREAM_FANOUT_H_
#define SPARKFLEET_COORDINATOR_STREAM_FANOUT_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "coordinator/fanout.h"

namespace sparkfleet {
namespace fanout_internal {

// Reads a stream to its end into `events`, then calls `done` with how it ended. The
// library calls OnDone last, so the reactor may be destroyed once `done` has run.
template <typename Event>
class CollectingReader final : public grpc::ClientReadReactor<Event> {
 public:
  CollectingReader(std::vector<Event>* events, std::function<void(grpc::Status)> done)
      : events_(events), done_(std::move(done)) {}

  void Start() {
    this->StartRead(&event_);
    this->StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    events_->push_back(std::move(event_));
    event_ = Event();
    this->StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    std::function<void(grpc::Status)> done = std::move(done_);
    done(status);  // may free this reactor: nothing after it touches members
  }

 private:
  std::vector<Event>* events_;
  std::function<void(grpc::Status)> done_;
  Event event_;
};

template <typename Request, typename Event>
using StartStream = std::function<void(v1::NodeAgent::Stub::async_interface*, grpc::ClientContext*,
                                       const Request*, grpc::ClientReadReactor<Event>*)>;

}  // namespace fanout_internal

template <typename Request, typename Event>
std::vector<NodeResult<std::vector<Event>>> FanOutStream(
    AgentChannels& channels, const std::vector<ClusterNode>& nodes, const FanOutOptions& options,
    const std::function<Request(const ClusterNode&)>& make_request,
    const fanout_internal::StartStream<Request, Event>& start) {
  std::vector<NodeResult<std::vector<Event>>> results(nodes.size());
  std::vector<Request> requests(nodes.size());
  std::vector<std::unique_ptr<fanout_internal::CollectingReader<Event>>> readers(nodes.size());
  fanout_internal::DriveCalls<std::vector<Event>>(
      nodes, options, results,
      [&](size_t i, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
        requests[i] = make_request(nodes[i]);
        readers[i] = std::make_unique<fanout_internal::CollectingReader<Event>>(&results[i].reply,
                                                                                std::move(done));
        start(channels.StubFor(nodes[i]).async(), context, &requests[i], readers[i].get());
        readers[i]->Start();
      });
  return results;
}

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_STREAM_FANOUT_H_
