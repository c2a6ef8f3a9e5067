#include "node_agent/ops/netplan_link.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::testing::ScriptedProcessRunner;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Argv = std::vector<std::string>;

constexpr char kManagement[] = "192.168.1.101";  // enP7s7 in the DGX Spark fixture

v1::ConfigureLinkRequest SparkLink() {
  v1::ConfigureLinkRequest request;
  // Out of name order on purpose: the file lists them sorted.
  v1::LinkInterface* p1 = request.add_interfaces();
  p1->set_name("enp1s0f1np1");
  p1->add_addresses("192.168.100.10/24");
  p1->set_mtu_bytes(9000);
  v1::LinkInterface* p2 = request.add_interfaces();
  p2->set_name("enP2p1s0f1np1");
  p2->add_addresses("192.168.101.10/24");
  p2->add_addresses("fd00:101::10/64");
  request.set_management_address(kManagement);
  request.set_settle_timeout_ms(5000);
  return request;
}

constexpr char kSparkLinkYaml[] =
    "# Written by sparkfleet (spark-agent, ConfigureLink): the ConnectX-7 direct link.\n"
    "# Edits are overwritten by the next `sparkctl link`; change cluster.yaml instead.\n"
    "network:\n"
    "  version: 2\n"
    "  ethernets:\n"
    "    enP2p1s0f1np1:\n"
    "      dhcp4: false\n"
    "      dhcp6: false\n"
    "      addresses:\n"
    "        - \"192.168.101.10/24\"\n"
    "        - \"fd00:101::10/64\"\n"
    "    enp1s0f1np1:\n"
    "      dhcp4: false\n"
    "      dhcp6: false\n"
    "      addresses:\n"
    "        - \"192.168.100.10/24\"\n"
    "      mtu: 9000\n";

TEST(NetplanLinkRender, SortedInterfacesQuotedAddressesMtuOnlyWhenSet) {
  EXPECT_EQ(RenderNetplanLink(SparkLink()), kSparkLinkYaml);
}

TEST(NetplanLinkValidation, NamesTheFieldThatIsWrong) {
  EXPECT_TRUE(ValidateConfigureLinkRequest(SparkLink()).ok());
  auto refused = [](const v1::ConfigureLinkRequest& request, const std::string& field) {
    absl::Status s = ValidateConfigureLinkRequest(request);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(s.message(), HasSubstr(field));
  };
  v1::ConfigureLinkRequest r = SparkLink();
  r.mutable_interfaces(1)->set_addresses(0, "192.168.101.10");
  refused(r, "interfaces[1].addresses[0]");
  r = SparkLink();
  r.mutable_interfaces(0)->set_addresses(0, "192.168.100.10/33");
  refused(r, "interfaces[0].addresses[0]");
  r = SparkLink();
  r.mutable_interfaces(0)->set_mtu_bytes(100);
  refused(r, "interfaces[0].mtu_bytes");
  r = SparkLink();
  r.mutable_interfaces(0)->set_mtu_bytes(9217);
  refused(r, "interfaces[0].mtu_bytes");
  r = SparkLink();
  r.mutable_interfaces(1)->set_name("enp1s0f1np1");
  refused(r, "listed twice");
  r = SparkLink();
  r.mutable_interfaces(0)->set_name("eth0/../x");
  refused(r, "interfaces[0].name");
  r = SparkLink();
  r.set_management_address("spark-001");
  refused(r, "management_address");
  refused(v1::ConfigureLinkRequest(), "at least one");
}

class ConfigureLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-link-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    root_ = pattern;
    std::filesystem::copy(
        std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark", root_,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    std::filesystem::create_directories(root_ + "/etc/netplan");
    env_ = NewRootedEnv(root_);
    wait_.now = [this] { return now_; };
    wait_.sleep = [this](absl::Duration d) {
      now_ += d;
      ++sleeps_;
      if (on_sleep_) on_sleep_(sleeps_);
    };
    runner_.Script("netplan", [this](const Argv&, const ProcessOptions&) {
      ++applies_;
      if (on_apply_) return on_apply_(applies_);
      ProcessResult ok;
      ok.exit_code = 0;
      return ok;
    });
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void WriteSys(const std::string& netdev, const std::string& file, const std::string& value) {
    std::ofstream(absl::StrCat(root_, "/sys/class/net/", netdev, "/", file)) << value << "\n";
  }
  // The fixture's stand-in for getifaddrs(), without the management address.
  void DropManagementAddress(bool dropped) {
    std::string list = "enP7s7 fe80::2e0:4cff:fe68:701/64\n";
    if (!dropped) absl::StrAppend(&list, "enP7s7 ", kManagement, "/24\n");
    std::ofstream(root_ + "/etc/sparkfleet/fixture-addresses") << list;
  }
  absl::StatusOr<v1::ConfigureLinkReply> Configure(const v1::ConfigureLinkRequest& request) {
    return ConfigureLink(*env_, runner_, request, wait_);
  }
  std::string Netplan() { return env_->ReadFile(kNetplanLinkPath).value_or("<missing>"); }

  std::string root_;
  std::unique_ptr<Env> env_;
  ScriptedProcessRunner runner_;
  LinkWait wait_;
  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
  int sleeps_ = 0;
  int applies_ = 0;
  std::function<void(int)> on_sleep_;
  std::function<ProcessResult(int)> on_apply_;
};

ProcessResult Failed(const std::string& stderr_text) {
  ProcessResult result;
  result.exit_code = 1;
  result.stderr_text = stderr_text;
  return result;
}

TEST_F(ConfigureLinkTest, WritesMode0600AppliesOnceAndReportsTheLink) {
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(SparkLink());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(Netplan(), kSparkLinkYaml);
  EXPECT_EQ(env_->Stat(kNetplanLinkPath)->mode & 07777, 0600u);
  EXPECT_THAT(runner_.calls(), ElementsAre(Argv{"netplan", "apply"}));
  EXPECT_TRUE(reply->applied());
  ASSERT_EQ(reply->changes_size(), 1);
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_EQ(reply->changes(0).path(), kNetplanLinkPath);
  ASSERT_EQ(reply->interfaces_size(), 2);
  EXPECT_EQ(reply->interfaces(0).name(), "enp1s0f1np1");
  EXPECT_TRUE(reply->interfaces(0).carrier());
  // Settled means seen settled, then still settled a second later.
  EXPECT_GE(now_ - absl::FromUnixSeconds(1'000'000), absl::Seconds(1));
}

TEST_F(ConfigureLinkTest, ReRunChangesNothingAndRunsNothing) {
  ASSERT_TRUE(Configure(SparkLink()).ok());
  const uint64_t inode = env_->Stat(kNetplanLinkPath)->inode;
  absl::StatusOr<v1::ConfigureLinkReply> again = Configure(SparkLink());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changes(0).changed());
  EXPECT_FALSE(again->applied());
  EXPECT_EQ(runner_.calls().size(), 1u);
  EXPECT_EQ(env_->Stat(kNetplanLinkPath)->inode, inode);
  EXPECT_EQ(again->interfaces_size(), 2);
}

TEST_F(ConfigureLinkTest, DryRunShowsTheFileAndRunsNothing) {
  v1::ConfigureLinkRequest request = SparkLink();
  request.set_dry_run(true);
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr("+      mtu: 9000\n"));
  EXPECT_FALSE(reply->applied());
  EXPECT_TRUE(runner_.calls().empty());
  EXPECT_FALSE(env_->Exists(kNetplanLinkPath));
}

TEST_F(ConfigureLinkTest, FailedApplyRestoresThePreviousFileAndAppliesItAgain) {
  const std::string previous = "network:\n  version: 2\n  # hand-made, odd  spacing\t\n";
  WriteOptions options;
  options.mode = 0600;
  ASSERT_TRUE(env_->WriteFileAtomic(kNetplanLinkPath, previous, options).ok());
  on_apply_ = [](int n) {
    if (n == 1) return Failed("Error in network definition: enp1s0f1np1: bad mtu\n");
    ProcessResult ok;
    ok.exit_code = 0;
    return ok;
  };
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(SparkLink());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("`netplan apply` failed (exit status 1)"));
  EXPECT_THAT(reply.status().message(), HasSubstr("bad mtu"));
  EXPECT_THAT(reply.status().message(), HasSubstr("previous /etc/netplan/40-sparkfleet.yaml was "
                                                  "restored and re-applied"));
  EXPECT_THAT(reply.status().message(), HasSubstr("management address 192.168.1.101 is back"));
  EXPECT_EQ(Netplan(), previous);
  EXPECT_EQ(env_->Stat(kNetplanLinkPath)->mode & 07777, 0600u);
  EXPECT_THAT(runner_.calls(), ElementsAre(Argv{"netplan", "apply"}, Argv{"netplan", "apply"}));
}

