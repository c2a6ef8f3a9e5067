#include "common/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

TEST(ValidateHostname, AcceptsSparkNodeNames) {
  EXPECT_TRUE(ValidateHostname("spark-001").ok());
  EXPECT_TRUE(ValidateHostname("spark-a1b2").ok());
  EXPECT_TRUE(ValidateHostname("dgx-spark.lab.example.com").ok());
  EXPECT_TRUE(ValidateHostname("SPARK1").ok());
  EXPECT_TRUE(ValidateHostname("1node").ok());
}

TEST(ValidateHostname, RejectsBadNamesQuotingThem) {
  for (const char* bad : {"", "spark_001", "-spark", "spark-", "spark..lab", "spark.", ".spark",
                          "spark 001", "spark/001", "spärk"}) {
    absl::Status status = ValidateHostname(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(ValidateHostname("spark_001").message(), HasSubstr("\"spark_001\""));
  EXPECT_THAT(ValidateHostname("spark_001").message(), HasSubstr("is not a valid host name"));
}

TEST(ValidateHostname, EnforcesLabelAndNameLengths) {
  std::string label63(63, 'a');
  EXPECT_TRUE(ValidateHostname(label63).ok());
  EXPECT_FALSE(ValidateHostname(label63 + "a").ok());

  // 4 labels of 63 + 3 dots = 255 bytes: too long; drop two bytes to reach 253.
  std::string name255 = absl::StrCat(label63, ".", label63, ".", label63, ".", label63);
  ASSERT_EQ(name255.size(), 255u);
  EXPECT_FALSE(ValidateHostname(name255).ok());
  EXPECT_TRUE(ValidateHostname(name255.substr(0, 253)).ok());
}

TEST(ValidateIpAddress, AcceptsIpv4AndIpv6Literals) {
  EXPECT_TRUE(ValidateIpAddress("192.168.1.10").ok());
  EXPECT_TRUE(ValidateIpAddress("0.0.0.0").ok());
  EXPECT_TRUE(ValidateIpAddress("::1").ok());
  EXPECT_TRUE(ValidateIpAddress("fd7a:115c:a1e0::1").ok());
  EXPECT_TRUE(IsIpv6("fe80::1"));
  EXPECT_FALSE(IsIpv6("10.0.0.1"));
}

// fuzz_sysfs_text: inet_pton stops at a NUL, so an address followed by a NUL and
// anything (a newline and a second /etc/hosts line) passed as that address.
TEST(ValidateIpAddress, FuzzRegressionRejectsEmbeddedNul) {
  EXPECT_FALSE(ValidateIpAddress(std::string("::\0\xff", 4)).ok());
  EXPECT_FALSE(ValidateIpAddress(std::string("10.0.0.1\0\n10.6.6.6 victim", 25)).ok());
  EXPECT_FALSE(IsLoopbackAddress(std::string("127.0.0.1\0", 10)));
  EXPECT_TRUE(ValidateIpAddress("::").ok());
}

TEST(ValidateIpAddress, RejectsOutOfRangeZonesPrefixesAndNames) {
  for (const char* bad : {"192.168.1.300", "10.0.0", "10.0.0.1/24", "fe80::1%enp1s0f0np0", "[::1]",
                          "spark-001", "", " 10.0.0.1"}) {
    EXPECT_EQ(ValidateIpAddress(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(ValidateIpAddress("192.168.1.300").message(),
              HasSubstr("\"192.168.1.300\" is not an IPv4 or IPv6 address"));
}

TEST(IsLoopbackAddress, KnowsAllOf127And6Loopback) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("127.10.20.30"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_FALSE(IsLoopbackAddress("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("192.168.1.10"));
  EXPECT_FALSE(IsLoopbackAddress("::"));
  EXPECT_FALSE(IsLoopbackAddress("localhost"));
  EXPECT_FALSE(IsLoopbackAddress(""));
}

TEST(ValidateUserName, AcceptsWhatUseraddAccepts) {
  std::string longest(32, 'u');
  for (const char* good : {"nvidia", "_apt", "user-1", "a_b", "machine$", longest.c_str()}) {
    EXPECT_TRUE(ValidateUserName(good).ok()) << good;
  }
}

TEST(ValidateUserName, RejectsUpperCaseLeadingDigitsAndLongNames) {
  std::string long_name(33, 'u');
  for (const char* bad :
       {"", "Nvidia", "1user", "-user", "us er", "a$b", "$", "user@host", long_name.c_str()}) {
    EXPECT_EQ(ValidateUserName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(ValidateUserName("Nvidia").message(), HasSubstr("\"Nvidia\""));
}

TEST(ValidatePort, AcceptsOneTo65535) {
  EXPECT_TRUE(ValidatePort(1).ok());
  EXPECT_TRUE(ValidatePort(50151).ok());
  EXPECT_TRUE(ValidatePort(65535).ok());
  EXPECT_FALSE(ValidatePort(0).ok());
  EXPECT_FALSE(ValidatePort(65536).ok());
  EXPECT_FALSE(ValidatePort(-22).ok());
}

TEST(ParseHostPort, SplitsIpv4AndNames) {
  absl::StatusOr<HostPort> ip = ParseHostPort("192.168.1.10:50151");
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(ip->host, "192.168.1.10");
  EXPECT_EQ(ip->port, 50151);

  absl::StatusOr<HostPort> name = ParseHostPort("spark-001:22");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->host, "spark-001");
  EXPECT_EQ(name->port, 22);
}

TEST(ParseHostPort, Ipv6NeedsBracketsWhichAreStripped) {
  absl::StatusOr<HostPort> v6 = ParseHostPort("[fd7a:115c:a1e0::1]:50151");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "fd7a:115c:a1e0::1");
  EXPECT_EQ(v6->port, 50151);

  absl::Status bare = ParseHostPort("fd7a:115c:a1e0::1:50151").status();
  EXPECT_EQ(bare.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bare.message(), HasSubstr("[addr]:port"));

  EXPECT_THAT(ParseHostPort("[::1:50151").status().message(), HasSubstr("missing ']'"));
  EXPECT_THAT(ParseHostPort("[::1]50151").status().message(), HasSubstr("expected ':'"));
}

TEST(ParseHostPort, DefaultPortFillsAMissingPort) {
  absl::StatusOr<HostPort> name = ParseHostPort("spark-002", 50151);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->host, "spark-002");
  EXPECT_EQ(name->port, 50151);

  absl::StatusOr<HostPort> v6 = ParseHostPort("[::1]", 50151);
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 50151);

  absl::StatusOr<HostPort> given = ParseHostPort("spark-002:9000", 50151);
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given->port, 9000);
}

TEST(ParseHostPort, MissingPortWithoutDefaultIsAnError) {
  absl::Status status = ParseHostPort("spark-002").status();

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"spark-002\" has no :port"));
}

TEST(ParseHostPort, PortZeroOnlyWhenAllowed) {
  absl::Status refused = ParseHostPort("0.0.0.0:0").status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("is not in 1..65535"));

  absl::StatusOr<HostPort> listen = ParseHostPort("0.0.0.0:0", 0, /*allow_port_zero=*/true);
  ASSERT_TRUE(listen.ok()) << listen.status();
  EXPECT_EQ(listen->host, "0.0.0.0");
  EXPECT_EQ(listen->port, 0);
}

TEST(ParseHostPort, RejectsBadPorts) {
  for (const char* bad : {"spark-001:65536", "spark-001:-1", "spark-001:ssh", "spark-001:22x",
                          "spark-001:99999999999", "[::1]:0x50"}) {
    absl::Status status = ParseHostPort(bad).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr(bad));
  }
}

