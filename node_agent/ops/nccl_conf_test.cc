#include "node_agent/ops/nccl_conf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "node_agent/probe/probe.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

v1::ProbeReply ProbeFixture(absl::string_view tree) {
  std::unique_ptr<Env> env =
      NewRootedEnv(absl::StrCat(SPARKFLEET_SOURCE_DIR, "/tests/testdata/sysfs/", tree));
  v1::ProbeRequest request;
  request.set_skip_nvml(true);
  return ProbeHardware(*env, request);
}

const v1::ProbeReply& SparkProbe() {
  static const v1::ProbeReply* probe = new v1::ProbeReply(ProbeFixture("dgx-spark"));
  return *probe;
}

const v1::ProbeReply& VmProbe() {
  static const v1::ProbeReply* probe = new v1::ProbeReply(ProbeFixture("vm"));
  return *probe;
}

v1::WriteNcclConfRequest Request(absl::string_view cluster_address = "192.168.1.101") {
  v1::WriteNcclConfRequest request;
  request.set_cluster_address(std::string(cluster_address));
  return request;
}

std::string Body(const v1::WriteNcclConfRequest& request, const v1::ProbeReply& probe) {
  absl::StatusOr<NcclConfBody> body = RenderNcclConfBody(request, probe);
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? body->text : "";
}

TEST(NcclConfRender, ListsBothSparkRdmaHalvesOfTheCabledPort) {
  std::string body = Body(Request(), SparkProbe());
  EXPECT_THAT(body, HasSubstr("NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n"));
  EXPECT_THAT(body, HasSubstr("NCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1\n"));
}

TEST(NcclConfRender, NeverNamesUncabledHalvesOrVirtualManagementAndWifiInterfaces) {
  std::string body = Body(Request(), SparkProbe());
  for (const char* never : {"rocep1s0f0", "roceP2p1s0f0", "enp1s0f0np0", "enP2p1s0f0np0",
                            "tailscale0", "docker0", "veth1234", "wlP9s9", "enP7s7", "=lo"}) {
    EXPECT_THAT(body, Not(HasSubstr(never))) << body;
  }
}

TEST(NcclConfRender, LeavesGidIndexAutomaticUnlessTheNodeSetsIt) {
  EXPECT_THAT(Body(Request(), SparkProbe()), Not(HasSubstr("NCCL_IB_GID_INDEX")));
  v1::WriteNcclConfRequest pinned = Request();
  (*pinned.mutable_env())["NCCL_IB_GID_INDEX"] = "3";
  EXPECT_THAT(Body(pinned, SparkProbe()), HasSubstr("NCCL_IB_GID_INDEX=3\n"));
}

TEST(NcclConfRender, ConfigEnvPassesThroughAndWinsOverProbedValues) {
  v1::WriteNcclConfRequest request = Request();
  (*request.mutable_env())["NCCL_DEBUG"] = "WARN";
  (*request.mutable_env())["NCCL_IB_HCA"] = "=rocep1s0f1";
  absl::StatusOr<NcclConfBody> body = RenderNcclConfBody(request, SparkProbe());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->text,
            "NCCL_DEBUG=WARN\n"
            "NCCL_IB_HCA==rocep1s0f1\n"
            "NCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1\n");
  ASSERT_EQ(body->settings.size(), 3u);
  EXPECT_EQ(body->settings[1].source(), "cluster.yaml");
  EXPECT_EQ(body->settings[2].source(), "probe");
}

TEST(NcclConfRender, VmFallsBackToTheInterfaceHoldingTheClusterAddress) {
  std::string body = Body(Request("10.0.0.5"), VmProbe());
  EXPECT_EQ(body, "NCCL_SOCKET_IFNAME==ens3\n");
}

TEST(NcclConfRender, SparkWithoutCableUsesTheManagementInterfaceNeverTailscale) {
  v1::ProbeReply uncabled = SparkProbe();
  for (v1::Nic& nic : *uncabled.mutable_nics()) {
    if (nic.rdma_devices_size() > 0) nic.set_carrier(false);
  }
  std::string body = Body(Request("192.168.1.101"), uncabled);
  EXPECT_EQ(body, "NCCL_SOCKET_IFNAME==enP7s7\n");

  absl::StatusOr<NcclConfBody> tailnet = RenderNcclConfBody(Request("100.64.0.1"), uncabled);
  EXPECT_EQ(tailnet.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(tailnet.status().message()),
              HasSubstr("is on tailscale0, which NCCL must not use"));
  EXPECT_THAT(std::string(tailnet.status().message()), HasSubstr("NCCL_SOCKET_IFNAME"));
}

