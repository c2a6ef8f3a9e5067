// `sparkctl multi-node`, `single-node`, `hosts` and `link` against real agents whose roots
// are copies of the DGX Spark fixture plus a user, an sshd_config and a host key each.
// The real ssh-keygen makes the cluster key (on the "admin box": the test's directory)
// and each node user's key; sshd and systemctl are doubles (this directory's tools),
// netplan, exportfs and mount the contract doubles of tests/fakes/tools/.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/integration/node_seed.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SetupCommandsIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSshTools(cluster_.dir() + "/tools", cluster_.dir() + "/ssh-tools.log");
    for (int i = 0; i < 2; ++i) {
      std::string name = absl::StrCat("spark-00", i + 1);
      std::string seed = absl::StrCat(cluster_.dir(), "/seed-", name);
      ASSERT_NO_FATAL_FAILURE(WriteSeed(seed, kSeedHostKeys[i]));
      // The fakes' state and logs stay under the agent's own root; children inherit these.
      setenv("SPARKFLEET_FAKE_ROOT", absl::StrCat(cluster_.dir(), "/", name, "/root").c_str(), 1);
      setenv("SPARKFLEET_FAKE_TOOL_LOG", absl::StrCat(cluster_.dir(), "/", name, ".log").c_str(),
             1);
      absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent(
          name,
          {"--tool-path=" + cluster_.dir() + "/tools",
           "--tool-path=" + std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"},
          seed);
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(*agent);
    }
  }

  // cluster.yaml for the agents (plus `extra` nodes and sections) in the harness's dir.
  std::string WriteYaml(const std::string& extra_nodes, const std::string& sections) {
    std::string yaml =
        absl::StrCat("cluster_name: it\nuser: nvidia\nssh_key_path: ", KeyPath(), "\nnodes:\n");
    for (const AgentProcess* agent : agents_) {
      absl::StrAppend(&yaml, "  - {hostname: ", agent->name, ", ip: 127.0.0.1, port: ", agent->port,
                      "}\n");
    }
    absl::StrAppend(&yaml, extra_nodes,
                    "agent:\n  tls: {ca: pki/ca.crt, cert: pki/admin.crt, key: pki/admin.key}\n",
                    sections);
    std::string path = cluster_.dir() + "/cluster.yaml";
    std::ofstream(path) << yaml;
    return path;
  }

  std::string KeyPath() const { return cluster_.dir() + "/admin/.ssh/id_cluster"; }
  std::string File(int node, const std::string& path) const {
    return ClusterHarness::ReadFile(agents_[node]->root + path);
  }
  bool Exists(int node, const std::string& path) const {
    return std::filesystem::exists(agents_[node]->root + path);
  }

  ClusterHarness cluster_;
  std::vector<AgentProcess*> agents_;
};

constexpr char kSections[] = "ssh:\n  options: {MaxAuthTries: 3}\nnfs:\n  clients: [10.0.0.0/24]\n";

