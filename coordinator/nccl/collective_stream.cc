#include "coordinator/nccl/collective_stream.h"

#include <utility>

#include "coordinator/fanout.h"

namespace sparkfleet {

CollectiveStream::CollectiveStream(const ClusterNode& node, v1::RunCollectiveRequest request,
                                   absl::Time deadline, OnEvent on_event, OnEnd on_end)
    : node_(node),
      request_(std::move(request)),
      on_event_(std::move(on_event)),
      on_end_(std::move(on_end)) {
  context_.set_deadline(absl::ToChronoTime(deadline));
}

void CollectiveStream::Start(v1::NodeAgent::Stub& stub) {
  stub.async()->RunCollective(&context_, &request_, this);
  StartRead(&event_);
  StartCall();
}

void CollectiveStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  on_event_(std::move(event_));
  event_.Clear();
  StartRead(&event_);
}

void CollectiveStream::OnDone(const grpc::Status& status) {
  on_end_(fanout_internal::CallStatus(status, node_));
}

}  // namespace sparkfleet
