#include "coordinator/fanout.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/validate.h"

namespace sparkfleet {

AgentChannels::AgentChannels(std::shared_ptr<grpc::ChannelCredentials> credentials)
    : credentials_(std::move(credentials)) {}

v1::NodeAgent::Stub& AgentChannels::StubFor(const ClusterNode& node) {
  std::string target = FormatHostPort(node.ip, node.port);
  absl::MutexLock lock(&mu_);
  std::unique_ptr<v1::NodeAgent::Stub>& stub = stubs_[target];
  if (stub == nullptr) {
    grpc::ChannelArguments args;
    // Each agent gets its own connection, even when many share one address in tests.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::Channel> channel;
    if (credentials_ == nullptr) {
      channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    } else {
      args.SetSslTargetNameOverride(node.hostname);
      channel = grpc::CreateCustomChannel(target, credentials_, args);
    }
    stub = v1::NodeAgent::NewStub(channel);
  }
  return *stub;
}

namespace fanout_internal {

InFlight::InFlight(int limit, int total, std::string progress_label)
    : limit_(limit < 1 ? 1 : limit), total_(total), label_(std::move(progress_label)) {}

void InFlight::Acquire() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](InFlight* self)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->in_flight_ < self->limit_; },
      this));
  ++in_flight_;
}

void InFlight::Release() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
  ++done_;
}

void InFlight::WaitAll() {
  absl::MutexLock lock(&mu_);
  auto all_done = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_ >= total_; };
  while (!mu_.AwaitWithTimeout(absl::Condition(&all_done), absl::Milliseconds(200))) {
    ShowProgress(false);
  }
  ShowProgress(true);
}

void InFlight::ShowProgress(bool final) {
  if (label_.empty() || !isatty(STDERR_FILENO)) return;
  if (!shown_ && (final || absl::Now() - start_ < absl::Seconds(1))) return;
  shown_ = true;
  std::fprintf(stderr, "\r%s: %d/%d nodes answered%s", label_.c_str(), done_, total_,
               final ? "\n" : "");
  std::fflush(stderr);
}

absl::Status CallStatus(const grpc::Status& status, const ClusterNode& node) {
  absl::Status ours = FromGrpcStatus(status);
  if (ours.code() == absl::StatusCode::kUnavailable ||
      ours.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::Status(ours.code(), absl::StrCat("agent at ", FormatHostPort(node.ip, node.port),
                                                  ": ", ours.message()));
  }
  return ours;
}

}  // namespace fanout_internal
}  // namespace sparkfleet
