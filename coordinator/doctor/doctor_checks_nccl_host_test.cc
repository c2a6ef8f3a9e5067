// Doctor's NCCL configuration and host checks on a Spark pair with one problem each,
// and NCCL's name-list semantics the NCCL checks rely on.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coordinator/doctor/doctor_checks.h"
#include "coordinator/doctor/doctor_checks_internal.h"
#include "coordinator/doctor/spark_pair_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::doctor_internal::NcclNameListSelects;
using ::sparkfleet::doctor_internal::ParseNcclNameList;
using ::sparkfleet::testing::Describe;
using ::sparkfleet::testing::IsFinding;
using ::sparkfleet::testing::Problems;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using DoctorNcclChecks = ::sparkfleet::testing::SparkPairFixture;
using DoctorHostChecks = ::sparkfleet::testing::SparkPairFixture;

constexpr char kSocketIfname[] = "NCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1\n";
constexpr char kIbHca[] = "NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n";

TEST(NcclNameList, PrefixExactAndExcludeAsNcclMatches) {
  auto selects = [](const std::string& value, const std::string& name, int port = -1) {
    return NcclNameListSelects(ParseNcclNameList(value), name, port);
  };
  EXPECT_TRUE(selects("en", "enp1s0f1np1"));
  EXPECT_FALSE(selects("en", "tailscale0"));
  EXPECT_TRUE(selects("=enp1s0f1np1,enP2p1s0f1np1", "enP2p1s0f1np1"));
  EXPECT_FALSE(selects("=enp1s0f1", "enp1s0f1np1"));  // exact: no prefix
  EXPECT_TRUE(selects("^docker,lo", "tailscale0"));
  EXPECT_FALSE(selects("^docker,lo", "lo"));
  EXPECT_FALSE(selects("^=docker0", "docker0"));
  EXPECT_TRUE(selects("^=docker", "docker0"));
  EXPECT_TRUE(selects("rocep1s0f1:1", "rocep1s0f1", 1));
  EXPECT_FALSE(selects("rocep1s0f1:2", "rocep1s0f1", 1));
  EXPECT_TRUE(selects("", "anything"));    // an empty list matches all
  EXPECT_FALSE(selects("^", "anything"));  // ... so excluding it leaves nothing
}

TEST_F(DoctorNcclChecks, SocketIfnameLettingInTailscale) {
  Replace(1, "/etc/nccl.conf", kSocketIfname, "NCCL_SOCKET_IFNAME=^docker,lo\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-socket-ifname-virtual", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("NCCL_SOCKET_IFNAME=^docker,lo (/etc/nccl.conf) lets "
                                          "in tailscale0, veth1234"));
}

TEST_F(DoctorNcclChecks, SocketIfnameUnsetWhileTailscaleExists) {
  Replace(1, "/etc/nccl.conf", kSocketIfname, "");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-socket-ifname-unset", Severity::kWarning, {"spark-002"})))
      << Describe(findings);
  // docker0 and lo are skipped by NCCL's own choice.
  EXPECT_THAT(findings[0].seen, HasSubstr("tailscale0, veth1234 present"));
}

TEST_F(DoctorNcclChecks, IbHcaNamingOneHalfOfTheCabledPort) {
  Replace(1, "/etc/nccl.conf", kIbHca, "NCCL_IB_HCA==rocep1s0f1\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-ib-hca-one-half", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("port p1: rocep1s0f1 but not roceP2p1s0f1"));
}

TEST_F(DoctorNcclChecks, IbHcaPrefixOfOneDomainNamesOneHalfOfEachPort) {
  Replace(0, "/etc/nccl.conf", kIbHca, "NCCL_IB_HCA=rocep1\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-ib-hca-one-half", Severity::kError, {"spark-001"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("port p0: rocep1s0f0 but not roceP2p1s0f0; port p1"));
}

class DoctorGidChecks : public ::sparkfleet::testing::SparkPairFixture {
 protected:
  // Node 1's RoCE v2 IPv4 GIDs move from index 3 to 4, as a new address makes them do.
  void DriftNode1() {
    MoveRoceV2Index(1, "rocep1s0f1", "enp1s0f1np1");
    MoveRoceV2Index(1, "roceP2p1s0f1", "enP2p1s0f1np1");
  }
  void Pin(int node, int index) {
    Write(node, "/etc/nccl.conf",
          absl::StrCat(Read(node, "/etc/nccl.conf"), "NCCL_IB_GID_INDEX=", index, "\n"));
  }

 private:
  void MoveRoceV2Index(int node, const std::string& device, const std::string& netdev) {
    std::string port = absl::StrCat("/sys/class/infiniband/", device, "/ports/1");
    Write(node, port + "/gids/4", Read(node, port + "/gids/3"));
    Write(node, port + "/gid_attrs/types/3", "IB/RoCE v1\n");
    Write(node, port + "/gid_attrs/types/4", "RoCE v2\n");
    Write(node, port + "/gid_attrs/ndevs/4", netdev + "\n");
  }
};

TEST_F(DoctorGidChecks, GidIndexPinnedWhileTheRoceV2IndexDiffers) {
  DriftNode1();
  Pin(0, 3);
  Pin(1, 3);
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-gid-index-pinned", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-001: NCCL_IB_GID_INDEX=3 (/etc/nccl.conf), "
                                          "RoCE v2 index rocep1s0f1 3, roceP2p1s0f1 3"));
  EXPECT_THAT(findings[0].seen, HasSubstr("roceP2p1s0f1 4"));
}

