// Who may call what: the caller's role, read from its client certificate, and the
// per-method allow-lists of the NodeAgent and Coordinator services.
//
// A client certificate carries its role as a URI SAN (spiffe://sparkfleet/role/admin or
// .../reader, written by `sparkctl pki issue --client`). gRPC 1.51 hands every URI SAN of
// a verified peer certificate to the server as the auth property "peer_uri". A server
// takes the caller's role with RoleOfPeer() and asks its MethodPolicy before it runs a
// method:
//
//   absl::Status allowed =
//       NodeAgentPolicy().Authorize(RoleOfPeer(*context->auth_context()), method);
//
// Policies fail closed: a method missing from the table is refused, whoever calls it.
#ifndef SPARKFLEET_COMMON_ROLES_H_
#define SPARKFLEET_COMMON_ROLES_H_

#include <grpcpp/security/auth_context.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// Ordered by privilege: a role may call every method whose minimum role is at or below it.
enum class Role { kNone = 0, kReader = 1, kAdmin = 2 };

inline constexpr absl::string_view kAdminRoleUri = "spiffe://sparkfleet/role/admin";
inline constexpr absl::string_view kReaderRoleUri = "spiffe://sparkfleet/role/reader";

// The role a URI SAN names; kNone for any other URI.
Role RoleFromUri(absl::string_view uri);

// The URI SAN that grants `role`; empty for kNone.
absl::string_view RoleUri(Role role);

// "none", "reader" or "admin".
absl::string_view RoleName(Role role);

// "admin" or "reader" (as given to `--role`) to a Role. INVALID_ARGUMENT otherwise;
// "none" is not a role anyone can be issued.
absl::StatusOr<Role> ParseRole(absl::string_view name);

// The role in the caller's verified certificate. kNone when the peer is not
// authenticated (no TLS, e.g. `--insecure`), carries no role URI, or carries two
// different role URIs (ambiguous, so it gets nothing).
Role RoleOfPeer(const grpc::AuthContext& auth_context);

// The caller as logs name it: the certificate's common name, else its first SAN, else
// "unauthenticated peer".
std::string PeerIdentity(const grpc::AuthContext& auth_context);

// One row of an allow-list: the full gRPC method name ("/sparkfleet.v1.NodeAgent/GetInfo")
// and the least role that may call it.
struct MethodRule {
  std::string method;
  Role minimum_role;
};

// A service's allow-list. Immutable after construction; safe for concurrent use.
class MethodPolicy {
 public:
  // `service_label` names the server in refusals ("agent", "coordinator").
  // REQUIRES: every rule's minimum_role is kReader or kAdmin.
  MethodPolicy(std::string service_label, const std::vector<MethodRule>& rules);

  // OK when `caller` may call `method`. PERMISSION_DENIED, with a message saying what
  // was missing and how to get it, when the method is not in the table, the caller has
  // no role, or the caller's role is below the method's minimum.
  [[nodiscard]] absl::Status Authorize(Role caller, absl::string_view method) const;

  // The method's minimum role; kNone when it is not in the table.
  Role MinimumRole(absl::string_view method) const;

 private:
  std::string service_label_;
  absl::flat_hash_map<std::string, Role> minimum_role_;
};

// sparkfleet.v1.NodeAgent: read-only methods for readers, the rest for admins; the
// gRPC health and reflection services are readable so grpcurl and probes work with a
// reader certificate.
const MethodPolicy& NodeAgentPolicy();

// sparkfleet.v1.Coordinator (sparkctl serve): a reader can look, only an admin can get
// nodes changed (Deploy, RunNcclTest).
const MethodPolicy& CoordinatorPolicy();

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_ROLES_H_
