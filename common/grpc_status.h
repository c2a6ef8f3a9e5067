// The one conversion between absl::Status (our code) and grpc::Status (the wire).
#ifndef SPARKFLEET_COMMON_GRPC_STATUS_H_
#define SPARKFLEET_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// At most this much of a message goes on the wire: it travels in the grpc-message
// trailer, and a client refuses the whole reply when its metadata passes 8 KiB.
inline constexpr size_t kMaxGrpcMessageBytes = 2048;

// Codes map one to one (both follow google.rpc.Code); the message is kept, cut to
// kMaxGrpcMessageBytes (on a UTF-8 boundary, saying so) when a validator quoted a long
// value, so that an INVALID_ARGUMENT never turns into a transport error.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// "UNAVAILABLE", "DEADLINE_EXCEEDED", ... as printed in sparkctl's JSON.
absl::string_view StatusCodeName(absl::StatusCode code);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_GRPC_STATUS_H_
