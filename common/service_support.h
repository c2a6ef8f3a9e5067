// What sparkfleet's gRPC services (NodeAgent in spark-agent, Coordinator in sparkctl
// serve) share: deciding whether a caller may call a method, and answering streams that
// end before their first event.
#ifndef SPARKFLEET_COMMON_SERVICE_SUPPORT_H_
#define SPARKFLEET_COMMON_SERVICE_SUPPORT_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/grpc_status.h"
#include "common/roles.h"

namespace sparkfleet {

// Reads the caller's role from its client certificate (every caller is admin on an
// `insecure` loopback server) and checks it against `policy` for `full_method`
// ("/sparkfleet.v1.NodeAgent/GetInfo"). A refusal is logged with the caller's identity
// and returned as PERMISSION_DENIED.
absl::Status AuthorizeCall(grpc::CallbackServerContext& context, const MethodPolicy& policy,
                           absl::string_view full_method, bool insecure);

// What is not built yet answers UNIMPLEMENTED saying what is missing, never a fake
// result: "<method> is not implemented in <program> <version>: <capability> is not built
// yet".
absl::Status NotBuilt(absl::string_view program, absl::string_view method,
                      absl::string_view capability);

// A server stream that ends at once with `status` (a refusal, a bad request,
// UNIMPLEMENTED). Deletes itself when gRPC is done with it.
template <typename Event>
class FinishedStream final : public grpc::ServerWriteReactor<Event> {
 public:
  explicit FinishedStream(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_SERVICE_SUPPORT_H_
