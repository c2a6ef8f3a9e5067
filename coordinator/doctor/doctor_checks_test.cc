// Doctor's checks on a clean Spark pair and on pairs with one problem each: hardware,
// the cluster link, versions, unknown facts and the order of findings. The NCCL and
// host checks are in doctor_checks_nccl_host_test.cc.
#include "coordinator/doctor/doctor_checks.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/doctor/spark_pair_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::testing::Describe;
using ::sparkfleet::testing::IsFinding;
using ::sparkfleet::testing::Problems;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using DoctorChecks = ::sparkfleet::testing::SparkPairFixture;

TEST_F(DoctorChecks, CleanSparkPairHasNoFindingButTheVersions) {
  std::vector<Finding> findings = Check();
  EXPECT_THAT(Problems(findings), IsEmpty()) << Describe(findings);
  ASSERT_EQ(findings.size(), 1u) << Describe(findings);
  EXPECT_THAT(findings[0], IsFinding("versions", Severity::kInfo, {"spark-001", "spark-002"}));
  EXPECT_THAT(findings[0].seen, HasSubstr("NCCL 2.27.7-1+cuda13.0"));
  EXPECT_THAT(findings[0].seen, HasSubstr("NVIDIA driver 580.95.05"));
  EXPECT_THAT(findings[0].seen, HasSubstr("NIC firmware 28.44.1036"));
  EXPECT_THAT(findings[0].seen, HasSubstr("CUDA 13.0.1"));
}

TEST_F(DoctorChecks, CleanPairWritesNcclConfAsSparkfleetDoes) {
  // The clean fixture's NCCL settings come from WriteNcclConf's renderer, not the test.
  std::string conf = Read(1, "/etc/nccl.conf");
  EXPECT_THAT(conf, HasSubstr("NCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1\n"));
  EXPECT_THAT(conf, HasSubstr("NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n"));
}

TEST_F(DoctorChecks, NicFunctionBelowItsMaximumWidth) {
  Write(1, "/sys/bus/pci/devices/0000:01:00.1/current_link_width", "2\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("pcie-link-degraded", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen,
              HasSubstr("enp1s0f1np1 (0000:01:00.1) at 32 GT/s x2, max 32 GT/s x4"));
}