TEST(NcclConfRender, NoUsableInterfaceIsAFailedPreconditionSayingWhatToSet) {
  absl::StatusOr<NcclConfBody> on_lo = RenderNcclConfBody(Request("127.0.0.1"), VmProbe());
  EXPECT_EQ(on_lo.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(on_lo.status().message()), HasSubstr("on lo"));
  absl::StatusOr<NcclConfBody> elsewhere = RenderNcclConfBody(Request("10.9.9.9"), VmProbe());
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(elsewhere.status().message()),
              HasSubstr("holds the cluster address 10.9.9.9"));

  v1::WriteNcclConfRequest explicit_ifname = Request("10.9.9.9");
  (*explicit_ifname.mutable_env())["NCCL_SOCKET_IFNAME"] = "=ens3";
  EXPECT_EQ(Body(explicit_ifname, VmProbe()), "NCCL_SOCKET_IFNAME==ens3\n");
}

TEST(NcclConfRequest, RefusesBadKeysValuesAndPathsWithInvalidArgument) {
  for (const char* key : {"nccl_debug", "NCCL_", "LD_PRELOAD", "NCCL_X Y", "NCCL_CONF_FILE"}) {
    v1::WriteNcclConfRequest request = Request();
    (*request.mutable_env())[key] = "1";
    EXPECT_EQ(ValidateWriteNcclConfRequest(request).code(), absl::StatusCode::kInvalidArgument)
        << key;
  }
  for (const char* value : {"", "a b", "INFO\n", "WARN#x", "=enp1s0f1np1 ", "\tx"}) {
    v1::WriteNcclConfRequest request = Request();
    (*request.mutable_env())["NCCL_DEBUG"] = value;
    absl::Status status = ValidateWriteNcclConfRequest(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << value;
    EXPECT_THAT(std::string(status.message()), StartsWith("env[NCCL_DEBUG]")) << value;
  }
  for (const char* path : {"etc/nccl.conf", "/etc/../root/x", "/tmp/nccl.conf", "/etc//nccl.conf",
                           "/home/.nccl.conf", "/etc/nccl.conf/."}) {
    v1::WriteNcclConfRequest request = Request();
    request.set_conf_path(path);
    EXPECT_EQ(ValidateWriteNcclConfRequest(request).code(), absl::StatusCode::kInvalidArgument)
        << path;
  }
  v1::WriteNcclConfRequest good = Request();
  good.set_conf_path("/home/nvidia/.nccl.conf");
  (*good.mutable_env())["NCCL_DEBUG"] = "INFO";
  EXPECT_TRUE(ValidateWriteNcclConfRequest(good).ok());
  good.set_cluster_address("spark-001");
  EXPECT_EQ(ValidateWriteNcclConfRequest(good).code(), absl::StatusCode::kInvalidArgument);
}

TEST(NcclConfHeader, BodyOfSkipsTheHeaderOnly) {
  NcclConfAuthor author{"spark-001", "0.1.0", absl::FromUnixSeconds(1767225600)};
  std::string header = NcclConfHeader(author);
  EXPECT_THAT(header, HasSubstr("spark-001 at 2026-01-01T00:00:00Z"));
  EXPECT_EQ(NcclConfBodyOf(header + "NCCL_DEBUG=WARN\n"), "NCCL_DEBUG=WARN\n");
  EXPECT_EQ(NcclConfBodyOf("NCCL_DEBUG=WARN\n# note\n"), "NCCL_DEBUG=WARN\n# note\n");
  EXPECT_EQ(NcclConfBodyOf("# only a comment\n"), "");
}

class NcclConfWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-nccl-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/etc");
    env_ = NewRootedEnv(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  absl::StatusOr<v1::WriteNcclConfReply> Write(const v1::WriteNcclConfRequest& request,
                                               int64_t unix_seconds = 1767225600) {
    return WriteNcclConf(*env_, request, SparkProbe(),
                         {"spark-001", "0.1.0", absl::FromUnixSeconds(unix_seconds)});
  }
  std::string Read(absl::string_view path) {
    absl::StatusOr<std::string> text = env_->ReadFile(path);
    return text.ok() ? *text : "<" + text.status().ToString() + ">";
  }

  std::string root_;
  std::unique_ptr<Env> env_;
};

TEST_F(NcclConfWriteTest, FirstWriteCreatesTheFileWithHeaderAndDiffFromDevNull) {
  absl::StatusOr<v1::WriteNcclConfReply> reply = Write(Request());
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->changes_size(), 1);
  const v1::ChangeReport& change = reply->changes(0);
  EXPECT_EQ(change.path(), "/etc/nccl.conf");
  EXPECT_TRUE(change.changed());
  EXPECT_THAT(change.diff(), StartsWith("--- /dev/null\n+++ /etc/nccl.conf\n@@ -0,0 +1,6 @@\n"));
  EXPECT_THAT(change.diff(), HasSubstr("+NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n"));
  EXPECT_EQ(change.backup_path(), "");  // nothing to back up
  std::string text = Read("/etc/nccl.conf");
  EXPECT_EQ(text, reply->content());
  EXPECT_THAT(text, StartsWith("# Written by sparkfleet (spark-agent 0.1.0) on spark-001 at "
                               "2026-01-01T00:00:00Z.\n"));
  ASSERT_EQ(reply->settings_size(), 2);
  EXPECT_EQ(reply->settings(0).key(), "NCCL_IB_HCA");
  EXPECT_EQ(reply->settings(0).line(), 5u);
}

