// CollectiveStream: one node's RunCollective call as a callback-API stream reader that
// hands every event, and then how the stream ended, to the caller's callbacks.
#ifndef SPARKFLEET_COORDINATOR_NCCL_COLLECTIVE_STREAM_H_
#define SPARKFLEET_COORDINATOR_NCCL_COLLECTIVE_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "sparkfleet/v1/agent.grpc.pb.h"

namespace sparkfleet {

class CollectiveStream final : public grpc::ClientReadReactor<v1::CollectiveEvent> {
 public:
  using OnEvent = std::function<void(v1::CollectiveEvent)>;
  using OnEnd = std::function<void(absl::Status)>;

  // Callbacks run on gRPC's threads, one at a time for this stream; `on_end` runs last.
  // `node` must outlive the stream.
  CollectiveStream(const ClusterNode& node, v1::RunCollectiveRequest request, absl::Time deadline,
                   OnEvent on_event, OnEnd on_end);
  CollectiveStream(const CollectiveStream&) = delete;
  CollectiveStream& operator=(const CollectiveStream&) = delete;

  // Starts the call. REQUIRES: called once.
  void Start(v1::NodeAgent::Stub& stub);
  // Asks gRPC to end the call (the agent then kills its workers). Safe at any time, also
  // after the stream ended.
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  const ClusterNode& node_;
  grpc::ClientContext context_;
  const v1::RunCollectiveRequest request_;
  v1::CollectiveEvent event_;
  OnEvent on_event_;
  OnEnd on_end_;
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_NCCL_COLLECTIVE_STREAM_H_
