#include "node_agent/probe/sysfs_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sparkfleet {
namespace {

using ::testing::DoubleEq;
using ::testing::HasSubstr;

// Expects `result` to be INVALID_ARGUMENT with a message quoting `text`.
template <typename T>
void ExpectRejectedQuoting(const absl::StatusOr<T>& result, const std::string& text) {
  ASSERT_FALSE(result.ok()) << "accepted \"" << text << "\"";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("\"" + text + "\""));
}

TEST(ParseRdmaRate, ReadsGigabitsFromTheKernelsRateLine) {
  absl::StatusOr<double> hdr = ParseRdmaRate("200 Gb/sec (4X HDR)");
  ASSERT_TRUE(hdr.ok()) << hdr.status();
  EXPECT_THAT(*hdr, DoubleEq(200));

  absl::StatusOr<double> sdr = ParseRdmaRate("2.5 Gb/sec (1X SDR)\n");
  ASSERT_TRUE(sdr.ok()) << sdr.status();
  EXPECT_THAT(*sdr, DoubleEq(2.5));
}

TEST(ParseRdmaRate, RejectsGarbledRatesQuotingThem) {
  ExpectRejectedQuoting(ParseRdmaRate("fast"), "fast");
  ExpectRejectedQuoting(ParseRdmaRate("200 Mb/sec (4X HDR)"), "200 Mb/sec (4X HDR)");
  ExpectRejectedQuoting(ParseRdmaRate("-5 Gb/sec"), "-5 Gb/sec");
  ExpectRejectedQuoting(ParseRdmaRate(""), "");
}

TEST(ParseRdmaPortState, ReadsTheNumberedState) {
  EXPECT_EQ(ParseRdmaPortState("4: ACTIVE").value(), v1::RDMA_PORT_STATE_ACTIVE);
  EXPECT_EQ(ParseRdmaPortState("1: DOWN\n").value(), v1::RDMA_PORT_STATE_DOWN);
  EXPECT_EQ(ParseRdmaPortState("2: INIT").value(), v1::RDMA_PORT_STATE_INIT);
  EXPECT_EQ(ParseRdmaPortState("3: ARMED").value(), v1::RDMA_PORT_STATE_ARMED);
  EXPECT_EQ(ParseRdmaPortState("5: ACTIVE_DEFER").value(), v1::RDMA_PORT_STATE_ACTIVE_DEFER);
}

TEST(ParseRdmaPortState, RejectsUnknownNumbersAndMismatchedWords) {
  ExpectRejectedQuoting(ParseRdmaPortState("9: BOGUS"), "9: BOGUS");
  ExpectRejectedQuoting(ParseRdmaPortState("4: DOWN"), "4: DOWN");
  ExpectRejectedQuoting(ParseRdmaPortState("ACTIVE"), "ACTIVE");
  ExpectRejectedQuoting(ParseRdmaPortState("0: NOP"), "0: NOP");
}

TEST(ParseRdmaPhysState, ReadsTheNumberedPhysicalState) {
  EXPECT_EQ(ParseRdmaPhysState("5: LinkUp").value(), v1::RDMA_PHYS_STATE_LINK_UP);
  EXPECT_EQ(ParseRdmaPhysState("3: Disabled").value(), v1::RDMA_PHYS_STATE_DISABLED);
  EXPECT_EQ(ParseRdmaPhysState("2: Polling").value(), v1::RDMA_PHYS_STATE_POLLING);
  EXPECT_EQ(ParseRdmaPhysState("7: Phy Test").value(), v1::RDMA_PHYS_STATE_PHY_TEST);
}

TEST(ParseRdmaPhysState, RejectsGarbledStatesQuotingThem) {
  ExpectRejectedQuoting(ParseRdmaPhysState("LinkUp"), "LinkUp");
  ExpectRejectedQuoting(ParseRdmaPhysState("5: Disabled"), "5: Disabled");
  ExpectRejectedQuoting(ParseRdmaPhysState("42: LinkUp"), "42: LinkUp");
}

TEST(ParseRdmaLinkLayer, TellsInfiniBandFromRoce) {
  EXPECT_EQ(ParseRdmaLinkLayer("InfiniBand").value(), v1::RDMA_LINK_LAYER_INFINIBAND);
  EXPECT_EQ(ParseRdmaLinkLayer("Ethernet\n").value(), v1::RDMA_LINK_LAYER_ETHERNET);
  ExpectRejectedQuoting(ParseRdmaLinkLayer("Token Ring"), "Token Ring");
}

