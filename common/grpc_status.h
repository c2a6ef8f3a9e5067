// The one conversion between absl::Status (our code) and grpc::Status (the wire).
#ifndef SPARKFLEET_COMMON_GRPC_STATUS_H_
#define SPARKFLEET_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// Codes map one to one (both follow google.rpc.Code); the message is kept.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// "UNAVAILABLE", "DEADLINE_EXCEEDED", ... as printed in sparkctl's JSON.
absl::string_view StatusCodeName(absl::StatusCode code);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_GRPC_STATUS_H_
