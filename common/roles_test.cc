#include "common/roles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

constexpr const char* kAgentReadOnly[] = {"GetInfo",        "Probe",         "GetTailscaleStatus",
                                          "ReadNcclConf",   "Ping",          "CheckSsh",
                                          "BandwidthServe", "BandwidthTest", "GetDoctorFacts"};
constexpr const char* kAgentMutating[] = {
    "ConfigureSsh",     "GenerateSshKey", "ConfigureHosts", "ConfigureLink", "ConfigureNfs",
    "InstallTailscale", "TailscaleUp",    "WriteNcclConf",  "InstallNccl",   "RunCollective"};

std::string AgentMethod(const char* name) {
  return std::string("/sparkfleet.v1.NodeAgent/") + name;
}

std::string CoordinatorMethod(const char* name) {
  return std::string("/sparkfleet.v1.Coordinator/") + name;
}

TEST(RoleFromUri, KnowsBothRoleUrisAndNothingElse) {
  EXPECT_EQ(RoleFromUri("spiffe://sparkfleet/role/admin"), Role::kAdmin);
  EXPECT_EQ(RoleFromUri("spiffe://sparkfleet/role/reader"), Role::kReader);
  EXPECT_EQ(RoleFromUri("spiffe://sparkfleet/role/root"), Role::kNone);
  EXPECT_EQ(RoleFromUri("spiffe://other/role/admin"), Role::kNone);
  EXPECT_EQ(RoleFromUri(""), Role::kNone);
}

TEST(RoleUri, RoundTripsThroughRoleFromUri) {
  EXPECT_EQ(RoleFromUri(RoleUri(Role::kAdmin)), Role::kAdmin);
  EXPECT_EQ(RoleFromUri(RoleUri(Role::kReader)), Role::kReader);
  EXPECT_EQ(RoleUri(Role::kNone), "");
}

TEST(ParseRole, AcceptsOnlyAdminAndReader) {
  EXPECT_EQ(*ParseRole("admin"), Role::kAdmin);
  EXPECT_EQ(*ParseRole("reader"), Role::kReader);
  EXPECT_EQ(ParseRole("none").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseRole("root").status().message(), HasSubstr("use admin or reader"));
  EXPECT_EQ(RoleName(Role::kReader), "reader");
}

TEST(NodeAgentPolicy, ReaderMayCallEveryReadOnlyMethod) {
  for (const char* name : kAgentReadOnly) {
    EXPECT_TRUE(NodeAgentPolicy().Authorize(Role::kReader, AgentMethod(name)).ok()) << name;
  }
}

TEST(NodeAgentPolicy, ReaderIsRefusedEveryMutatingMethod) {
  for (const char* name : kAgentMutating) {
    absl::Status status = NodeAgentPolicy().Authorize(Role::kReader, AgentMethod(name));
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << name;
    EXPECT_THAT(status.message(), HasSubstr("needs the admin role"));
    EXPECT_THAT(status.message(), HasSubstr(AgentMethod(name)));
  }
}

TEST(NodeAgentPolicy, AdminMayCallEverything) {
  for (const char* name : kAgentReadOnly) {
    EXPECT_TRUE(NodeAgentPolicy().Authorize(Role::kAdmin, AgentMethod(name)).ok()) << name;
  }
  for (const char* name : kAgentMutating) {
    EXPECT_TRUE(NodeAgentPolicy().Authorize(Role::kAdmin, AgentMethod(name)).ok()) << name;
  }
}

TEST(NodeAgentPolicy, UnknownMethodIsRefusedEvenToAdmin) {
  for (const std::string& method :
       {AgentMethod("FormatDisk"), std::string("/sparkfleet.v1.NodeAgent/getinfo"),
        CoordinatorMethod("Deploy"), std::string("GetInfo"), std::string()}) {
    absl::Status status = NodeAgentPolicy().Authorize(Role::kAdmin, method);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << method;
    EXPECT_THAT(status.message(), HasSubstr("is not in the agent's allow-list"));
  }
}

TEST(NodeAgentPolicy, CallerWithoutRoleIsRefusedEvenReadOnly) {
  absl::Status status = NodeAgentPolicy().Authorize(Role::kNone, AgentMethod("GetInfo"));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("carries no sparkfleet role"));
}

TEST(NodeAgentPolicy, ReaderMayUseHealthAndReflection) {
  EXPECT_TRUE(NodeAgentPolicy().Authorize(Role::kReader, "/grpc.health.v1.Health/Check").ok());
  EXPECT_TRUE(NodeAgentPolicy()
                  .Authorize(Role::kReader,
                             "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
                  .ok());
}

TEST(CoordinatorPolicy, ReaderLooksAdminChanges) {
  for (const char* name :
       {"GetClusterConfig", "GetConnectionInfo", "GetEndpoints", "Status", "Validate"}) {
    EXPECT_TRUE(CoordinatorPolicy().Authorize(Role::kReader, CoordinatorMethod(name)).ok()) << name;
  }
  for (const char* name : {"Deploy", "RunNcclTest"}) {
    EXPECT_EQ(CoordinatorPolicy().Authorize(Role::kReader, CoordinatorMethod(name)).code(),
              absl::StatusCode::kPermissionDenied)
        << name;
    EXPECT_TRUE(CoordinatorPolicy().Authorize(Role::kAdmin, CoordinatorMethod(name)).ok()) << name;
  }
  absl::Status unknown = CoordinatorPolicy().Authorize(Role::kAdmin, AgentMethod("GetInfo"));
  EXPECT_THAT(unknown.message(), HasSubstr("is not in the coordinator's allow-list"));
}

TEST(MethodPolicy, MinimumRoleOfAnUnlistedMethodIsNone) {
  MethodPolicy policy("test", {{"/a.B/C", Role::kAdmin}});
  EXPECT_EQ(policy.MinimumRole("/a.B/C"), Role::kAdmin);
  EXPECT_EQ(policy.MinimumRole("/a.B/D"), Role::kNone);
}

}  // namespace
}  // namespace sparkfleet
