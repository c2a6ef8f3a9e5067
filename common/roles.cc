#include "common/roles.h"

#include <grpc/grpc_security_constants.h>

#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {
namespace {

constexpr absl::string_view kAgentService = "/sparkfleet.v1.NodeAgent/";
constexpr absl::string_view kCoordinatorService = "/sparkfleet.v1.Coordinator/";

// Health and reflection are on in both servers; both only describe the server, so a
// reader may use them.
constexpr absl::string_view kIntrospectionMethods[] = {
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};

// The allow-list of one sparkfleet service plus the introspection services beside it.
std::vector<MethodRule> ServiceRules(absl::string_view service,
                                     std::initializer_list<absl::string_view> reader_methods,
                                     std::initializer_list<absl::string_view> admin_methods) {
  std::vector<MethodRule> rules;
  for (absl::string_view name : reader_methods) {
    rules.push_back({absl::StrCat(service, name), Role::kReader});
  }
  for (absl::string_view name : admin_methods) {
    rules.push_back({absl::StrCat(service, name), Role::kAdmin});
  }
  for (absl::string_view method : kIntrospectionMethods) {
    rules.push_back({std::string(method), Role::kReader});
  }
  return rules;
}

std::string FirstProperty(const grpc::AuthContext& auth_context, const char* name) {
  std::vector<grpc::string_ref> values = auth_context.FindPropertyValues(name);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

}  // namespace

Role RoleFromUri(absl::string_view uri) {
  if (uri == kAdminRoleUri) return Role::kAdmin;
  if (uri == kReaderRoleUri) return Role::kReader;
  return Role::kNone;
}

absl::string_view RoleUri(Role role) {
  switch (role) {
    case Role::kAdmin:
      return kAdminRoleUri;
    case Role::kReader:
      return kReaderRoleUri;
    case Role::kNone:
      break;
  }
  return "";
}

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kReader:
      return "reader";
    case Role::kNone:
      break;
  }
  return "none";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "reader") return Role::kReader;
  return absl::InvalidArgumentError(
      absl::StrCat("role \"", name, "\" is not a sparkfleet role; use admin or reader"));
}

Role RoleOfPeer(const grpc::AuthContext& auth_context) {
  // Properties of an unverified peer must never grant anything.
  if (!auth_context.IsPeerAuthenticated()) return Role::kNone;
  Role found = Role::kNone;
  for (const grpc::string_ref& value :
       auth_context.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    Role role = RoleFromUri(absl::string_view(value.data(), value.size()));
    if (role == Role::kNone) continue;  // other URIs (e.g. a workload's SPIFFE ID) are fine
    if (found != Role::kNone && found != role) return Role::kNone;
    found = role;
  }
  return found;
}

std::string PeerIdentity(const grpc::AuthContext& auth_context) {
  std::string name = FirstProperty(auth_context, GRPC_X509_CN_PROPERTY_NAME);
  if (name.empty()) name = FirstProperty(auth_context, GRPC_X509_SAN_PROPERTY_NAME);
  if (name.empty() || !auth_context.IsPeerAuthenticated()) return "unauthenticated peer";
  return name;
}

MethodPolicy::MethodPolicy(std::string service_label, const std::vector<MethodRule>& rules)
    : service_label_(std::move(service_label)) {
  for (const MethodRule& rule : rules) minimum_role_[rule.method] = rule.minimum_role;
}

Role MethodPolicy::MinimumRole(absl::string_view method) const {
  auto it = minimum_role_.find(method);
  return it == minimum_role_.end() ? Role::kNone : it->second;
}

absl::Status MethodPolicy::Authorize(Role caller, absl::string_view method) const {
  Role minimum = MinimumRole(method);
  if (minimum == Role::kNone) {
    return absl::PermissionDeniedError(absl::StrCat("method ", method, " is not in the ",
                                                    service_label_, "'s allow-list; refused"));
  }
  if (caller == Role::kNone) {
    return absl::PermissionDeniedError(
        absl::StrCat("method ", method,
                     " refused: the caller's certificate carries no sparkfleet role (a URI SAN ",
                     kReaderRoleUri, " or ", kAdminRoleUri,
                     "); issue one with `sparkctl pki issue --client NAME --role reader|admin`"));
  }
  if (caller < minimum) {
    return absl::PermissionDeniedError(
        absl::StrCat("method ", method, " needs the ", RoleName(minimum),
                     " role but the caller has the ", RoleName(caller),
                     " role; use a client certificate issued with --role ", RoleName(minimum)));
  }
  return absl::OkStatus();
}

const MethodPolicy& NodeAgentPolicy() {
  static const MethodPolicy* const policy = new MethodPolicy(
      "agent", ServiceRules(kAgentService,
                            {"GetInfo", "Probe", "GetTailscaleStatus", "ReadNcclConf", "Ping",
                             "CheckSsh", "BandwidthServe", "BandwidthTest", "GetDoctorFacts"},
                            {"ConfigureSsh", "GenerateSshKey", "ConfigureHosts", "ConfigureLink",
                             "ConfigureNfs", "InstallTailscale", "TailscaleUp", "WriteNcclConf",
                             "InstallNccl", "RunCollective"}));
  return *policy;
}

const MethodPolicy& CoordinatorPolicy() {
  static const MethodPolicy* const policy = new MethodPolicy(
      "coordinator",
      ServiceRules(kCoordinatorService,
                   {"GetClusterConfig", "GetConnectionInfo", "GetEndpoints", "Status", "Validate"},
                   {"Deploy", "RunNcclTest"}));
  return *policy;
}

}  // namespace sparkfleet
