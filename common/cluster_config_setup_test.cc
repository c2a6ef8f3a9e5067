// cluster.yaml's `ssh`, `link` and `nfs` sections.
#include "common/cluster_config_setup.h"

#include <string>

#include "absl/status/status.h"
#include "common/cluster_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kNodes[] = R"(nodes:
  - {hostname: spark-001, ip: 192.168.1.101, user: nvidia}
  - {hostname: spark-002, ip: 192.168.1.102, user: nvidia}
  - {hostname: spark-003, ip: 192.168.1.103, user: nvidia}
)";

// The section goes first, so its line numbers are the text's own.
absl::StatusOr<ClusterConfig> Parse(const std::string& section) {
  return ParseClusterConfig(section + kNodes, "cluster.yaml", "/etc/fleet",
                            [](const std::string&) { return std::nullopt; });
}

std::string Error(const std::string& section) {
  absl::StatusOr<ClusterConfig> config = Parse(section);
  EXPECT_FALSE(config.ok());
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(SshSection, DefaultsHardenOnPort22WithNoExtraOptions) {
  absl::StatusOr<ClusterConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->ssh.harden);
  EXPECT_EQ(config->ssh.port, 22);
  EXPECT_TRUE(config->ssh.options.empty());
}

TEST(SshSection, ReadsHardenPortAndOptions) {
  absl::StatusOr<ClusterConfig> config = Parse(
      "ssh:\n  harden: no\n  port: 2222\n  options: {MaxAuthTries: 3, AllowUsers: nvidia "
      "admin}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->ssh.harden);
  EXPECT_EQ(config->ssh.port, 2222);
  EXPECT_THAT(config->ssh.options,
              ElementsAre(Pair("AllowUsers", "nvidia admin"), Pair("MaxAuthTries", "3")));
}

TEST(SshSection, BadKeywordsAndValuesAreErrorsAtTheirKey) {
  EXPECT_THAT(Error("ssh:\n  options:\n    Max-Tries: 3\n"),
              HasSubstr("cluster.yaml:3:5: ssh.options.Max-Tries: \"Max-Tries\" is not an "
                        "sshd_config keyword"));
  EXPECT_THAT(Error("ssh:\n  options: {LogLevel: \"a # b\"}\n"),
              HasSubstr("cluster.yaml:2:13: ssh.options.LogLevel: \"a # b\" is not a value sshd "
                        "reads as one line"));
  EXPECT_THAT(Error("ssh:\n  options: {LogLevel: \"a\\nPermitRootLogin yes\"}\n"),
              HasSubstr("holding no '#', newline or control character"));
  EXPECT_THAT(Error("ssh:\n  options: {Match: User x}\n"),
              HasSubstr("changes how the rest of sshd_config is read"));
  EXPECT_THAT(Error("ssh:\n  options: {Port: 2222}\n"), HasSubstr("set ssh.port"));
  EXPECT_THAT(Error("ssh:\n  options: {MaxAuthTries: 3, maxauthtries: 4}\n"),
              HasSubstr("\"maxauthtries\" is given twice"));
}

// The agent's ConfigureSsh rules (common/sshd_options.h), refused when the file is loaded
// rather than half-way through a deploy.
TEST(SshSection, KeywordsNamingFilesOrCommandsAndMisshapenValuesAreRefused) {
  EXPECT_THAT(Error("ssh:\n  options: {Banner: /etc/shadow}\n"),
              HasSubstr("cluster.yaml:2:13: ssh.options.Banner: Banner is not one of the sshd "
                        "keywords sparkfleet sets"));
  EXPECT_THAT(Error("ssh:\n  options: {AuthorizedKeysCommand: /bin/cat}\n"),
              HasSubstr("keywords that name files or commands"));
  EXPECT_THAT(Error("ssh:\n  options: {ForceCommand: id}\n"), HasSubstr("not one of"));
  EXPECT_THAT(Error("ssh:\n  options: {MaxAuthTries: \"$(id)\"}\n"),
              HasSubstr("ssh.options.MaxAuthTries: \"$(id)\" is not a number"));
  EXPECT_THAT(Error("ssh:\n  options: {PermitRootLogin: \"yes;reboot\"}\n"),
              HasSubstr("is not a word such as yes, no or prohibit-password"));
  EXPECT_THAT(Error("ssh:\n  options: {AllowUsers: \"../x\"}\n"),
              HasSubstr("is not user or group patterns"));
  EXPECT_TRUE(Parse("ssh:\n  options: {permitrootlogin: \"no\", Ciphers: "
                    "\"+aes256-gcm@openssh.com\", AllowUsers: \"nvidia admin@10.0.0.0/8\"}\n")
                  .ok());
}

TEST(LinkSection, AbsentMeansNoLink) {
  absl::StatusOr<ClusterConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->link.enabled);
}

