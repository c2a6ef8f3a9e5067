#include "coordinator/bootstrap_ssh.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

SshConnection Settings() {
  SshConnection ssh;
  ssh.key_path = "/home/admin/.ssh/id_ed25519";
  ssh.known_hosts_path = "/home/admin/.ssh/known_hosts";
  ssh.connect_timeout_s = 7;
  return ssh;
}

ClusterNode Node(std::string ip = "192.168.100.10") {
  return ClusterNode{"spark-001", std::move(ip), "nvidia", kDefaultAgentPort};
}

TEST(RemoteWord, QuotesWordsOfTheSafeSet) {
  EXPECT_EQ(*RemoteWord("/etc/sparkfleet/node.key"), "'/etc/sparkfleet/node.key'");
  EXPECT_EQ(*RemoteWord("--property=ActiveState,UnitFileState"),
            "'--property=ActiveState,UnitFileState'");
  EXPECT_EQ(*RemoteWord("sparkfleet-bootstrap.XXXXXXXXXX"), "'sparkfleet-bootstrap.XXXXXXXXXX'");
}

TEST(RemoteWord, RefusesAnythingTheRemoteShellCouldReadAsSyntax) {
  for (const char* bad : {"", "a b", "$(reboot)", "`id`", "x;y", "it's", "a\nb", "~root", "*",
                          "a|b", "a&b", "a>b", "\"q\"", "a\\b", "%h", "a:b"}) {
    EXPECT_EQ(RemoteWord(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SshArgv, ChecksHostKeysAndQuotesEveryRemoteWord) {
  absl::StatusOr<std::vector<std::string>> argv =
      SshArgv(Settings(), Node(), {"sudo", "-n", "sha256sum", "--", "/usr/local/bin/spark-agent"});
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(
      *argv,
      ElementsAre("ssh", "-i", "/home/admin/.ssh/id_ed25519", "-o", "IdentitiesOnly=yes", "-o",
                  "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                  "UserKnownHostsFile=/home/admin/.ssh/known_hosts", "-o", "ConnectTimeout=7", "-o",
                  "LogLevel=ERROR", "-p", "22", "-T", "-l", "nvidia", "192.168.100.10", "'sudo'",
                  "'-n'", "'sha256sum'", "'--'", "'/usr/local/bin/spark-agent'"));
}

TEST(SshArgv, AcceptNewIsTheOnlyAlternativeToStrictChecking) {
  SshConnection ssh = Settings();
  ssh.accept_new_host_keys = true;
  ssh.port = 2222;
  absl::StatusOr<std::vector<std::string>> argv = SshArgv(ssh, Node(), {"id", "-u"});
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, testing::Contains("StrictHostKeyChecking=accept-new"));
  EXPECT_THAT(*argv, Not(testing::Contains("StrictHostKeyChecking=no")));
  EXPECT_THAT(*argv, testing::Contains("2222"));
}

TEST(SshArgv, RefusesValuesThatWouldReachAShellOrSshsParser) {
  EXPECT_FALSE(SshArgv(Settings(), Node(), {"rm", "-rf", "/tmp/x y"}).ok());
  EXPECT_FALSE(SshArgv(Settings(), Node(), {}).ok());
  ClusterNode node = Node();
  node.user = "root;reboot";
  EXPECT_THAT(SshArgv(Settings(), node, {"id"}).status().message(), HasSubstr("user"));
  node = Node("-oProxyCommand=x");
  EXPECT_THAT(SshArgv(Settings(), node, {"id"}).status().message(), HasSubstr("ip"));
  SshConnection ssh = Settings();
  ssh.key_path = "/home/admin/my keys/id";
  EXPECT_THAT(SshArgv(ssh, Node(), {"id"}).status().message(), HasSubstr("ssh key"));
  ssh = Settings();
  ssh.known_hosts_path = "/home/%u/known_hosts";
  EXPECT_THAT(SshArgv(ssh, Node(), {"id"}).status().message(), HasSubstr("known hosts"));
}

TEST(ScpArgv, CopiesIntoTheRemoteDirectoryWithBracketsForIpv6) {
  absl::StatusOr<std::vector<std::string>> argv =
      ScpArgv(Settings(), Node("fd00::10"), {"/build/spark-agent", "/pki/ca.crt"},
              "/tmp/sparkfleet-bootstrap.a1B2c3");
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(
      *argv,
      ElementsAre("scp", "-i", "/home/admin/.ssh/id_ed25519", "-o", "IdentitiesOnly=yes", "-o",
                  "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                  "UserKnownHostsFile=/home/admin/.ssh/known_hosts", "-o", "ConnectTimeout=7", "-o",
                  "LogLevel=ERROR", "-P", "22", "-q", "/build/spark-agent", "/pki/ca.crt",
                  "nvidia@[fd00::10]:/tmp/sparkfleet-bootstrap.a1B2c3/"));
  argv = ScpArgv(Settings(), Node(), {"/pki/ca.crt"}, "/tmp/d");
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(argv->back(), "nvidia@192.168.100.10:/tmp/d/");
}

TEST(ScpArgv, RefusesRelativeOrOddRemoteDirectoriesAndHostLikeLocalFiles) {
  EXPECT_FALSE(ScpArgv(Settings(), Node(), {"/pki/ca.crt"}, "tmp/d").ok());
  EXPECT_FALSE(ScpArgv(Settings(), Node(), {"/pki/ca.crt"}, "/tmp/$(x)").ok());
  EXPECT_FALSE(ScpArgv(Settings(), Node(), {"evil:/etc/shadow"}, "/tmp/d").ok());
  EXPECT_FALSE(ScpArgv(Settings(), Node(), {}, "/tmp/d").ok());
}

TEST(ParseSha256Sums, MapsPathsToHashesAndSkipsNoise) {
  std::string a(64, 'a'), b(64, 'B');
  auto sums = ParseSha256Sums(a + "  /etc/sparkfleet/ca.crt\n" + b +
                              " */usr/local/bin/spark-agent\nsha256sum: x: No such file\n");
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums["/etc/sparkfleet/ca.crt"], a);
  EXPECT_EQ(sums["/usr/local/bin/spark-agent"], std::string(64, 'b'));
}

TEST(ParseSystemctlShow, ReadsPropertiesEvenWhenEmpty) {
  auto properties = ParseSystemctlShow("ActiveState=inactive\nUnitFileState=\n");
  EXPECT_EQ(properties["ActiveState"], "inactive");
  EXPECT_EQ(properties.count("UnitFileState"), 1u);
  EXPECT_EQ(properties["UnitFileState"], "");
}

TEST(LastLine, IsTheLastNonEmptyLineTrimmed) {
  EXPECT_EQ(LastLine("Warning: x\nHost key verification failed.\r\n\n"),
            "Host key verification failed.");
  EXPECT_EQ(LastLine(""), "");
}

}  // namespace
}  // namespace sparkfleet