TEST_F(ConfigureLinkTest, NoCarrierUntilTheTimeoutRemovesOurFileAndReapplies) {
  on_apply_ = [this](int n) {
    if (n == 1) WriteSys("enP2p1s0f1np1", "carrier", "0");  // cable pulled on one half
    ProcessResult ok;
    ok.exit_code = 0;
    return ok;
  };
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(SparkLink());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(),
              HasSubstr("after waiting 5s, enP2p1s0f1np1 has no link (carrier 0, operstate up)"));
  EXPECT_THAT(reply.status().message(), HasSubstr("removed (there was none before)"));
  EXPECT_FALSE(env_->Exists(kNetplanLinkPath));
  EXPECT_EQ(applies_, 2);
  EXPECT_GE(sleeps_, 20);  // polled about every 200 ms, on the fake clock
}

TEST_F(ConfigureLinkTest, WaitsWhileTheManagementAddressIsGoneForAWhile) {
  on_apply_ = [this](int) {
    DropManagementAddress(true);
    ProcessResult ok;
    ok.exit_code = 0;
    return ok;
  };
  on_sleep_ = [this](int n) {
    if (n == 5) DropManagementAddress(false);  // back after about a second
  };
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(SparkLink());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->applied());
  EXPECT_GE(sleeps_, 10);  // 5 polls without it, then a stable second with it
}

TEST_F(ConfigureLinkTest, ManagementAddressThatNeverComesBackIsUnavailable) {
  on_apply_ = [this](int n) {
    DropManagementAddress(n == 1);  // the rollback brings it back
    ProcessResult ok;
    ok.exit_code = 0;
    return ok;
  };
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(SparkLink());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(),
              HasSubstr("management address 192.168.1.101 is not assigned to any interface"));
  EXPECT_THAT(reply.status().message(), HasSubstr("management address 192.168.1.101 is back"));
  EXPECT_FALSE(env_->Exists(kNetplanLinkPath));
}

TEST_F(ConfigureLinkTest, CancelledWaitRollsBack) {
  on_apply_ = [this](int n) {
    if (n == 1) WriteSys("enp1s0f1np1", "operstate", "down");
    ProcessResult ok;
    ok.exit_code = 0;
    return ok;
  };
  wait_.cancelled = [this] { return sleeps_ >= 2; };
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(SparkLink());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(reply.status().message(), HasSubstr("cancelled while waiting for the link"));
  EXPECT_THAT(reply.status().message(), HasSubstr("was removed (there was none before) and "
                                                  "re-applied"));
  EXPECT_FALSE(env_->Exists(kNetplanLinkPath));
  EXPECT_EQ(applies_, 2);
}

TEST_F(ConfigureLinkTest, MissingInterfaceIsNamedWithTheConnectX7OnesThatExist) {
  v1::ConfigureLinkRequest request = SparkLink();
  request.mutable_interfaces(0)->set_name("enp9s0f1np1");
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(),
              HasSubstr("no such interface on this node (/sys/class/net): enp9s0f1np1; its "
                        "ConnectX-7 interfaces are enP2p1s0f0np0, enP2p1s0f1np1, enp1s0f0np0, "
                        "enp1s0f1np1"));
  EXPECT_TRUE(runner_.calls().empty());
  EXPECT_FALSE(env_->Exists(kNetplanLinkPath));
}

TEST_F(ConfigureLinkTest, RefusesToTakeTheManagementAddressAway) {
  v1::ConfigureLinkRequest request = SparkLink();
  v1::LinkInterface* management = request.add_interfaces();
  management->set_name("enP7s7");
  management->add_addresses("10.0.0.5/24");
  absl::StatusOr<v1::ConfigureLinkReply> reply = Configure(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("192.168.1.101 is on enP7s7"));
  EXPECT_TRUE(runner_.calls().empty());
}

TEST_F(ConfigureLinkTest, WithoutNetplanNothingIsWritten) {
  ScriptedProcessRunner no_netplan;
  absl::StatusOr<v1::ConfigureLinkReply> reply =
      ConfigureLink(*env_, no_netplan, SparkLink(), wait_);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("install netplan.io"));
  EXPECT_FALSE(env_->Exists(kNetplanLinkPath));
}

}  // namespace
}  // namespace sparkfleet