TEST(LinkSection, EmptySectionGivesBothSparkHalvesAndAddressesFromTen) {
  absl::StatusOr<ClusterConfig> config = Parse("link:\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const LinkSettings& link = config->link;
  EXPECT_TRUE(link.enabled);
  EXPECT_EQ(link.mtu_bytes, 9000u);
  ASSERT_EQ(link.interfaces.size(), 2u);
  EXPECT_EQ(link.interfaces[0].name, "enp1s0f1np1");
  EXPECT_EQ(link.interfaces[1].name, "enP2p1s0f1np1");
  EXPECT_EQ(link.AddressFor(0, "spark-001", link.interfaces[0]), "192.168.100.10/24");
  EXPECT_EQ(link.AddressFor(2, "spark-003", link.interfaces[1]), "192.168.101.12/24");
}

TEST(LinkSection, PerNodeAddressReplacesTheComputedOne) {
  absl::StatusOr<ClusterConfig> config = Parse(
      "link:\n  mtu: 4092\n  host_offset: 20\n  nodes:\n"
      "    spark-002: {addresses: {enp1s0f1np1: 192.168.100.42/24}}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const LinkSettings& link = config->link;
  EXPECT_EQ(link.mtu_bytes, 4092u);
  EXPECT_EQ(link.AddressFor(1, "spark-002", link.interfaces[0]), "192.168.100.42/24");
  EXPECT_EQ(link.AddressFor(1, "spark-002", link.interfaces[1]), "192.168.101.21/24");
  EXPECT_EQ(link.AddressFor(2, "spark-003", link.interfaces[0]), "192.168.100.22/24");
}

TEST(LinkSection, CanBeTurnedOffWhileKept) {
  absl::StatusOr<ClusterConfig> config = Parse("link: {enabled: false, mtu: 1500}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->link.enabled);
}

TEST(LinkSection, InterfaceAndSubnetMistakesPointAtTheValue) {
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: \"en p1\", subnet: 10.0.0.0/24}\n"),
              HasSubstr("cluster.yaml:3:14: link.interfaces[0].name \"en p1\""));
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: enp1, subnet: 10.0.0.300/24}\n"),
              HasSubstr("cluster.yaml:3:28: link.interfaces[0].subnet \"10.0.0.300/24\" is not "
                        "an IPv4 address with a prefix length"));
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: enp1, subnet: 10.0.0.5/24}\n"),
              HasSubstr("is not a network address; did you mean 10.0.0.0/24?"));
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: enp1, subnet: 10.0.0.0/31}\n"),
              HasSubstr("/30 or shorter"));
  EXPECT_THAT(Error("link:\n  interfaces: []\n"), HasSubstr("at least one interface"));
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: a, subnet: 10.0.0.0/16}\n"
                    "    - {name: b, subnet: 10.0.5.0/24}\n"),
              HasSubstr("cluster.yaml:4:25: link.interfaces[1].subnet: 10.0.5.0/24 overlaps "
                        "10.0.0.0/16 of a"));
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: a, subnet: 10.0.0.0/24}\n"
                    "    - {name: a, subnet: 10.1.0.0/24}\n"),
              HasSubstr("\"a\" is listed twice"));
}