TEST(ParseGidType, TellsRoceVersions) {
  EXPECT_EQ(ParseGidType("RoCE v2").value(), v1::GID_TYPE_ROCE_V2);
  EXPECT_EQ(ParseGidType("IB/RoCE v1\n").value(), v1::GID_TYPE_IB_ROCE_V1);
  ExpectRejectedQuoting(ParseGidType("RoCE v3"), "RoCE v3");
}

TEST(ParseGid, ReadsALinkLocalGidWithoutAnIpv4Address) {
  absl::StatusOr<Gid> gid = ParseGid("fe80:0000:0000:0000:ba3f:d2ff:fe5a:0101\n");
  ASSERT_TRUE(gid.ok()) << gid.status();
  EXPECT_EQ(gid->text, "fe80:0000:0000:0000:ba3f:d2ff:fe5a:0101");
  EXPECT_FALSE(gid->empty);
  EXPECT_EQ(gid->ipv4_address, "");
}

TEST(ParseGid, ReadsTheIpv4AddressOfAnIpv4MappedGid) {
  absl::StatusOr<Gid> gid = ParseGid("0000:0000:0000:0000:0000:ffff:c0a8:640a");
  ASSERT_TRUE(gid.ok()) << gid.status();
  EXPECT_EQ(gid->text, "0000:0000:0000:0000:0000:ffff:c0a8:640a");
  EXPECT_FALSE(gid->empty);
  EXPECT_EQ(gid->ipv4_address, "192.168.100.10");
}

TEST(ParseGid, AllZeroIsAnEmptySlot) {
  absl::StatusOr<Gid> gid = ParseGid("0000:0000:0000:0000:0000:0000:0000:0000");
  ASSERT_TRUE(gid.ok()) << gid.status();
  EXPECT_TRUE(gid->empty);
  EXPECT_EQ(gid->ipv4_address, "");
}

TEST(ParseGid, RejectsGarbledGidsQuotingThem) {
  ExpectRejectedQuoting(ParseGid("zz"), "zz");
  ExpectRejectedQuoting(ParseGid("fe80::1"), "fe80::1");
  ExpectRejectedQuoting(ParseGid("fe80:0000:0000:0000:ba3f:d2ff:fe5a:010g"),
                        "fe80:0000:0000:0000:ba3f:d2ff:fe5a:010g");
  ExpectRejectedQuoting(ParseGid("fe80:0000:0000:0000:ba3f:d2ff:fe5a"),
                        "fe80:0000:0000:0000:ba3f:d2ff:fe5a");
}

TEST(ParseOperState, ReadsEveryKernelOperState) {
  EXPECT_EQ(ParseOperState("up\n").value(), v1::NIC_OPER_STATE_UP);
  EXPECT_EQ(ParseOperState("down").value(), v1::NIC_OPER_STATE_DOWN);
  EXPECT_EQ(ParseOperState("unknown").value(), v1::NIC_OPER_STATE_UNKNOWN);
  EXPECT_EQ(ParseOperState("notpresent").value(), v1::NIC_OPER_STATE_NOT_PRESENT);
  EXPECT_EQ(ParseOperState("lowerlayerdown").value(), v1::NIC_OPER_STATE_LOWER_LAYER_DOWN);
  EXPECT_EQ(ParseOperState("testing").value(), v1::NIC_OPER_STATE_TESTING);
  EXPECT_EQ(ParseOperState("dormant").value(), v1::NIC_OPER_STATE_DORMANT);
  ExpectRejectedQuoting(ParseOperState("sideways"), "sideways");
}

TEST(ParsePcieLinkSpeed, ReadsGigatransfersAndUnknown) {
  EXPECT_THAT(ParsePcieLinkSpeed("32.0 GT/s PCIe").value(), DoubleEq(32.0));
  EXPECT_THAT(ParsePcieLinkSpeed("8 GT/s\n").value(), DoubleEq(8.0));
  EXPECT_THAT(ParsePcieLinkSpeed("2.5 GT/s PCIe").value(), DoubleEq(2.5));
  EXPECT_THAT(ParsePcieLinkSpeed("Unknown").value(), DoubleEq(0.0));
}

