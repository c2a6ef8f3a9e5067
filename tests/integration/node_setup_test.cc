// ConfigureHosts, ConfigureLink and ConfigureNfs over gRPC against real agents whose
// roots are copies of the DGX Spark fixture (so the ConnectX-7 interfaces exist), with
// contract doubles of netplan, exportfs and mount (tests/fakes/tools/) first on
// --tool-path. Each double records its argv in the agent's own tool log and acts under
// the agent's root (SPARKFLEET_FAKE_ROOT, set before the agent starts).
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;

// One agent on a Spark fixture root with the tool doubles, and an admin stub to it.
struct SetupNode {
  AgentProcess* agent = nullptr;
  std::string tool_log;
  std::unique_ptr<v1::NodeAgent::Stub> stub;

  std::string File(const std::string& path) const {
    return ClusterHarness::ReadFile(agent->root + path);
  }
  std::string ToolLog() const { return ClusterHarness::ReadFile(tool_log); }
  void Touch(const std::string& path) const { std::ofstream(agent->root + path) << ""; }
};

void StartSetupNode(ClusterHarness& cluster, const std::string& name, SetupNode* node) {
  const std::string root = absl::StrCat(cluster.dir(), "/", name, "/root");
  node->tool_log = absl::StrCat(cluster.dir(), "/", name, "-tools.log");
  // The agent's children inherit these; each agent got its own at its start.
  setenv("SPARKFLEET_FAKE_ROOT", root.c_str(), 1);
  setenv("SPARKFLEET_FAKE_TOOL_LOG", node->tool_log.c_str(), 1);
  absl::StatusOr<AgentProcess*> agent = cluster.StartAgent(
      name, {"--tool-path=" + std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"},
      std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark");
  ASSERT_TRUE(agent.ok()) << agent.status();
  ASSERT_EQ((*agent)->root, root);
  node->agent = *agent;
  std::ofstream(node->tool_log) << "";
  auto credentials = MakeClientCredentials(
      {cluster.pki() + "/ca.crt", cluster.pki() + "/admin.crt", cluster.pki() + "/admin.key"});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  node->stub = v1::NodeAgent::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", node->agent->port), *credentials));
}

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 20) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

TEST(NodeSetupIntegration, HostsBlockLeavesTheAdminsLinesAndReRunsChangeNothing) {
  ClusterHarness cluster;
  SetupNode node;
  ASSERT_NO_FATAL_FAILURE(StartSetupNode(cluster, "spark-001", &node));
  const std::string admin = "127.0.0.1 localhost\n127.0.1.1\tspark-001  # ubuntu's\n\n::1 ip6";
  std::ofstream(node.agent->root + "/etc/hosts") << admin;

  v1::ConfigureHostsRequest request;
  for (int i : {1, 2}) {
    v1::HostEntry* entry = request.add_entries();
    entry->set_address(absl::StrCat("192.168.1.10", i));
    entry->add_names(absl::StrCat("spark-00", i, ".cluster"));
    entry->add_names(absl::StrCat("spark-00", i));
  }
  v1::ConfigureHostsReply reply;
  grpc::Status status = node.stub->ConfigureHosts(Deadline().get(), request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(reply.changes(0).changed());
  EXPECT_EQ(node.File("/etc/hosts"),
            admin +
                "\n# BEGIN sparkfleet\n192.168.1.101\tspark-001.cluster spark-001\n"
                "192.168.1.102\tspark-002.cluster spark-002\n# END sparkfleet\n");

  v1::ConfigureHostsReply again;
  status = node.stub->ConfigureHosts(Deadline().get(), request, &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(again.changes(0).changed());

  request.mutable_entries(0)->set_address("192.168.1.300");
  status = node.stub->ConfigureHosts(Deadline().get(), request, &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("entries[0].address"));
}

v1::ConfigureLinkRequest SparkLink(uint32_t mtu) {
  v1::ConfigureLinkRequest request;
  for (const auto& [name, address] : {std::pair{"enp1s0f1np1", "192.168.100.10/24"},
                                      std::pair{"enP2p1s0f1np1", "192.168.101.10/24"}}) {
    v1::LinkInterface* interface = request.add_interfaces();
    interface->set_name(name);
    interface->add_addresses(address);
    interface->set_mtu_bytes(mtu);
  }
  request.set_management_address("192.168.1.101");  // enP7s7 in the fixture
  request.set_settle_timeout_ms(5000);
  return request;
}

TEST(NodeSetupIntegration, LinkIsWrittenAppliedOnceAndRolledBackWhenApplyFails) {
  ClusterHarness cluster;
  SetupNode node;
  ASSERT_NO_FATAL_FAILURE(StartSetupNode(cluster, "spark-001", &node));
  std::filesystem::create_directories(node.agent->root + "/etc/netplan");
  const std::string netplan = "/etc/netplan/40-sparkfleet.yaml";

  v1::ConfigureLinkReply reply;
  grpc::Status status = node.stub->ConfigureLink(Deadline().get(), SparkLink(9000), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(reply.applied());
  EXPECT_EQ(node.ToolLog(), "netplan apply\n");
  const std::string written = node.File(netplan);
  EXPECT_THAT(written, HasSubstr("    enp1s0f1np1:\n      dhcp4: false\n      dhcp6: false\n"
                                 "      addresses:\n        - \"192.168.100.10/24\"\n"
                                 "      mtu: 9000\n"));
  struct stat info {};
  ASSERT_EQ(stat((node.agent->root + netplan).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  ASSERT_EQ(reply.interfaces_size(), 2);
  EXPECT_TRUE(reply.interfaces(1).carrier());

  v1::ConfigureLinkReply again;
  status = node.stub->ConfigureLink(Deadline().get(), SparkLink(9000), &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(again.changes(0).changed());
  EXPECT_FALSE(again.applied());
  EXPECT_EQ(node.ToolLog(), "netplan apply\n");

  node.Touch("/.fake-netplan-fail-once");
  status = node.stub->ConfigureLink(Deadline().get(), SparkLink(4200), &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("invalid mtu"));
  EXPECT_THAT(status.error_message(), HasSubstr("restored and re-applied"));
  EXPECT_EQ(node.File(netplan), written);
  EXPECT_EQ(node.ToolLog(), "netplan apply\nnetplan apply\nnetplan apply\n");

  v1::ConfigureLinkRequest missing = SparkLink(9000);
  missing.mutable_interfaces(0)->set_name("enp9s0");
  status = node.stub->ConfigureLink(Deadline().get(), missing, &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("enp9s0"));
}

TEST(NodeSetupIntegration, NfsExportOnTheServerMountOnTheClient) {
  ClusterHarness cluster;
  SetupNode server;
  SetupNode client;
  ASSERT_NO_FATAL_FAILURE(StartSetupNode(cluster, "spark-001", &server));
  ASSERT_NO_FATAL_FAILURE(StartSetupNode(cluster, "spark-002", &client));

  v1::ConfigureNfsRequest share;
  share.set_role(v1::NFS_ROLE_SERVER);
  share.set_export_path("/srv/sparkfleet");
  share.add_export_clients("192.168.100.0/24");
  v1::ConfigureNfsReply reply;
  grpc::Status status = server.stub->ConfigureNfs(Deadline().get(), share, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(reply.active());
  EXPECT_EQ(server.ToolLog(), "exportfs -ra\n");
  EXPECT_THAT(server.File("/etc/exports.d/sparkfleet.exports"),
              HasSubstr("\n/srv/sparkfleet 192.168.100.0/24(rw,sync,no_subtree_check)\n"));
  EXPECT_TRUE(std::filesystem::is_directory(server.agent->root + "/srv/sparkfleet"));

  std::ofstream(client.agent->root + "/etc/fstab") << "UUID=abc / ext4 defaults 0 1\n";
  v1::ConfigureNfsRequest mount;
  mount.set_role(v1::NFS_ROLE_CLIENT);
  mount.set_server_address("192.168.100.10");
  mount.set_remote_path("/srv/sparkfleet");
  mount.set_mount_point("/srv/sparkfleet");
  client.Touch("/.fake-mount-fail");
  status = client.stub->ConfigureNfs(Deadline().get(), mount, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("Connection timed out"));
  EXPECT_EQ(client.File("/etc/fstab"), "UUID=abc / ext4 defaults 0 1\n");

  std::filesystem::remove(client.agent->root + "/.fake-mount-fail");
  status = client.stub->ConfigureNfs(Deadline().get(), mount, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(reply.active());
  EXPECT_EQ(client.File("/etc/fstab"),
            "UUID=abc / ext4 defaults 0 1\n# BEGIN sparkfleet\n192.168.100.10:/srv/sparkfleet "
            "/srv/sparkfleet nfs defaults,_netdev 0 0\n# END sparkfleet\n");
  EXPECT_EQ(client.ToolLog(), "mount /srv/sparkfleet\nmount /srv/sparkfleet\n");

  // Second runs: nothing changes, nothing runs.
  status = server.stub->ConfigureNfs(Deadline().get(), share, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reply.changes(0).changed());
  EXPECT_TRUE(reply.active());
  status = client.stub->ConfigureNfs(Deadline().get(), mount, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(reply.changes(0).changed());
  EXPECT_TRUE(reply.active());
  EXPECT_EQ(server.ToolLog(), "exportfs -ra\n");
  EXPECT_EQ(client.ToolLog(), "mount /srv/sparkfleet\nmount /srv/sparkfleet\n");
}

}  // namespace
}  // namespace sparkfleet::testing
