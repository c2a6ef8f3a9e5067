#include "node_agent/ops/ssh_keys.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

constexpr char kEd25519[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPQsYi2ywfz8br0PJTyN8p6Bsu+5abA9egjU3TuzqSWb "
    "nvidia@spark-001";
constexpr char kEd25519Other[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPJqZe2OfgWlPdHoAzrmhGpn8DGGzynmMixrlIGwzhb";
constexpr char kEcdsa[] =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGgwD7ykEpdg0OMpwqUQ2tW"
    "QOX4yQL13Pt/S2WauEJ15TYxbWKFdvdVnLtoHiuiTUQonLxAHlGmjkDQqZTS4n9Q= root@spark-002";
constexpr char kRsa[] =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDefq8/t3cq05atWCCgG+gchlnu1vMcxjkFebx/7OCxPqWCEdSqMVy/"
    "Xiasxx+GQcmUCpwBWSlyYg+yd/7aXBxqTs0ZkEEgBfcVupfQ8sv8qbK0CWy3Cg4wG7HuETuB0mJGZS6PpMjGV6zOY12ADM"
    "noUAP/P1Sqv1oGER0/cg4BkQ== admin laptop";

TEST(ParseSshPublicKey, ReadsTypeDataAndCommentOfEveryKnownType) {
  absl::StatusOr<SshPublicKey> ed = ParseSshPublicKey(std::string("  ") + kEd25519 + "\n");
  ASSERT_TRUE(ed.ok()) << ed.status();
  EXPECT_EQ(ed->type, "ssh-ed25519");
  EXPECT_EQ(ed->comment, "nvidia@spark-001");
  EXPECT_EQ(ed->Line(), kEd25519);
  EXPECT_TRUE(ParseSshPublicKey(kEcdsa).ok());
  absl::StatusOr<SshPublicKey> rsa = ParseSshPublicKey(kRsa);
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  EXPECT_EQ(rsa->comment, "admin laptop");
  EXPECT_TRUE(ParseSshPublicKey(kEd25519Other).ok());
}

TEST(ParseSshPublicKey, RefusesWhatSshdWouldMisread) {
  struct Case {
    std::string line;
    std::string says;
  } cases[] = {
      {"", "empty"},
      {"ssh-dss AAAAB3NzaC1kc3M=", "ssh-dss\" is not one of"},
      {std::string("from=\"10.0.0.1\" ") + kEd25519, "options such as from="},
      {"ssh-ed25519", "no base64 key data"},
      {"ssh-ed25519 not*base64", "no base64 key data"},
      // an RSA blob labelled ed25519: pasted together from two keys
      {std::string("ssh-ed25519 ") + std::string(kRsa).substr(8), "it holds a ssh-rsa key"},
      {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "cut short"},  // the type and no key
      {std::string(kEd25519) + "\nssh-rsa AAAA", "newline"},
  };
  for (const Case& c : cases) {
    absl::Status status = ParseSshPublicKey(c.line).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(status.message(), HasSubstr(c.says)) << c.line;
  }
}

TEST(ValidateKnownHostName, AcceptsNamesAddressesAndBracketedPorts) {
  for (const char* name : {"spark-001", "spark-001.cluster", "192.168.100.11", "fd00::11",
                           "[spark-001]:2222", "[fd00::11]:2222"}) {
    EXPECT_TRUE(ValidateKnownHostName(name).ok()) << name;
  }
  for (const char* name : {"*.cluster", "!spark-001", "spark 001", "[spark-001]", "[spark-001]:0",
                           "[spark-001]:22", "|1|hashed", ""}) {
    EXPECT_FALSE(ValidateKnownHostName(name).ok()) << name;
  }
}

TEST(RenderAuthorizedKeys, OneLinePerDistinctKeyInRequestOrder) {
  std::string same_key_other_comment = std::string(kEd25519).substr(0, 80) + " again";
  EXPECT_EQ(RenderAuthorizedKeys({kRsa, kEd25519, same_key_other_comment}),
            std::string(kRsa) + "\n" + kEd25519 + "\n");
  EXPECT_EQ(RenderAuthorizedKeys({}), "");
}

TEST(RenderKnownHosts, JoinsNamesAndDropsTheHostKeyComment) {
  v1::ConfigureSshRequest request;
  v1::KnownHost* host = request.add_known_hosts();
  host->add_names("spark-002");
  host->add_names("192.168.100.12");
  host->set_public_key(kEcdsa);
  EXPECT_EQ(RenderKnownHosts(request.known_hosts()),
            "spark-002,192.168.100.12 " +
                std::string(kEcdsa).substr(0, std::string(kEcdsa).rfind(' ')) + "\n");
}

TEST(CountAuthorizedKeys, IgnoresBlankAndCommentLines) {
  EXPECT_EQ(CountAuthorizedKeys("# BEGIN sparkfleet\n\n# END sparkfleet\n"), 0);
  EXPECT_EQ(CountAuthorizedKeys(std::string("# mine\n") + kRsa + "\n" + kEd25519), 2);
}

v1::ConfigureSshRequest GoodRequest() {
  v1::ConfigureSshRequest request;
  request.set_user("nvidia");
  request.add_authorized_keys(kEd25519);
  v1::KnownHost* host = request.add_known_hosts();
  host->add_names("spark-002");
  host->set_public_key(kEcdsa);
  (*request.mutable_sshd_options())["MaxAuthTries"] = "3";
  return request;
}

TEST(ValidateConfigureSshRequest, NamesTheFieldThatIsWrong) {
  EXPECT_TRUE(ValidateConfigureSshRequest(GoodRequest()).ok());

  v1::ConfigureSshRequest bad_key = GoodRequest();
  bad_key.add_authorized_keys("ssh-ed25519 AAAA");
  absl::Status status = ValidateConfigureSshRequest(bad_key);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("ConfigureSshRequest.authorized_keys[1]: "));

  v1::ConfigureSshRequest bad_name = GoodRequest();
  bad_name.mutable_known_hosts(0)->add_names("*");
  EXPECT_THAT(ValidateConfigureSshRequest(bad_name).message(),
              HasSubstr("known_hosts[0].names[1]: "));

  v1::ConfigureSshRequest bad_host_key = GoodRequest();
  bad_host_key.mutable_known_hosts(0)->set_public_key("ssh-ed25519");
  EXPECT_THAT(ValidateConfigureSshRequest(bad_host_key).message(),
              HasSubstr("known_hosts[0].public_key: "));

  v1::ConfigureSshRequest bad_user = GoodRequest();
  bad_user.set_user("../root");
  EXPECT_THAT(ValidateConfigureSshRequest(bad_user).message(), HasSubstr(".user: "));

  v1::ConfigureSshRequest bad_option = GoodRequest();
  (*bad_option.mutable_sshd_options())["Banner"] = "x\nPermitRootLogin yes";
  EXPECT_THAT(ValidateConfigureSshRequest(bad_option).message(),
              HasSubstr("sshd_options[\"Banner\"]: "));

  v1::ConfigureSshRequest twice = GoodRequest();
  (*twice.mutable_sshd_options())["maxauthtries"] = "4";
  EXPECT_THAT(ValidateConfigureSshRequest(twice).message(), HasSubstr("different case"));
}

TEST(ValidateGenerateSshKeyRequest, NeedsAUserAndAOneLineComment) {
  v1::GenerateSshKeyRequest request;
  EXPECT_FALSE(ValidateGenerateSshKeyRequest(request).ok());
  request.set_user("nvidia");
  EXPECT_TRUE(ValidateGenerateSshKeyRequest(request).ok());
  request.set_comment("nvidia@spark-001 (cluster)");
  EXPECT_TRUE(ValidateGenerateSshKeyRequest(request).ok());
  request.set_comment("x\ny");
  EXPECT_THAT(ValidateGenerateSshKeyRequest(request).message(), HasSubstr(".comment: "));
  for (const char* bad : {"$(id)", "`id`", "a;b", "a|b", "-O", "../../etc/passwd"}) {
    request.set_comment(bad);
    EXPECT_FALSE(ValidateGenerateSshKeyRequest(request).ok()) << bad;
  }
}

}  // namespace
}  // namespace sparkfleet