TEST(ParsePcieLinkSpeed, RejectsGarbledSpeedsQuotingThem) {
  ExpectRejectedQuoting(ParsePcieLinkSpeed("fast"), "fast");
  ExpectRejectedQuoting(ParsePcieLinkSpeed("32.0 Gb/s"), "32.0 Gb/s");
}

TEST(IsPciAddress, AcceptsOnlyDomainBusDeviceFunction) {
  EXPECT_TRUE(IsPciAddress("0002:01:00.1"));
  EXPECT_TRUE(IsPciAddress("000f:01:00.0"));
  EXPECT_FALSE(IsPciAddress("01:00.0"));
  EXPECT_FALSE(IsPciAddress("0000:01:00"));
  EXPECT_FALSE(IsPciAddress("virtio0"));
  EXPECT_FALSE(IsPciAddress("pci0000:00"));
  EXPECT_FALSE(IsPciAddress("000g:01:00.0"));
}

TEST(CountCpuList, CountsRangesAndSingleCpus) {
  EXPECT_EQ(CountCpuList("0-19").value(), 20);
  EXPECT_EQ(CountCpuList("0-55,112-167\n").value(), 112);
  EXPECT_EQ(CountCpuList("0-9,20-29").value(), 20);
  EXPECT_EQ(CountCpuList("3").value(), 1);
  EXPECT_EQ(CountCpuList("").value(), 0);
}

TEST(CountCpuList, RejectsGarbageQuotingIt) {
  ExpectRejectedQuoting(CountCpuList("a-b"), "a-b");
  ExpectRejectedQuoting(CountCpuList("19-0"), "19-0");
  ExpectRejectedQuoting(CountCpuList("0-19,x"), "0-19,x");
}

// fuzz_sysfs_text: counting "0-2147483647" overflowed int (undefined behaviour).
TEST(CountCpuList, FuzzRegressionCountOverflowIsAnError) {
  ExpectRejectedQuoting(CountCpuList("0-2147483647"), "0-2147483647");
  ExpectRejectedQuoting(CountCpuList("0-2147483646,0-2147483646"), "0-2147483646,0-2147483646");
  absl::StatusOr<int> most = CountCpuList("1-2147483647");
  ASSERT_TRUE(most.ok()) << most.status();
  EXPECT_EQ(*most, 2147483647);
}

TEST(ParseInterfaceAddressLine, ReadsIpv4AndIpv6WithPrefix) {
  absl::StatusOr<InterfaceAddress> v4 = ParseInterfaceAddressLine("enp1s0f1np1 192.168.100.10/24");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->interface, "enp1s0f1np1");
  EXPECT_EQ(v4->address.address(), "192.168.100.10");
  EXPECT_EQ(v4->address.prefix_length(), 24u);
  EXPECT_FALSE(v4->address.ipv6());

  absl::StatusOr<InterfaceAddress> v6 =
      ParseInterfaceAddressLine("enp1s0f1np1\tfe80::ba3f:d2ff:fe5a:101/64\n");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->interface, "enp1s0f1np1");
  EXPECT_EQ(v6->address.address(), "fe80::ba3f:d2ff:fe5a:101");
  EXPECT_EQ(v6->address.prefix_length(), 64u);
  EXPECT_TRUE(v6->address.ipv6());
}

TEST(ParseInterfaceAddressLine, RejectsGarbledLinesQuotingThem) {
  ExpectRejectedQuoting(ParseInterfaceAddressLine("enP7s7 192.168.1.300/24"),
                        "enP7s7 192.168.1.300/24");
  ExpectRejectedQuoting(ParseInterfaceAddressLine("enP7s7 192.168.1.101/33"),
                        "enP7s7 192.168.1.101/33");
  ExpectRejectedQuoting(ParseInterfaceAddressLine("lo ::1/129"), "lo ::1/129");
  ExpectRejectedQuoting(ParseInterfaceAddressLine("enP7s7 192.168.1.101"), "enP7s7 192.168.1.101");
  ExpectRejectedQuoting(ParseInterfaceAddressLine("enP7s7"), "enP7s7");
}

// fuzz_sysfs_text: the address "::\0\xff" read as "::" (inet_pton stops at the NUL), and
// the bytes after it reached the probe reply, which then did not parse on the wire.
TEST(ParseInterfaceAddressLine, FuzzRegressionNulInAddress) {
  const std::string line("n ::\0\xff/4", 8);
  absl::StatusOr<InterfaceAddress> address = ParseInterfaceAddressLine(line);
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sparkfleet
