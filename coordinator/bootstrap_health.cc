#include "coordinator/bootstrap_health.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/grpc_status.h"
#include "common/validate.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
constexpr uint32_t kServing = 1;

const char* ServingStatusName(uint32_t status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "an unknown status";
  }
}

// The `status` field (1, varint) of a HealthCheckResponse; 0 (UNKNOWN) when absent. The
// project has no generated code for grpc.health.v1, and one varint does not need it.
absl::StatusOr<uint32_t> ParseServingStatus(const std::string& bytes) {
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  uint32_t status = 0;
  while (uint32_t tag = input.ReadTag()) {
    if (tag == ((1 << 3) | 0)) {
      if (!input.ReadVarint32(&status)) break;
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&input, tag)) {
      return absl::InternalError("the agent's health answer is not a HealthCheckResponse");
    }
  }
  return status;
}

absl::Status CheckOnce(const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                       const ClusterNode& node, absl::Duration timeout) {
  grpc::ChannelArguments args;
  // A fresh connection per check: a shared subchannel would sit in reconnect backoff
  // after the refusals of an agent that was still starting.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::string target = FormatHostPort(node.ip, node.port);
  std::shared_ptr<grpc::Channel> channel;
  if (credentials == nullptr) {
    channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  } else {
    args.SetSslTargetNameOverride(node.hostname);
    channel = grpc::CreateCustomChannel(target, credentials, args);
  }
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Slice empty("");  // HealthCheckRequest{service: ""}: the server as a whole
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    absl::Status ours = FromGrpcStatus(status);
    return absl::Status(ours.code(), absl::StrCat("agent at ", target, ": ", ours.message()));
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  absl::StatusOr<uint32_t> serving = ParseServingStatus(bytes);
  if (!serving.ok()) return serving.status();
  if (*serving != kServing) {
    return absl::FailedPreconditionError(
        absl::StrCat("agent at ", target, " reports ", ServingStatusName(*serving)));
  }
  return absl::OkStatus();
}

}  // namespace

AgentHealthCheck NewGrpcHealthCheck(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return [credentials = std::move(credentials)](const ClusterNode& node, absl::Duration timeout) {
    return CheckOnce(credentials, node, timeout);
  };
}

absl::Status WaitUntilServing(const AgentHealthCheck& check, const ClusterNode& node,
                              absl::Duration deadline, absl::Duration interval) {
  absl::Time end = absl::Now() + deadline;
  absl::Status last;
  bool checked = false;
  while (true) {
    absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::Status status = check(node, std::min(left, absl::Seconds(5)));
    if (status.ok()) return status;
    // The last check may only have had the deadline's remainder: its DEADLINE_EXCEEDED
    // says less than an earlier "connection refused".
    if (!checked || status.code() != absl::StatusCode::kDeadlineExceeded) last = status;
    checked = true;
    if (end - absl::Now() <= interval) break;
    absl::SleepFor(interval);
  }
  return absl::Status(last.ok() ? absl::StatusCode::kDeadlineExceeded : last.code(),
                      absl::StrCat("spark-agent on ", node.hostname,
                                   " did not report SERVING within ", HumanDuration(deadline),
                                   "; last check: ", checked ? OneLineError(last) : "none"));
}

}  // namespace sparkfleet
