#include "common/service_support.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace sparkfleet {

absl::Status AuthorizeCall(grpc::CallbackServerContext& context, const MethodPolicy& policy,
                           absl::string_view full_method, bool insecure) {
  Role role = Role::kAdmin;
  std::string caller = "loopback (insecure)";
  if (!insecure) {
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    role = auth ? RoleOfPeer(*auth) : Role::kNone;
    caller = auth ? PeerIdentity(*auth) : "unauthenticated";
  }
  absl::Status allowed = policy.Authorize(role, full_method);
  if (!allowed.ok()) {
    LogWarning("refused ", full_method, " from ", caller, " (role ", RoleName(role), ", peer ",
               context.peer(), "): ", allowed.message());
  }
  return allowed;
}

absl::Status NotBuilt(absl::string_view program, absl::string_view method,
                      absl::string_view capability) {
  return absl::UnimplementedError(absl::StrCat(method, " is not implemented in ", program, " ",
                                               SPARKFLEET_VERSION, ": ", capability,
                                               " is not built yet"));
}

}  // namespace sparkfleet
