#include "coordinator/validate/validation_input.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

v1::ProbeReply Probe() {
  v1::ProbeReply probe;
  v1::Nic* link = probe.add_nics();
  link->set_name("enp1s0f1np1");
  v1::IpAddress* v6 = link->add_addresses();
  v6->set_address("fe80::ba3f:d2ff:fe5a:101");
  v6->set_ipv6(true);
  link->add_addresses()->set_address("192.168.100.10");
  v1::Nic* v6only = probe.add_nics();
  v6only->set_name("enP2p1s0f1np1");
  for (const char* a : {"fe80::1", "fd00::10"}) {
    v1::IpAddress* address = v6only->add_addresses();
    address->set_address(a);
    address->set_ipv6(true);
  }
  probe.add_nics()->set_name("enP7s7");
  return probe;
}

TEST(InterfaceAddress, IPv4FirstThenAGlobalIPv6) {
  EXPECT_EQ(InterfaceAddress(Probe(), "enp1s0f1np1").value(), "192.168.100.10");
  EXPECT_EQ(InterfaceAddress(Probe(), "enP2p1s0f1np1").value(), "fd00::10");
}

TEST(InterfaceAddress, MissingInterfaceOrAddressSaysWhatTheNodeHas) {
  absl::StatusOr<std::string> missing = InterfaceAddress(Probe(), "eth0");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("no interface eth0 (it has: enp1s0f1np1, enP2p1s0f1np1, enP7s7)"));
  EXPECT_THAT(InterfaceAddress(Probe(), "enP7s7").status().message(),
              HasSubstr("enP7s7 has no IPv4 or global IPv6 address"));
}

TEST(CheckValidateRequest, NamesTheFieldThatIsWrong) {
  v1::ValidateRequest request;
  EXPECT_TRUE(CheckValidateRequest(request).ok());
  request.add_tests(static_cast<v1::ValidateTest>(42));
  EXPECT_THAT(std::string(CheckValidateRequest(request).message()),
              HasSubstr("ValidateRequest.tests: 42"));
  request.clear_tests();
  request.set_pairs(v1::PAIR_SELECTION_SAMPLE);
  EXPECT_THAT(std::string(CheckValidateRequest(request).message()),
              HasSubstr("ValidateRequest.sample_k"));
  request.set_sample_k(2);
  request.set_bandwidth_duration_s(600);
  EXPECT_THAT(std::string(CheckValidateRequest(request).message()),
              HasSubstr("bandwidth_duration_s: 600 is over 300"));
}

TEST(ClusterSshKeyExists, OnlyWhenTheKeyFileIsThere) {
  ClusterConfig config;
  EXPECT_FALSE(ClusterSshKeyExists(config));
  config.ssh_key_path = "/nonexistent/id_ed25519_spark";
  EXPECT_FALSE(ClusterSshKeyExists(config));
  config.ssh_key_path = std::string(SPARKFLEET_SOURCE_DIR) + "/README.md";
  EXPECT_TRUE(ClusterSshKeyExists(config));
}

}  // namespace
}  // namespace sparkfleet