TEST_F(DoctorGidChecks, DriftAloneOrAPinPerNodeIsFine) {
  DriftNode1();
  EXPECT_THAT(Problems(Check()), IsEmpty());
  Pin(0, 3);
  Pin(1, 4);  // nccl.nodes.spark-002.gid_index: 4
  EXPECT_THAT(Problems(Check()), IsEmpty());
}

TEST_F(DoctorNcclChecks, LineNcclWouldMisread) {
  Write(1, "/etc/nccl.conf", Read(1, "/etc/nccl.conf") + "NCCL_IB_TIMEOUT = 22\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-conf-misread", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("/etc/nccl.conf:"));
  EXPECT_THAT(findings[0].seen, HasSubstr("NCCL does not trim"));
}

TEST_F(DoctorNcclChecks, UserFileAndEtcDisagree) {
  Write(1, "/home/spark/.nccl.conf", "NCCL_DEBUG=INFO\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-conf-conflict", Severity::kWarning, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("NCCL_DEBUG: /home/spark/.nccl.conf INFO (used), "
                                          "/etc/nccl.conf WARN"));
}

TEST_F(DoctorNcclChecks, EnvironmentAndEtcDisagree) {
  process_[0].environment = {{"NCCL_DEBUG", "TRACE"}};
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-conf-conflict", Severity::kWarning, {"spark-001"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("environment TRACE (used), /etc/nccl.conf WARN"));
}

TEST_F(DoctorHostChecks, CmaTotalZero) {
  Replace(0, "/proc/meminfo", "CmaTotal:          65536 kB", "CmaTotal:              0 kB");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("cma-zero", Severity::kError, {"spark-001"})))
      << Describe(findings);
}

TEST_F(DoctorHostChecks, ClockNotSynchronized) {
  chrony_[1] = ::sparkfleet::testing::kChronyUnsynchronized;
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("clock-not-synchronized", Severity::kWarning, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("Not synchronised"));
}

TEST_F(DoctorHostChecks, ClockSyncUnknown) {
  chrony_[0] = "";  // neither chronyc nor timedatectl answers
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("clock-sync-unknown", Severity::kWarning, {"spark-001"})))
      << Describe(findings);
}

TEST_F(DoctorHostChecks, ClockSkewOver100MsAllowingForTheRoundTrip) {
  clock_offset_[1] = absl::Milliseconds(250);
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("clock-skew", Severity::kWarning, {"spark-001", "spark-002"})))
      << Describe(findings);
  // 250 ms apart, less the 1 ms half round trip of each call.
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-002's clock is at least 248 ms ahead of "
                                          "spark-001's"));
}

TEST_F(DoctorHostChecks, ClockSkewWithinTheAllowanceIsFine) {
  clock_offset_[0] = absl::Milliseconds(-50);
  clock_offset_[1] = absl::Milliseconds(51);  // 101 ms apart, at least 99 ms
  EXPECT_THAT(Problems(Check()), IsEmpty());
}

TEST_F(DoctorHostChecks, ClusterUserUidDiffers) {
  SetPasswd(1, "spark:x:1001:1001:Spark:/home/spark:/bin/bash");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("cluster-user-id-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen,
              HasSubstr("spark-001: spark uid 1000 gid 1000; spark-002: spark uid 1001 gid 1001"));
}

TEST_F(DoctorHostChecks, ClusterUserMissing) {
  SetPasswd(1, "alice:x:1000:1000:Alice:/home/alice:/bin/bash");
  std::vector<Finding> findings = Problems(Check());
  // Without the user, its ~/.nccl.conf cannot be found: ReadNcclConf is unknown there.
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("cluster-user-missing", Severity::kError, {"spark-002"}),
                          IsFinding("unknown", Severity::kInfo, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[1].seen, HasSubstr("ReadNcclConf"));
}

TEST_F(DoctorHostChecks, HostnameNotTheOneInClusterYaml) {
  Write(1, "/proc/sys/kernel/hostname", "spark-2b\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("hostname-mismatch", Severity::kWarning, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("the node calls itself spark-2b"));
}

TEST_F(DoctorHostChecks, FullyQualifiedHostnameIsTheSameHost) {
  Write(1, "/proc/sys/kernel/hostname", "SPARK-002.lan\n");
  EXPECT_THAT(Problems(Check()), IsEmpty());
}

}  // namespace
}  // namespace sparkfleet