TEST(ParseHostPort, RejectsHostThatIsNeitherAddressNorName) {
  absl::Status status = ParseHostPort("spark_001:22").status();

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("neither an IP address nor a host name"));
  EXPECT_FALSE(ParseHostPort(":22").ok());
}

TEST(FormatHostPort, BracketsIpv6Only) {
  EXPECT_EQ(FormatHostPort("192.168.1.10", 50151), "192.168.1.10:50151");
  EXPECT_EQ(FormatHostPort("spark-001", 22), "spark-001:22");
  EXPECT_EQ(FormatHostPort("fd7a:115c:a1e0::1", 50151), "[fd7a:115c:a1e0::1]:50151");
}

TEST(ValidateInterfaceName, AcceptsSparkAndLocalClusterInterfaces) {
  for (const char* name : {"enp1s0f1np1", "enP2p1s0f1np1", "eth0", "tailscale0", "br-lan.100"}) {
    EXPECT_TRUE(ValidateInterfaceName(name).ok()) << name;
  }
}

TEST(ValidateInterfaceName, RejectsWhatTheKernelRejectsQuotingIt) {
  for (const char* bad : {"", ".", "..", "a/b", "eth0:1", "eth 0", "sixteen-bytes-xx", "-\n"}) {
    EXPECT_EQ(ValidateInterfaceName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(ValidateInterfaceName("a/b").message(), HasSubstr("\"a/b\""));
}

TEST(ValidateInterfaceName, RejectsShellTextAndOptionsTheKernelWouldTake) {
  for (const char* bad : {"$(id)", "`id`", "a;b", "a|b", "-evil", "--help", ".hidden", "a\"b"}) {
    EXPECT_EQ(ValidateInterfaceName(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FormatHostPort, RoundTripsThroughParseHostPort) {
  for (const char* host : {"10.0.0.2", "spark-002", "fe80::1"}) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(FormatHostPort(host, 50151));
    ASSERT_TRUE(parsed.ok()) << host << ": " << parsed.status();
    EXPECT_EQ(parsed->host, host);
    EXPECT_EQ(parsed->port, 50151);
  }
}

TEST(IsUtf8, AcceptsWellFormedTextOnly) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("spark-001"));
  EXPECT_TRUE(
      IsUtf8("Gr\xc3\xbc\xc3\x9f"
             "e \xe2\x9c\x93 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
  EXPECT_TRUE(IsUtf8(std::string("a\0b", 3)));
  for (const char* bad : {"\xb0", "\xf0", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xe2\x9c", "ok\xff"}) {
    EXPECT_FALSE(IsUtf8(bad)) << absl::CHexEscape(bad);
  }
}

}  // namespace
}  // namespace sparkfleet
