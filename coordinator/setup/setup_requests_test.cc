#include "coordinator/setup/setup_requests.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kUserKey1[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB/5HioG+/b7s9eSBKAbr0jUR5/VuQ79/d3owZa4wGCm "
    "nvidia@spark-001";
constexpr char kUserKey2[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJAwiQRyqqV/APq2X8JjWFEaGauGSfjWo4ZGpENRGDk "
    "nvidia@spark-002";
constexpr char kHostKey[] =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBI1jEY2c/urBqF0CFC0rBBs2J6Ufi2X0ExaASLjv"
    "ZUWOMz7UZ48jki7kihIn2TRLq0MHeBqXovkW1gvjfnJlSyc= root@spark-001";
constexpr char kHostKeyNoComment[] =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBI1jEY2c/urBqF0CFC0rBBs2J6Ufi2X0ExaASLjv"
    "ZUWOMz7UZ48jki7kihIn2TRLq0MHeBqXovkW1gvjfnJlSyc=";

ClusterConfig TwoSparks() {
  ClusterConfig config;
  config.cluster_name = "lab";
  config.nodes = {{"spark-001.lab.example", "10.0.0.1", "nvidia", 50151},
                  {"spark-002", "10.0.0.2", "nvidia", 50151}};
  return config;
}

std::vector<std::string> Names(const v1::KnownHost& host) {
  return {host.names().begin(), host.names().end()};
}

TEST(HostsEntries, EveryNodeUnderItsNameAndShortName) {
  std::vector<v1::HostEntry> entries = BuildHostsEntries(TwoSparks());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].address(), "10.0.0.1");
  EXPECT_THAT(entries[0].names(), ElementsAre("spark-001.lab.example", "spark-001"));
  EXPECT_EQ(entries[1].address(), "10.0.0.2");
  EXPECT_THAT(entries[1].names(), ElementsAre("spark-002"));
}

TEST(KnownHosts, HostKeysUnderNameShortNameAndIpWithoutComment) {
  absl::StatusOr<std::vector<v1::KnownHost>> hosts =
      BuildKnownHosts(TwoSparks(), {{"spark-001.lab.example", {kHostKey, kHostKey}}});
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 1u) << "the same key twice is one entry; spark-002 has none";
  EXPECT_THAT(Names((*hosts)[0]), ElementsAre("spark-001.lab.example", "spark-001", "10.0.0.1"));
  EXPECT_EQ((*hosts)[0].public_key(), kHostKeyNoComment);
}

TEST(KnownHosts, BracketsAndPortWhenSshdIsNotOn22) {
  ClusterConfig config = TwoSparks();
  config.ssh.port = 2222;
  absl::StatusOr<std::vector<v1::KnownHost>> hosts =
      BuildKnownHosts(config, {{"spark-002", {kHostKey}}});
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_THAT(Names((*hosts)[0]), ElementsAre("[spark-002]:2222", "[10.0.0.2]:2222"));
}

TEST(KnownHosts, AGarbledHostKeyNamesTheNode) {
  absl::StatusOr<std::vector<v1::KnownHost>> hosts =
      BuildKnownHosts(TwoSparks(), {{"spark-002", {"ssh-ed25519 not-base64!"}}});
  ASSERT_FALSE(hosts.ok());
  EXPECT_THAT(hosts.status().message(), HasSubstr("spark-002: a host key it reported is not a "
                                                  "valid ssh-ed25519 key"));
}

TEST(AuthorizedKeys, ClusterKeyFirstThenEachNodeOnce) {
  absl::StatusOr<std::vector<std::string>> keys = BuildAuthorizedKeys(
      TwoSparks(), kUserKey2, {{"spark-002", kUserKey2}, {"spark-001.lab.example", kUserKey1}});
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre(kUserKey2, kUserKey1));
}

TEST(AuthorizedKeys, WithoutAClusterKeyOnlyNodeKeys) {
  absl::StatusOr<std::vector<std::string>> keys =
      BuildAuthorizedKeys(TwoSparks(), "", {{"spark-002", kUserKey2}});
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre(kUserKey2));
}

TEST(AuthorizedKeys, AMalformedKeyNamesItsOwnerAndNeverEchoesIt) {
  absl::StatusOr<std::vector<std::string>> keys =
      BuildAuthorizedKeys(TwoSparks(), "", {{"spark-002", "from=\"*\" ssh-ed25519 AAAA"}});
  ASSERT_FALSE(keys.ok());
  EXPECT_THAT(keys.status().message(), HasSubstr("spark-002: the user key of nvidia has key type"));
  EXPECT_THAT(keys.status().message(), Not(HasSubstr("AAAA")));
}