TEST(LinkSection, SubnetTooSmallForTheNodesSaysHowManyFit) {
  EXPECT_THAT(Error("link:\n  interfaces:\n    - {name: a, subnet: 10.0.0.0/29}\n"),
              HasSubstr("cluster.yaml:3:25: link.interfaces[0].subnet: 10.0.0.0/29 holds 6 "
                        "hosts, but 3 nodes from host_offset 10 need host 12"));
  EXPECT_THAT(Error("link:\n  host_offset: 253\n"), HasSubstr("192.168.100.0/24 holds 254"));
  EXPECT_THAT(Error("link: {mtu: 100000}\n"),
              HasSubstr("cluster.yaml:1:13: link.mtu: MTU 100000 is outside 576..9978"));
  EXPECT_THAT(Error("link: {host_offset: 0}\n"), HasSubstr("host_offset 0 is not in"));
}

TEST(LinkSection, PerNodeAddressMustNameANodeAnInterfaceAndFitItsSubnet) {
  EXPECT_THAT(Error("link:\n  nodes:\n    spark-009: {}\n"),
              HasSubstr("cluster.yaml:3:5: link.nodes.spark-009: \"spark-009\" is not a hostname"));
  EXPECT_THAT(Error("link:\n  nodes:\n    spark-001: {addresses: {eth0: 10.0.0.1/24}}\n"),
              HasSubstr("\"eth0\" is not one of link.interfaces"));
  EXPECT_THAT(
      Error("link:\n  nodes:\n    spark-001: {addresses: {enp1s0f1np1: 10.0.0.1/24}}\n"),
      HasSubstr("cluster.yaml:3:42: link.nodes.spark-001.addresses.enp1s0f1np1: 10.0.0.1/24 is "
                "not a host address in 192.168.100.0/24"));
  EXPECT_THAT(Error("link:\n  nodes:\n    spark-001: {addresses: {enp1s0f1np1: "
                    "192.168.100.255/24}}\n"),
              HasSubstr("is not a host address"));
}

TEST(LinkSection, AnAddressGivenTwiceIsAnErrorAtTheOverride) {
  EXPECT_THAT(Error("link:\n  nodes:\n    spark-003: {addresses: {enp1s0f1np1: "
                    "192.168.100.11/24}}\n"),
              HasSubstr("cluster.yaml:3:42: link.nodes.spark-003.addresses.enp1s0f1np1: "
                        "192.168.100.11/24 on enp1s0f1np1 would be the address of both spark-002 "
                        "and spark-003"));
}

TEST(NfsSection, AbsentMeansNoNfs) {
  absl::StatusOr<ClusterConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->nfs.enabled);
}

