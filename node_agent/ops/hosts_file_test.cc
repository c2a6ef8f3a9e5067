#include "node_agent/ops/hosts_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

v1::ConfigureHostsRequest TwoSparks() {
  v1::ConfigureHostsRequest request;
  v1::HostEntry* a = request.add_entries();
  a->set_address("192.168.1.101");
  a->add_names("spark-001.cluster");
  a->add_names("spark-001");
  v1::HostEntry* b = request.add_entries();
  b->set_address("fd00::102");
  b->add_names("spark-002");
  return request;
}

// The admin's file: comments, tabs and runs of spaces, a blank line, a CRLF line, and
// no newline after the last line.
constexpr char kAdminHosts[] =
    "127.0.0.1\tlocalhost\n"
    "# my own comment   with  spaces \n"
    "\n"
    "10.9.9.9    printer  printer.lan\t\n"
    "::1 ip6-localhost\r\n"
    "192.168.7.7 nas";

TEST(HostsBlockRender, OneTabSeparatedLinePerEntryInRequestOrder) {
  EXPECT_EQ(RenderHostsBlock(TwoSparks()),
            "192.168.1.101\tspark-001.cluster spark-001\nfd00::102\tspark-002\n");
}

TEST(HostsValidation, RefusesBadAddressesNamesAndNamelessEntries) {
  v1::ConfigureHostsRequest request = TwoSparks();
  EXPECT_TRUE(ValidateConfigureHostsRequest(request).ok());

  v1::ConfigureHostsRequest bad_address = request;
  bad_address.mutable_entries(1)->set_address("192.168.1.300");
  absl::Status s = ValidateConfigureHostsRequest(bad_address);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("entries[1].address"));

  v1::ConfigureHostsRequest bad_name = request;
  bad_name.mutable_entries(0)->set_names(1, "spark 001\nevil");
  s = ValidateConfigureHostsRequest(bad_name);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("entries[0].names[1]"));

  v1::ConfigureHostsRequest nameless = request;
  nameless.mutable_entries(1)->clear_names();
  s = ValidateConfigureHostsRequest(nameless);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("entries[1] (fd00::102) has no names"));
}

class ConfigureHostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-hosts-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/etc");
    env_ = NewRootedEnv(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void WriteHosts(const std::string& text, mode_t mode) {
    WriteOptions options;
    options.mode = mode;
    options.backup = false;
    ASSERT_TRUE(env_->WriteFileAtomic("/etc/hosts", text, options).ok());
  }
  std::string Hosts() { return env_->ReadFile("/etc/hosts").value_or("<missing>"); }

  std::string root_;
  std::unique_ptr<Env> env_;
};

TEST_F(ConfigureHostsTest, AdminLinesSurviveByteForByteAroundTheBlock) {
  WriteHosts(kAdminHosts, 0640);
  absl::StatusOr<v1::ConfigureHostsReply> reply = ConfigureHosts(*env_, TwoSparks());
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->changes_size(), 1);
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_EQ(reply->changes(0).path(), "/etc/hosts");
  EXPECT_EQ(reply->changes(0).backup_path(), "/etc/hosts.sparkfleet.bak");
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr("+192.168.1.101\tspark-001.cluster spark-001\n"));
  const std::string block =
      "# BEGIN sparkfleet\n192.168.1.101\tspark-001.cluster spark-001\n"
      "fd00::102\tspark-002\n# END sparkfleet\n";
  EXPECT_EQ(Hosts(), std::string(kAdminHosts) + "\n" + block);
  EXPECT_EQ(env_->Stat("/etc/hosts")->mode & 07777, 0640u);  // the file's own mode kept

  // A changed block is replaced in place; the admin's bytes before and after stay.
  WriteHosts(std::string(kAdminHosts) + "\n" + block + "# after\t the block", 0640);
  v1::ConfigureHostsRequest moved = TwoSparks();
  moved.mutable_entries(1)->set_address("fd00::202");
  ASSERT_TRUE(ConfigureHosts(*env_, moved).ok());
  EXPECT_EQ(Hosts(), std::string(kAdminHosts) +
                         "\n# BEGIN sparkfleet\n192.168.1.101\tspark-001.cluster spark-001\n"
                         "fd00::202\tspark-002\n# END sparkfleet\n# after\t the block");
}

TEST_F(ConfigureHostsTest, ReRunChangesNothingNotEvenTheMtime) {
  WriteHosts(kAdminHosts, 0644);
  ASSERT_TRUE(ConfigureHosts(*env_, TwoSparks()).ok());
  const std::string first = Hosts();
  const int64_t inode = env_->Stat("/etc/hosts")->inode;
  absl::StatusOr<v1::ConfigureHostsReply> again = ConfigureHosts(*env_, TwoSparks());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changes(0).changed());
  EXPECT_TRUE(again->changes(0).diff().empty());
  EXPECT_EQ(Hosts(), first);
  EXPECT_EQ(env_->Stat("/etc/hosts")->inode, static_cast<uint64_t>(inode));
}

TEST_F(ConfigureHostsTest, DryRunShowsTheDiffAndWritesNothing) {
  WriteHosts(kAdminHosts, 0644);
  v1::ConfigureHostsRequest request = TwoSparks();
  request.set_dry_run(true);
  absl::StatusOr<v1::ConfigureHostsReply> reply = ConfigureHosts(*env_, request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr("+# BEGIN sparkfleet\n"));
  EXPECT_TRUE(reply->changes(0).backup_path().empty());
  EXPECT_EQ(Hosts(), kAdminHosts);
  EXPECT_FALSE(env_->Exists("/etc/hosts.sparkfleet.bak"));
}

TEST_F(ConfigureHostsTest, EmptyEntryListRemovesOnlyTheBlock) {
  WriteHosts(std::string("a b\n# BEGIN sparkfleet\n1.2.3.4\tx\n# END sparkfleet\nc d"), 0644);
  ASSERT_TRUE(ConfigureHosts(*env_, v1::ConfigureHostsRequest()).ok());
  EXPECT_EQ(Hosts(), "a b\nc d");
}

TEST_F(ConfigureHostsTest, MissingFileIsMadeWithMode0644) {
  absl::StatusOr<v1::ConfigureHostsReply> reply = ConfigureHosts(*env_, TwoSparks());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_THAT(Hosts(), HasSubstr("# BEGIN sparkfleet\n192.168.1.101\t"));
  EXPECT_EQ(env_->Stat("/etc/hosts")->mode & 07777, 0644u);
  // Nothing to write and no file: no change, no empty file.
  ASSERT_TRUE(env_->RemoveFile("/etc/hosts").ok());
  reply = ConfigureHosts(*env_, v1::ConfigureHostsRequest());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(reply->changes(0).changed());
  EXPECT_FALSE(env_->Exists("/etc/hosts"));
}

TEST_F(ConfigureHostsTest, BrokenMarkersAreRefusedAndTheFileLeftAlone) {
  const std::string broken = "a b\n# BEGIN sparkfleet\n1.2.3.4\tx\n";
  WriteHosts(broken, 0644);
  absl::StatusOr<v1::ConfigureHostsReply> reply = ConfigureHosts(*env_, TwoSparks());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("/etc/hosts: line"));
  EXPECT_EQ(Hosts(), broken);
}

}  // namespace
}  // namespace sparkfleet