TEST_F(SetupCommandsIntegration, MultiNodeCheckThenRunThenNothingToDo) {
  std::string yaml = WriteYaml("", kSections);
  ProcessResult check = cluster_.RunSparkctl({"-c", yaml, "multi-node", "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.stdout_text << check.stderr_text;
  EXPECT_THAT(check.stdout_text,
              HasSubstr("NODE       KEYS     SSH      HOSTS    NFS      RESULT"));
  EXPECT_THAT(check.stdout_text, HasSubstr("does not exist yet"));
  EXPECT_THAT(check.stdout_text, HasSubstr("0 ok, 2 would change, 0 failed (check: nothing"));
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));
  EXPECT_FALSE(Exists(0, "/home/nvidia/.ssh"));
  EXPECT_EQ(File(0, "/etc/hosts"), "127.0.0.1 localhost\n");

  ProcessResult run = cluster_.RunSparkctl({"-c", yaml, "multi-node"});
  EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("cluster key: made " + KeyPath()));
  EXPECT_THAT(run.stdout_text, HasSubstr("0 ok, 2 changed, 0 failed"));
  std::string cluster_key = ClusterHarness::ReadFile(KeyPath() + ".pub");
  ASSERT_THAT(cluster_key, HasSubstr("ssh-ed25519 "));
  cluster_key = cluster_key.substr(0, cluster_key.find(" sparkfleet@it"));
  std::string user_key[2];
  for (int i = 0; i < 2; ++i) {
    user_key[i] = File(i, "/home/nvidia/.ssh/id_ed25519.pub");
    ASSERT_THAT(user_key[i], HasSubstr("ssh-ed25519 ")) << i;
    user_key[i] = user_key[i].substr(0, user_key[i].find(" nvidia@"));
  }
  for (int i = 0; i < 2; ++i) {
    std::string authorized = File(i, "/home/nvidia/.ssh/authorized_keys");
    EXPECT_THAT(authorized, HasSubstr(cluster_key + " sparkfleet@it\n")) << i;
    EXPECT_THAT(authorized, HasSubstr(user_key[0])) << i;
    EXPECT_THAT(authorized, HasSubstr(user_key[1])) << i;
    std::string known = File(i, "/home/nvidia/.ssh/known_hosts");
    EXPECT_THAT(known, HasSubstr(absl::StrCat("spark-001,127.0.0.1 ", kSeedHostKeys[0], "\n")))
        << i;
    EXPECT_THAT(known, HasSubstr(absl::StrCat("spark-002,127.0.0.1 ", kSeedHostKeys[1], "\n")))
        << i;
    EXPECT_THAT(File(i, "/etc/ssh/sshd_config.d/10-sparkfleet.conf"),
                HasSubstr("PasswordAuthentication no\n"));
    EXPECT_THAT(File(i, "/etc/ssh/sshd_config.d/10-sparkfleet.conf"), HasSubstr("MaxAuthTries 3"));
    EXPECT_THAT(File(i, "/etc/hosts"), HasSubstr("127.0.0.1\tspark-001\n127.0.0.1\tspark-002\n"));
  }
  EXPECT_THAT(File(0, "/etc/exports.d/sparkfleet.exports"),
              HasSubstr("/srv/sparkfleet 10.0.0.0/24(rw,sync,no_subtree_check)"));
  EXPECT_THAT(File(1, "/etc/fstab"), HasSubstr("127.0.0.1:/srv/sparkfleet /srv/sparkfleet nfs"));
  EXPECT_FALSE(Exists(1, "/etc/exports.d/sparkfleet.exports"));

  ProcessResult again = cluster_.RunSparkctl({"-c", yaml, "--json", "multi-node"});
  EXPECT_EQ(again.exit_code, 0) << again.stdout_text << again.stderr_text;
  EXPECT_THAT(again.stdout_text,
              HasSubstr("\"summary\":{\"ok\":2,\"changed\":0,\"failed\":0,\"unreachable\":0}"));
  EXPECT_THAT(again.stdout_text, Not(HasSubstr("\"changed\":true")));

  // single-node keeps what multi-node made: nothing to do either.
  ProcessResult single = cluster_.RunSparkctl({"-c", yaml, "single-node"});
  EXPECT_EQ(single.exit_code, 0) << single.stdout_text << single.stderr_text;
  EXPECT_THAT(single.stdout_text, HasSubstr("2 ok, 0 changed, 0 failed"));
}

TEST_F(SetupCommandsIntegration, UnreachableNodeIsReportedAndTheOthersAreDone) {
  std::string yaml = WriteYaml("  - {hostname: spark-009, ip: 127.0.0.1, port: 1}\n", "");
  ProcessResult run = cluster_.RunSparkctl({"-c", yaml, "hosts"});
  EXPECT_EQ(run.exit_code, 2) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-001  changed      changed\n"));
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-009  unreachable  unreachable\n"));
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-009: ConfigureHosts: UNAVAILABLE"));
  EXPECT_THAT(run.stdout_text, HasSubstr("0 ok, 2 changed, 0 failed, 1 unreachable"));
  EXPECT_THAT(File(0, "/etc/hosts"), HasSubstr("127.0.0.1\tspark-009\n"));
}

TEST_F(SetupCommandsIntegration, LinkAndNfsNeedTheirSections) {
  std::string yaml = WriteYaml("", "");
  ProcessResult link = cluster_.RunSparkctl({"-c", yaml, "link"});
  EXPECT_EQ(link.exit_code, 1);
  EXPECT_THAT(link.stderr_text, HasSubstr("has no enabled `link` section"));
  ProcessResult nfs = cluster_.RunSparkctl({"-c", yaml, "nfs", "--check"});
  EXPECT_EQ(nfs.exit_code, 1);
  EXPECT_THAT(nfs.stderr_text, HasSubstr("has no enabled `nfs` section"));
}

TEST_F(SetupCommandsIntegration, LinkCheckShowsEachNodesNetplanAddresses) {
  std::string yaml = WriteYaml("", "link: {mtu: 9000}\n");
  ProcessResult check = cluster_.RunSparkctl({"-c", yaml, "link", "--check"});
  EXPECT_THAT(check.stdout_text, HasSubstr("== spark-001: /etc/netplan/40-sparkfleet.yaml\n"));
  EXPECT_THAT(check.stdout_text, HasSubstr("192.168.100.10/24"));
  EXPECT_THAT(check.stdout_text, HasSubstr("192.168.101.11/24"));
  EXPECT_FALSE(Exists(0, "/etc/netplan/40-sparkfleet.yaml"));
}

}  // namespace
}  // namespace sparkfleet::testing