TEST_F(DoctorChecks, GpuBelowItsMaximumSpeedIsAWarningAsIdleGpusSlowDown) {
  Write(0, "/sys/bus/pci/devices/000f:01:00.0/current_link_speed", "16.0 GT/s PCIe\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("gpu-pcie-speed-below-max", Severity::kWarning, {"spark-001"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("GPU0"));
  EXPECT_THAT(findings[0].seen, HasSubstr("at 16 GT/s x16, max 32 GT/s x16"));
  EXPECT_THAT(findings[0].fix, HasSubstr("while a job"));
}

TEST_F(DoctorChecks, GpuBelowItsMaximumWidth) {
  Write(1, "/sys/bus/pci/devices/000f:01:00.0/current_link_width", "8\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("pcie-link-degraded", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("GPU0"));
  EXPECT_THAT(findings[0].seen, HasSubstr("at 32 GT/s x8, max 32 GT/s x16"));
}

TEST_F(DoctorChecks, NicFunctionBelowItsMaximumSpeed) {
  Write(0, "/sys/bus/pci/devices/0000:01:00.1/current_link_speed", "16.0 GT/s PCIe\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("pcie-link-degraded", Severity::kError, {"spark-001"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("at 16 GT/s x4, max 32 GT/s x4"));
}

TEST_F(DoctorChecks, LinkMtuBelowTheRoceMinimumOnBothNodes) {
  for (int node : {0, 1}) {
    Write(node, "/sys/class/net/enp1s0f1np1/mtu", "1500\n");
    Write(node, "/sys/class/net/enP2p1s0f1np1/mtu", "1500\n");
  }
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("link-mtu-low", Severity::kError, {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("enp1s0f1np1 MTU 1500 (below 4200 for RoCE)"));
}

TEST_F(DoctorChecks, LinkMtuDifferentBetweenNodes) {
  Write(1, "/sys/class/net/enp1s0f1np1/mtu", "4200\n");
  Write(1, "/sys/class/net/enP2p1s0f1np1/mtu", "4200\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("link-mtu-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-002: enp1s0f1np1 4200, enP2p1s0f1np1 4200"));
}

TEST_F(DoctorChecks, WithoutALinkSectionTheCabledInterfacesAreChecked) {
  config_.link = LinkSettings();
  Write(1, "/sys/class/net/enP2p1s0f1np1/mtu", "1500\n");
  Write(1, "/sys/class/net/enp1s0f0np0/mtu", "1500\n");  // not cabled: not the link
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("link-mtu-low", Severity::kError, {"spark-002"}),
                                    IsFinding("link-mtu-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, Not(HasSubstr("enp1s0f0np0")));
}

TEST_F(DoctorChecks, LinkMtuNotPassingEndToEnd) {
  DoctorInput input = Input();
  input.nodes[0].mtu_probes[1].passed = false;
  input.nodes[0].mtu_probes[1].detail = "Frag needed and DF set (mtu = 1500)";
  std::vector<Finding> findings = Problems(RunDoctorChecks(input));
  ASSERT_THAT(findings, ElementsAre(IsFinding("link-mtu-blocked", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("enP2p1s0f1np1 MTU 9000 to spark-002 (192.168.101.11)"));
  EXPECT_THAT(findings[0].seen, HasSubstr("8972-byte"));
}

TEST_F(DoctorChecks, CabledPortWithOneHalfDown) {
  Write(1, "/sys/class/infiniband/roceP2p1s0f1/ports/1/state", "1: DOWN\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("port-halves-differ", Severity::kError, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("port p1: rocep1s0f1 ACTIVE, roceP2p1s0f1 DOWN"));
}

v1::CheckResult Bandwidth(v1::ValidateTest test, const std::string& address, double gbps) {
  v1::CheckResult check;
  check.set_test(test);
  check.set_source("spark-001");
  check.set_target("spark-002");
  check.set_target_address(address);
  check.set_verdict(v1::CHECK_VERDICT_FAIL);
  check.mutable_bandwidth()->set_received_bps(gbps * 1e9);
  return check;
}

TEST_F(DoctorChecks, LastRdmaBandwidthInTheStaleLinkRange) {
  DoctorInput input = Input();
  input.last_bandwidth = {Bandwidth(v1::VALIDATE_TEST_RDMA, "192.168.100.11", 18.2)};
  std::vector<Finding> findings = Problems(RunDoctorChecks(input));
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("stale-link", Severity::kError, {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-001 -> spark-002 RDMA: 18.2 Gb/s"));
  EXPECT_THAT(findings[0].fix, HasSubstr("reboot both nodes"));
}

TEST_F(DoctorChecks, StaleRangeCountsOnlyOverTheLink) {
  DoctorInput input = Input();
  input.last_bandwidth = {
      Bandwidth(v1::VALIDATE_TEST_BANDWIDTH, "192.168.1.102", 9.4),     // management 10GbE
      Bandwidth(v1::VALIDATE_TEST_RDMA, "192.168.100.11", 189.9),       // healthy port
      Bandwidth(v1::VALIDATE_TEST_BANDWIDTH, "192.168.101.11", 60.0)};  // slow, not stale
  EXPECT_THAT(Problems(RunDoctorChecks(input)), IsEmpty());
  input.last_bandwidth = {Bandwidth(v1::VALIDATE_TEST_BANDWIDTH, "192.168.101.11", 12.0)};
  EXPECT_THAT(Problems(RunDoctorChecks(input)),
              ElementsAre(IsFinding("stale-link", Severity::kError, {"spark-001", "spark-002"})));
}

TEST_F(DoctorChecks, NvidiaDriverDiffers) {
  Replace(1, "/proc/driver/nvidia/version", "580.95.05", "580.65.06");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("driver-version-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-001: 580.95.05; spark-002: 580.65.06"));
}

TEST_F(DoctorChecks, CudaDiffers) {
  cuda_[1] = "12.9";
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("cuda-version-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
}

TEST_F(DoctorChecks, NcclDiffers) {
  SetNcclPackage(1, "2.28.3-1+cuda13.0");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("nccl-version-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-002: 2.28.3-1+cuda13.0"));
}

TEST_F(DoctorChecks, KernelDiffers) {
  Write(1, "/proc/sys/kernel/osrelease", "6.14.0-1013-nvidia\n");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("kernel-version-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
}

TEST_F(DoctorChecks, NicFirmwareDiffers) {
  for (const char* device : {"rocep1s0f0", "rocep1s0f1", "roceP2p1s0f0", "roceP2p1s0f1"}) {
    Write(1, absl::StrCat("/sys/class/infiniband/", device, "/fw_ver"), "28.45.1020\n");
  }
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("nic-firmware-mismatch", Severity::kError,
                                              {"spark-001", "spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("spark-002: 28.45.1020"));
}

TEST_F(DoctorChecks, NcclOlderThan2273OnGb10) {
  SetNcclPackage(0, "2.26.2-1+cuda12.9");
  SetNcclPackage(1, "2.26.2-1+cuda12.9");
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings,
              ElementsAre(IsFinding("nccl-too-old", Severity::kError, {"spark-001", "spark-002"})))
      << Describe(findings);
}

TEST_F(DoctorChecks, NcclVersionsCompareByTheirNumber) {
  DoctorInput input = Input();
  // The same NCCL as dpkg and as the library report it.
  for (v1::InstalledComponent& component : *input.nodes[1].info->mutable_components()) {
    if (component.name() == "nccl") component.set_version("2.27.7");
  }
  EXPECT_THAT(Problems(RunDoctorChecks(input)), IsEmpty());
}

TEST_F(DoctorChecks, UnansweredRpcIsAnUnknownNeverAnError) {
  DoctorInput input = Input();
  input.nodes[1].facts.reset();
  input.nodes[1].unknown["GetDoctorFacts"] = "DEADLINE_EXCEEDED: no answer in 10s";
  input.nodes[0].probe.reset();
  std::vector<Finding> findings = Problems(RunDoctorChecks(input));
  ASSERT_THAT(findings, ElementsAre(IsFinding("unknown", Severity::kInfo, {"spark-001"}),
                                    IsFinding("unknown", Severity::kInfo, {"spark-002"})))
      << Describe(findings);
  EXPECT_EQ(findings[0].seen, "Probe: spark-001: not gathered");
  EXPECT_EQ(findings[1].seen, "GetDoctorFacts: spark-002: DEADLINE_EXCEEDED: no answer in 10s");
}

TEST_F(DoctorChecks, AgentThatAnsweredNothingIsOneUnknown) {
  DoctorInput input = Input();
  DoctorNodeFacts& down = input.nodes[1];
  down.info.reset();
  down.probe.reset();
  down.nccl_conf.reset();
  down.facts.reset();
  down.mtu_probes.clear();
  for (const char* rpc : {"GetInfo", "Probe", "ReadNcclConf", "GetDoctorFacts"}) {
    down.unknown[rpc] = "UNAVAILABLE: agent at 192.168.1.102:50151: connection refused";
  }
  std::vector<Finding> findings = Problems(RunDoctorChecks(input));
  ASSERT_THAT(findings, ElementsAre(IsFinding("unknown", Severity::kInfo, {"spark-002"})))
      << Describe(findings);
  EXPECT_EQ(findings[0].seen,
            "the agent: spark-002: no reply to GetInfo, Probe, ReadNcclConf or GetDoctorFacts "
            "(UNAVAILABLE: agent at 192.168.1.102:50151: connection refused); nothing on this "
            "node was checked");
}

TEST_F(DoctorChecks, UnreadableFactIsAnUnknown) {
  Replace(1, "/proc/meminfo", "CmaTotal:          65536 kB\n", "");
  cuda_[0] = "";
  std::vector<Finding> findings = Problems(Check());
  ASSERT_THAT(findings, ElementsAre(IsFinding("unknown", Severity::kInfo, {"spark-001"}),
                                    IsFinding("unknown", Severity::kInfo, {"spark-002"})))
      << Describe(findings);
  EXPECT_THAT(findings[0].seen, HasSubstr("CUDA version"));
  EXPECT_THAT(findings[1].seen, HasSubstr("CmaTotal"));
}

TEST_F(DoctorChecks, ErrorsThenWarningsThenInfo) {
  Write(1, "/proc/sys/kernel/hostname", "spark-2b\n");   // warning
  Write(0, "/sys/class/net/enp1s0f1np1/mtu", "1500\n");  // errors
  std::vector<Finding> findings = Check();
  std::vector<Severity> severities;
  for (const Finding& finding : findings) severities.push_back(finding.severity);
  EXPECT_THAT(severities,
              ElementsAre(Severity::kError, Severity::kError, Severity::kWarning, Severity::kInfo))
      << Describe(findings);
  EXPECT_STREQ(SeverityName(Severity::kWarning), "warning");
}

}  // namespace
}  // namespace sparkfleet
