#include "node_agent/ops/tailscale_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "node_agent/ops/tailscale_test_node.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Status ValidateRoutes(std::initializer_list<const char*> routes) {
  v1::TailscaleUpRequest request;
  for (const char* route : routes) request.add_advertise_routes(route);
  return ValidateTailscaleUpRequest(request);
}

TEST(ValidateTailscaleUpRequest, AcceptsCidrPrefixesOfBothFamilies) {
  EXPECT_TRUE(
      ValidateRoutes({"10.0.0.0/24", "192.168.1.0/24", "fd00:10::/64", "10.1.2.3/32"}).ok());
}

TEST(ValidateTailscaleUpRequest, RefusesRoutesTailscaleWouldRefuse) {
  EXPECT_THAT(ValidateRoutes({"10.0.0.0"}).message(), HasSubstr("is not a CIDR prefix"));
  EXPECT_THAT(ValidateRoutes({"10.0.0.0/33"}).message(), HasSubstr("is not a CIDR prefix"));
  EXPECT_THAT(ValidateRoutes({"10.0.0.0/+8"}).message(), HasSubstr("is not a CIDR prefix"));
  EXPECT_THAT(ValidateRoutes({"lan/24"}).message(), HasSubstr("is not a CIDR prefix"));
  EXPECT_THAT(ValidateRoutes({"10.0.0.0/24,10.1.0.0/24"}).message(),
              HasSubstr("is not a CIDR prefix"));
  EXPECT_THAT(ValidateRoutes({"10.1.2.3/16"}).message(),
              HasSubstr("has host bits set; did you mean 10.1.0.0/16?"));
  EXPECT_THAT(ValidateRoutes({"fd00::1/64"}).message(), HasSubstr("did you mean fd00::/64?"));
  EXPECT_THAT(ValidateRoutes({"0.0.0.0/0"}).message(), HasSubstr("default route"));
}

TEST(ValidateTailscaleUpRequest, ABadKeyIsRefusedWithoutShowingIt) {
  v1::TailscaleUpRequest request;
  request.set_auth_key("tskey-auth-abc def");
  absl::Status status = ValidateTailscaleUpRequest(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), Not(HasSubstr("abc")));
  request.set_auth_key("hunter2");
  EXPECT_THAT(ValidateTailscaleUpRequest(request).message(), Not(HasSubstr("hunter2")));
  request.set_auth_key(kTestAuthKey);
  EXPECT_TRUE(ValidateTailscaleUpRequest(request).ok());
}

TEST(ValidateTailscaleUpRequest, HostnameAndTimeoutAreChecked) {
  v1::TailscaleUpRequest request;
  request.set_hostname("-bad");
  EXPECT_THAT(ValidateTailscaleUpRequest(request).message(), HasSubstr("hostname"));
  request.set_hostname("spark-001");
  request.set_timeout_s(7200);
  EXPECT_THAT(ValidateTailscaleUpRequest(request).message(), HasSubstr("over an hour"));
}

TEST(WantedTailscaleSettings, DefaultsTheHostnameAndSortsRoutes) {
  v1::TailscaleUpRequest request;
  request.add_advertise_routes("10.2.0.0/16");
  request.add_advertise_routes("10.1.0.0/16");
  request.add_advertise_routes("10.2.0.0/16");
  TailscaleSettings wanted = WantedTailscaleSettings(request, "spark-003");
  EXPECT_EQ(wanted.hostname, "spark-003");
  EXPECT_THAT(wanted.advertise_routes, ElementsAre("10.1.0.0/16", "10.2.0.0/16"));
}

TEST(TailscaleUpRecord, RoundTripsAndRefusesOtherFiles) {
  TailscaleSettings settings;
  settings.hostname = "spark-001";
  settings.advertise_routes = {"10.0.0.0/24", "fd00::/64"};
  settings.ssh = true;
  std::string text = RenderTailscaleUpRecord(settings);
  EXPECT_EQ(ParseTailscaleUpRecord(text), settings);
  EXPECT_EQ(ParseTailscaleUpRecord("{}"), std::nullopt);
  EXPECT_EQ(ParseTailscaleUpRecord("not json"), std::nullopt);
}

TEST(RedactSecret, ReplacesEveryOccurrence) {
  EXPECT_EQ(RedactSecret("a tskey-x b tskey-x", "tskey-x"), "a <redacted> b <redacted>");
  EXPECT_EQ(RedactSecret("nothing", ""), "nothing");
}

using SecretFileTest = TailscaleNodeTest;

TEST_F(SecretFileTest, IsOwnerOnlyAndGoneWhenReleased) {
  std::string path;
  {
    absl::StatusOr<std::unique_ptr<SecretFile>> file =
        SecretFile::Create(*env_, "/run/sparkfleet", "tailscale-authkey-", kTestAuthKey);
    ASSERT_TRUE(file.ok()) << file.status();
    path = (*file)->path();
    EXPECT_THAT(path, HasSubstr("/run/sparkfleet/tailscale-authkey-"));
    struct stat st;
    ASSERT_EQ(stat((root_ + path).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    ASSERT_EQ(stat((root_ + "/run/sparkfleet").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(Read(path), kTestAuthKey);
  }
  EXPECT_FALSE(Exists(path));
}

}  // namespace
}  // namespace sparkfleet