TEST_F(NcclConfWriteTest, SecondRunChangesNothingAndLeavesTheFileUntouched) {
  ASSERT_TRUE(Write(Request()).ok());
  absl::StatusOr<FileInfo> before = env_->Stat("/etc/nccl.conf");
  ASSERT_TRUE(before.ok());
  std::string text = Read("/etc/nccl.conf");
  // An hour later, same settings: the header keeps its first time, nothing is written.
  absl::StatusOr<v1::WriteNcclConfReply> again = Write(Request(), 1767229200);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changes(0).changed());
  EXPECT_EQ(again->changes(0).diff(), "");
  EXPECT_EQ(again->changes(0).backup_path(), "");
  EXPECT_EQ(Read("/etc/nccl.conf"), text);
  EXPECT_EQ(env_->Stat("/etc/nccl.conf")->mtime_ns, before->mtime_ns);
  EXPECT_FALSE(env_->Exists(BackupPathFor("/etc/nccl.conf")));
}

TEST_F(NcclConfWriteTest, ChangedSettingsRewriteKeepingABackupOfTheOldFile) {
  ASSERT_TRUE(Write(Request()).ok());
  std::string old_text = Read("/etc/nccl.conf");
  v1::WriteNcclConfRequest debug = Request();
  (*debug.mutable_env())["NCCL_DEBUG"] = "INFO";
  absl::StatusOr<v1::WriteNcclConfReply> reply = Write(debug, 1767229200);
  ASSERT_TRUE(reply.ok()) << reply.status();
  const v1::ChangeReport& change = reply->changes(0);
  EXPECT_TRUE(change.changed());
  EXPECT_THAT(change.diff(), HasSubstr("\n+NCCL_DEBUG=INFO\n"));
  EXPECT_THAT(change.diff(), HasSubstr("\n+# Written by sparkfleet (spark-agent 0.1.0) on "
                                       "spark-001 at 2026-01-01T01:00:00Z.\n"));
  EXPECT_EQ(change.backup_path(), BackupPathFor("/etc/nccl.conf"));
  EXPECT_EQ(Read(change.backup_path()), old_text);
  EXPECT_THAT(Read("/etc/nccl.conf"), HasSubstr("NCCL_DEBUG=INFO\n"));
}

TEST_F(NcclConfWriteTest, DryRunShowsTheDiffAndWritesNothing) {
  v1::WriteNcclConfRequest request = Request();
  request.set_dry_run(true);
  absl::StatusOr<v1::WriteNcclConfReply> reply = Write(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr("+NCCL_SOCKET_IFNAME==enp1s0f1np1"));
  EXPECT_FALSE(env_->Exists("/etc/nccl.conf"));

  ASSERT_TRUE(Write(Request()).ok());
  std::string text = Read("/etc/nccl.conf");
  (*request.mutable_env())["NCCL_DEBUG"] = "WARN";
  reply = Write(request);
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_EQ(reply->changes(0).backup_path(), "");
  EXPECT_EQ(Read("/etc/nccl.conf"), text);
  EXPECT_FALSE(env_->Exists(BackupPathFor("/etc/nccl.conf")));
}

TEST_F(NcclConfWriteTest, HandWrittenFileIsReplacedAndAMissingDirectoryRefused) {
  ASSERT_TRUE(
      env_->WriteFileAtomic("/etc/nccl.conf", "NCCL_SOCKET_IFNAME = tailscale0\n", {}).ok());
  absl::StatusOr<v1::WriteNcclConfReply> reply = Write(Request());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr("\n-NCCL_SOCKET_IFNAME = tailscale0\n"));
  EXPECT_EQ(Read(reply->changes(0).backup_path()), "NCCL_SOCKET_IFNAME = tailscale0\n");

  v1::WriteNcclConfRequest home = Request();
  home.set_conf_path("/home/nvidia/.nccl.conf");
  absl::StatusOr<v1::WriteNcclConfReply> missing = Write(home);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("/home/nvidia does not exist"));
}

}  // namespace
}  // namespace sparkfleet