TEST(PublicKeyLine, RefusesTypeMismatchAndControlCharacters) {
  // An ed25519 blob written as ssh-rsa.
  EXPECT_FALSE(
      ParsePublicKey("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIB/5HioG+/b7s9eSBKAbr0jUR5/VuQ79/d3owZa4wGCm")
          .ok());
  EXPECT_FALSE(ParsePublicKey(std::string(kUserKey1) + "\x1b[2J").ok());
  EXPECT_FALSE(ParsePublicKey("ssh-ed25519").ok());
  absl::StatusOr<PublicKey> key = ParsePublicKey(std::string("  ") + kUserKey1 + "\n");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->comment, "nvidia@spark-001");
  EXPECT_EQ(key->Line(), kUserKey1);
}

TEST(SshRequest, CarriesUserKeysHostsAndHardening) {
  ClusterConfig config = TwoSparks();
  config.ssh.options = {{"MaxAuthTries", "3"}};
  v1::KnownHost host;
  host.add_names("spark-002");
  v1::ConfigureSshRequest request = BuildSshRequest(config, config.nodes[1], {kUserKey1}, {host});
  EXPECT_EQ(request.user(), "nvidia");
  EXPECT_THAT(request.authorized_keys(), ElementsAre(kUserKey1));
  ASSERT_EQ(request.known_hosts_size(), 1);
  EXPECT_TRUE(request.harden_sshd());
  EXPECT_THAT(request.sshd_options(), UnorderedElementsAre(Pair("MaxAuthTries", "3")));
  EXPECT_FALSE(request.dry_run());
  config.ssh.harden = false;
  request = BuildSshRequest(config, config.nodes[1], {kUserKey1}, {});
  EXPECT_FALSE(request.harden_sshd());
  EXPECT_TRUE(request.sshd_options().empty());
}

TEST(LinkRequest, NodeIndexPicksTheAddressOnBothHalves) {
  ClusterConfig config = TwoSparks();
  config.link.enabled = true;
  config.link.interfaces = {{"enp1s0f1np1", "192.168.100.0/24"},
                            {"enP2p1s0f1np1", "192.168.101.0/24"}};
  config.link.node_addresses["spark-002"]["enP2p1s0f1np1"] = "192.168.101.99/24";
  v1::ConfigureLinkRequest first = BuildLinkRequest(config, 0);
  ASSERT_EQ(first.interfaces_size(), 2);
  EXPECT_EQ(first.interfaces(0).name(), "enp1s0f1np1");
  EXPECT_THAT(first.interfaces(0).addresses(), ElementsAre("192.168.100.10/24"));
  EXPECT_EQ(first.interfaces(0).mtu_bytes(), 9000u);
  EXPECT_EQ(first.management_address(), "10.0.0.1");
  v1::ConfigureLinkRequest second = BuildLinkRequest(config, 1);
  EXPECT_THAT(second.interfaces(0).addresses(), ElementsAre("192.168.100.11/24"));
  EXPECT_THAT(second.interfaces(1).addresses(), ElementsAre("192.168.101.99/24"));
  EXPECT_EQ(second.management_address(), "10.0.0.2");
}

TEST(NfsRequests, DefaultsExportToTheOtherNodesFromThePrimary) {
  ClusterConfig config = TwoSparks();
  config.nodes.push_back({"spark-003", "10.0.0.3", "nvidia", 50151});
  config.nfs.enabled = true;
  config.nfs.server = "spark-001.lab.example";
  NfsRequests requests = BuildNfsRequests(config);
  EXPECT_EQ(requests.server, "spark-001.lab.example");
  EXPECT_EQ(requests.server_request.role(), v1::NFS_ROLE_SERVER);
  EXPECT_EQ(requests.server_request.export_path(), "/srv/sparkfleet");
  EXPECT_THAT(requests.server_request.export_clients(), ElementsAre("10.0.0.2", "10.0.0.3"));
  EXPECT_EQ(requests.client_request.role(), v1::NFS_ROLE_CLIENT);
  EXPECT_EQ(requests.client_request.server_address(), "10.0.0.1");
  EXPECT_EQ(requests.client_request.remote_path(), "/srv/sparkfleet");
  EXPECT_EQ(requests.client_request.mount_point(), "/srv/sparkfleet");
  EXPECT_EQ(requests.client_request.mount_options(), "");
}

TEST(NfsRequests, ExplicitSettingsWin) {
  ClusterConfig config = TwoSparks();
  config.nfs = {true,        "/data",           "/mnt/data",
                "spark-002", "192.168.100.11",  {"10.0.0.0/24"},
                "rw,sync",   "defaults,_netdev"};
  NfsRequests requests = BuildNfsRequests(config);
  EXPECT_EQ(requests.server, "spark-002");
  EXPECT_THAT(requests.server_request.export_clients(), ElementsAre("10.0.0.0/24"));
  EXPECT_EQ(requests.server_request.export_options(), "rw,sync");
  EXPECT_EQ(requests.client_request.server_address(), "192.168.100.11");
  EXPECT_EQ(requests.client_request.remote_path(), "/data");
  EXPECT_EQ(requests.client_request.mount_point(), "/mnt/data");
  EXPECT_EQ(requests.client_request.mount_options(), "defaults,_netdev");
}

}  // namespace
}  // namespace sparkfleet
