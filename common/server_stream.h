// ThreadedServerStream: a server-streaming gRPC call (callback API) whose events come from
// an operation running on a thread of its own, so the operation may block (child
// processes, other RPCs) without ever holding one of gRPC's threads.
//
//   grpc::ServerWriteReactor<v1::InstallNcclEvent>* Service::InstallNccl(ctx, request) {
//     return ThreadedServerStream<v1::InstallNcclEvent>::Start(
//         [request](const auto& emit, const auto& cancelled) -> absl::Status {
//           emit(event);             // queued and written in order, never blocks
//           if (cancelled()) ...     // the client went away or the server shuts down
//           return absl::OkStatus(); // the stream's status, sent after every event
//         });
//   }
//
// The operation should poll `cancelled` (or hand it to ProcessRunner) so a cancelled call
// ends promptly; the thread is joined when gRPC is done with the call (OnDone), so no
// thread outlives its call. Events wait in memory while the client reads slowly.
#ifndef SPARKFLEET_COMMON_SERVER_STREAM_H_
#define SPARKFLEET_COMMON_SERVER_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_status.h"

namespace sparkfleet {

template <typename Event>
class ThreadedServerStream final : public grpc::ServerWriteReactor<Event> {
 public:
  using Emit = std::function<void(Event)>;
  using Cancelled = std::function<bool()>;
  using Operation = std::function<absl::Status(const Emit& emit, const Cancelled& cancelled)>;

  // Starts `operation` on its own thread; the returned reactor deletes itself. gRPC calls
  // no reaction (OnDone included) before the service method has returned the reactor, so
  // thread_ is set before OnDone can join it.
  static grpc::ServerWriteReactor<Event>* Start(Operation operation) {
    auto* stream = new ThreadedServerStream(std::move(operation));
    stream->thread_ = std::thread([stream] { stream->Run(); });
    return stream;
  }

  ThreadedServerStream(const ThreadedServerStream&) = delete;
  ThreadedServerStream& operator=(const ThreadedServerStream&) = delete;

  void OnWriteDone(bool ok) override {
    if (!ok) cancelled_ = true;  // the client is gone: nothing more will be read
    Next(/*pop=*/true, ok);
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    if (thread_.joinable()) thread_.join();
    delete this;
  }

 private:
  explicit ThreadedServerStream(Operation operation) : operation_(std::move(operation)) {}

  void Run() {
    absl::Status status = operation_([this](Event event) { Push(std::move(event)); },
                                     [this] { return cancelled_.load(); });
    {
      absl::MutexLock lock(&mu_);
      status_ = std::move(status);
    }
    Next(/*pop=*/false, /*ok=*/true);
  }

  void Push(Event event) {
    const Event* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (broken_) return;
      queue_.push_back(std::move(event));
      if (writing_) return;
      writing_ = true;
      next = &queue_.front();  // stays put (deque) until its write is done and popped
    }
    this->StartWrite(next);
  }

  // Starts the next write or, once the queue is empty and the operation has ended,
  // finishes the call. Reactor methods are called without holding mu_.
  void Next(bool pop, bool ok) {
    const Event* next = nullptr;
    std::optional<absl::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (pop) {
        queue_.pop_front();
        writing_ = false;
      }
      if (!ok) {
        broken_ = true;
        queue_.clear();
      }
      if (writing_) return;
      if (!queue_.empty()) {
        writing_ = true;
        next = &queue_.front();
      } else if (status_.has_value() && !finished_) {
        finished_ = true;
        finish = *status_;
      }
    }
    if (next != nullptr) this->StartWrite(next);
    if (finish.has_value()) this->Finish(ToGrpcStatus(*finish));
  }

  Operation operation_;
  std::thread thread_;
  std::atomic<bool> cancelled_{false};
  absl::Mutex mu_;
  std::deque<Event> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_SERVER_STREAM_H_