TEST(NfsSection, EmptySectionExportsFromTheFirstNode) {
  absl::StatusOr<ClusterConfig> config = Parse("nfs:\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->nfs.enabled);
  EXPECT_EQ(config->nfs.export_path, "/srv/sparkfleet");
  EXPECT_EQ(config->nfs.server, "spark-001");
  EXPECT_TRUE(config->nfs.clients.empty());
}

TEST(NfsSection, ReadsEveryKey) {
  absl::StatusOr<ClusterConfig> config = Parse(
      "nfs:\n  export_path: /data/shared\n  mount_point: /mnt/shared\n  server: SPARK-002\n"
      "  server_address: 192.168.100.11\n  clients: [192.168.100.0/24, spark-003]\n"
      "  export_options: rw,sync,no_root_squash\n  mount_options: defaults,_netdev,vers=4.2\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const NfsSettings& nfs = config->nfs;
  EXPECT_EQ(nfs.export_path, "/data/shared");
  EXPECT_EQ(nfs.mount_point, "/mnt/shared");
  EXPECT_EQ(nfs.server, "spark-002");
  EXPECT_EQ(nfs.server_address, "192.168.100.11");
  EXPECT_THAT(nfs.clients, ElementsAre("192.168.100.0/24", "spark-003"));
  EXPECT_EQ(nfs.export_options, "rw,sync,no_root_squash");
  EXPECT_EQ(nfs.mount_options, "defaults,_netdev,vers=4.2");
}

TEST(NfsSection, UnsafePathsOptionsAndClientsAreRefused) {
  EXPECT_THAT(Error("nfs:\n  export_path: srv/x\n"),
              HasSubstr("cluster.yaml:2:16: nfs.export_path \"srv/x\" is not an absolute path"));
  EXPECT_THAT(Error("nfs: {export_path: /}\n"), HasSubstr("is the root directory"));
  EXPECT_THAT(Error("nfs: {mount_point: /srv/../etc}\n"), HasSubstr("is not a normalized path"));
  EXPECT_THAT(Error("nfs: {export_path: \"/srv/a b\"}\n"), HasSubstr("may hold only letters"));
  EXPECT_THAT(Error("nfs: {export_options: \"rw sync\"}\n"),
              HasSubstr("nfs.export_options \"rw sync\" is not an option list"));
  EXPECT_THAT(Error("nfs:\n  clients: [\"*\"]\n"),
              HasSubstr("cluster.yaml:2:13: nfs.clients[0] \"*\" is not an IP address"));
  EXPECT_THAT(Error("nfs: {server: spark-009}\n"),
              HasSubstr("nfs.server: \"spark-009\" is not a hostname from `nodes`"));
  EXPECT_THAT(Error("nfs: {server_address: nas}\n"), HasSubstr("nfs.server_address \"nas\""));
  EXPECT_THAT(Error("nfs: {exports: /x}\n"), HasSubstr("unknown key \"exports\" in nfs"));
}

// The agent's ConfigureNfs rules, refused when the file is loaded.
TEST(NfsSection, SystemDirectoriesWildcardsAndOptionSyntaxAreRefused) {
  EXPECT_THAT(Error("nfs:\n  export_path: /etc\n"),
              HasSubstr("cluster.yaml:2:16: nfs.export_path \"/etc\" is in /etc, a system "
                        "directory"));
  EXPECT_THAT(Error("nfs: {mount_point: /usr/local/share}\n"), HasSubstr("is in /usr"));
  EXPECT_THAT(Error("nfs: {export_path: /boot/efi}\n"), HasSubstr("is in /boot"));
  EXPECT_THAT(Error("nfs:\n  clients: [\"*.lan\"]\n"), HasSubstr("(no wildcards)"));
  EXPECT_THAT(Error("nfs: {export_options: \"rw,=x\"}\n"), HasSubstr("is not an option list"));
  EXPECT_THAT(Error("nfs: {mount_options: \"rw,sec=../../x\"}\n"),
              HasSubstr("is not an option list"));
  EXPECT_THAT(Error("nfs: {export_options: " + std::string(1100, 'a') + "}\n"),
              HasSubstr("an option list is at most 1024"));
  EXPECT_TRUE(Parse("nfs: {export_path: /srv/etc, mount_options: \"x-systemd.automount,"
                    "sec=krb5:sys\"}\n")
                  .ok());
}

TEST(Ipv4CidrText, RoundTripsAndRefusesGarbage) {
  absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr("10.1.2.3/8");
  ASSERT_TRUE(cidr.ok()) << cidr.status();
  EXPECT_EQ(cidr->prefix, 8);
  EXPECT_EQ(FormatIpv4Cidr(*cidr), "10.1.2.3/8");
  for (const char* bad :
       {"10.1.2.3", "10.1.2.3/33", "10.1.2.3/-1", "10.1.2.3/ 8", "::1/64", "/8"}) {
    EXPECT_FALSE(ParseIpv4Cidr(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sparkfleet
