#include "node_agent/probe/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "node_agent/probe/topology.h"

namespace sparkfleet {
namespace {

using ::testing::AllOf;
using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Property;
using ::testing::UnorderedElementsAre;

std::string FixtureRoot(absl::string_view tree) {
  return std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/" + std::string(tree);
}

v1::ProbeReply ProbeTree(const std::string& root) {
  std::unique_ptr<Env> env = NewRootedEnv(root);
  return ProbeHardware(*env, v1::ProbeRequest());
}

const v1::Nic* FindNic(const v1::ProbeReply& reply, absl::string_view name) {
  for (const v1::Nic& nic : reply.nics()) {
    if (nic.name() == name) return &nic;
  }
  return nullptr;
}

const v1::RdmaDevice* FindRdma(const v1::ProbeReply& reply, absl::string_view name) {
  for (const v1::RdmaDevice& device : reply.rdma_devices()) {
    if (device.name() == name) return &device;
  }
  return nullptr;
}

std::string LevelName(v1::TopologyLevel level) {
  switch (level) {
    case v1::TOPOLOGY_LEVEL_X:
      return "X";
    case v1::TOPOLOGY_LEVEL_PIX:
      return "PIX";
    case v1::TOPOLOGY_LEVEL_PXB:
      return "PXB";
    case v1::TOPOLOGY_LEVEL_PHB:
      return "PHB";
    case v1::TOPOLOGY_LEVEL_NODE:
      return "NODE";
    case v1::TOPOLOGY_LEVEL_SYS:
      return "SYS";
    case v1::TOPOLOGY_LEVEL_NV:
      return "NV";
    default:
      return "?";
  }
}

// The matrix as `nvidia-smi topo -m` rows: "GPU0 X NODE ...".
std::vector<std::string> MatrixRows(const v1::TopologyMatrix& matrix) {
  std::vector<std::string> rows;
  for (int i = 0; i < matrix.rows_size(); ++i) {
    std::vector<std::string> words = {matrix.devices(i).label()};
    for (const v1::TopologyCell& cell : matrix.rows(i).cells()) {
      words.push_back(LevelName(cell.level()));
    }
    rows.push_back(absl::StrJoin(words, " "));
  }
  return rows;
}

auto Warning(const std::string& path, const std::string& message_part) {
  return AllOf(Property(&v1::ProbeWarning::path, path),
               Property(&v1::ProbeWarning::message, HasSubstr(message_part)));
}

// A writable copy of a fixture tree (symlinks kept as links, like `cp -a`), removed after.
class TreeCopy {
 public:
  explicit TreeCopy(absl::string_view tree) {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-probe-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
    std::filesystem::copy(
        FixtureRoot(tree), path_,
        std::filesystem::copy_options::copy_symlinks | std::filesystem::copy_options::recursive);
  }
  TreeCopy(const TreeCopy&) = delete;
  TreeCopy& operator=(const TreeCopy&) = delete;
  ~TreeCopy() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& root() const { return path_; }

  // Overwrites the file at node path `node_path` (through the tree's own symlinks).
  void Write(absl::string_view node_path, absl::string_view contents) const {
    std::ofstream(path_ + std::string(node_path), std::ios::binary | std::ios::trunc) << contents;
  }

  void Remove(absl::string_view node_path) const {
    ASSERT_TRUE(std::filesystem::remove(path_ + std::string(node_path))) << node_path;
  }

 private:
  std::string path_;
};

// --- DGX Spark

TEST(ProbeSpark, AnswersFromTheSandboxWithoutWarnings) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  EXPECT_TRUE(reply.sandboxed_root());
  EXPECT_THAT(reply.warnings(), IsEmpty());
}

TEST(ProbeSpark, ListsTheFourRdmaDevicesInPciOrder) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  std::vector<std::string> names;
  std::vector<std::string> pci;
  for (const v1::RdmaDevice& device : reply.rdma_devices()) {
    names.push_back(device.name());
    pci.push_back(device.pci_address());
  }
  EXPECT_THAT(names, ElementsAre("rocep1s0f0", "rocep1s0f1", "roceP2p1s0f0", "roceP2p1s0f1"));
  EXPECT_THAT(pci, ElementsAre("0000:01:00.0", "0000:01:00.1", "0002:01:00.0", "0002:01:00.1"));
  for (const v1::RdmaDevice& device : reply.rdma_devices()) {
    EXPECT_EQ(device.fw_version(), "28.44.1036") << device.name();
    EXPECT_EQ(device.numa_node(), 0) << device.name();
    ASSERT_EQ(device.ports_size(), 1) << device.name();
    EXPECT_EQ(device.ports(0).port(), 1u);
    EXPECT_EQ(device.ports(0).link_layer(), v1::RDMA_LINK_LAYER_ETHERNET) << device.name();
  }
}

TEST(ProbeSpark, CabledP1HalvesAreActiveAt200WithAutoGidIndex3) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  for (absl::string_view name : {"rocep1s0f1", "roceP2p1s0f1"}) {
    const v1::RdmaDevice* device = FindRdma(reply, name);
    ASSERT_NE(device, nullptr) << name;
    ASSERT_EQ(device->ports_size(), 1);
    const v1::RdmaPort& port = device->ports(0);
    EXPECT_EQ(port.state(), v1::RDMA_PORT_STATE_ACTIVE) << name;
    EXPECT_EQ(port.phys_state(), v1::RDMA_PHYS_STATE_LINK_UP) << name;
    EXPECT_THAT(port.rate_gbps(), DoubleEq(200)) << name;
    ASSERT_TRUE(port.has_auto_gid_index()) << name;
    EXPECT_EQ(port.auto_gid_index(), 3u) << name;
  }
}

TEST(ProbeSpark, UncabledP0HalvesAreDownWithoutAutoGidIndex) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  for (absl::string_view name : {"rocep1s0f0", "roceP2p1s0f0"}) {
    const v1::RdmaDevice* device = FindRdma(reply, name);
    ASSERT_NE(device, nullptr) << name;
    ASSERT_EQ(device->ports_size(), 1);
    const v1::RdmaPort& port = device->ports(0);
    EXPECT_EQ(port.state(), v1::RDMA_PORT_STATE_DOWN) << name;
    EXPECT_EQ(port.phys_state(), v1::RDMA_PHYS_STATE_DISABLED) << name;
    EXPECT_THAT(port.rate_gbps(), DoubleEq(40)) << name;
    EXPECT_FALSE(port.has_auto_gid_index()) << name;
    EXPECT_EQ(port.gids_size(), 2) << name;
  }
}

TEST(ProbeSpark, GidTableCarriesTypesIpv4AddressesAndNetdevs) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  const v1::RdmaDevice* device = FindRdma(reply, "rocep1s0f1");
  ASSERT_NE(device, nullptr);
  const v1::RdmaPort& port = device->ports(0);
  ASSERT_EQ(port.gids_size(), 4);  // empty slots 4..15 are left out
  std::vector<std::string> rows;
  for (const v1::GidEntry& gid : port.gids()) {
    rows.push_back(absl::StrCat(gid.index(), " ", gid.gid(), " ",
                                gid.type() == v1::GID_TYPE_ROCE_V2 ? "v2" : "v1", " ",
                                gid.ipv4_address(), " ", gid.netdev()));
  }
  EXPECT_THAT(
      rows, ElementsAre("0 fe80:0000:0000:0000:ba3f:d2ff:fe5a:0101 v1  enp1s0f1np1",
                        "1 fe80:0000:0000:0000:ba3f:d2ff:fe5a:0101 v2  enp1s0f1np1",
                        "2 0000:0000:0000:0000:0000:ffff:c0a8:640a v1 192.168.100.10 enp1s0f1np1",
                        "3 0000:0000:0000:0000:0000:ffff:c0a8:640a v2 192.168.100.10 enp1s0f1np1"));
  EXPECT_EQ(port.netdev(), "enp1s0f1np1");

  const v1::RdmaDevice* other = FindRdma(reply, "roceP2p1s0f1");
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(other->ports(0).gids_size(), 4);
  EXPECT_EQ(other->ports(0).gids(3).ipv4_address(), "192.168.101.10");
}

TEST(ProbeSpark, MapsNetdevsAndRdmaDevicesBothWays) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"rocep1s0f0", "enp1s0f0np0"},
      {"rocep1s0f1", "enp1s0f1np1"},
      {"roceP2p1s0f0", "enP2p1s0f0np0"},
      {"roceP2p1s0f1", "enP2p1s0f1np1"}};
  for (const auto& [rdma_name, netdev] : pairs) {
    const v1::RdmaDevice* device = FindRdma(reply, rdma_name);
    ASSERT_NE(device, nullptr) << rdma_name;
    EXPECT_THAT(device->netdevs(), ElementsAre(netdev)) << rdma_name;
    EXPECT_EQ(device->ports(0).netdev(), netdev) << rdma_name;
    const v1::Nic* nic = FindNic(reply, netdev);
    ASSERT_NE(nic, nullptr) << netdev;
    EXPECT_THAT(nic->rdma_devices(), ElementsAre(rdma_name)) << netdev;
  }
  for (absl::string_view name : {"enP7s7", "wlP9s9", "lo", "tailscale0", "docker0", "veth1234"}) {
    const v1::Nic* nic = FindNic(reply, name);
    ASSERT_NE(nic, nullptr) << name;
    EXPECT_THAT(nic->rdma_devices(), IsEmpty()) << name;
  }
}

TEST(ProbeSpark, ListsEveryNetdevSortedByName) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  std::vector<std::string> names;
  for (const v1::Nic& nic : reply.nics()) names.push_back(nic.name());
  EXPECT_THAT(names,
              ElementsAre("docker0", "enP2p1s0f0np0", "enP2p1s0f1np1", "enP7s7", "enp1s0f0np0",
                          "enp1s0f1np1", "lo", "tailscale0", "veth1234", "wlP9s9"));
}

TEST(ProbeSpark, TellsPhysicalFromVirtualAndWirelessFromWired) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  for (absl::string_view name :
       {"enp1s0f0np0", "enp1s0f1np1", "enP2p1s0f0np0", "enP2p1s0f1np1", "enP7s7", "wlP9s9"}) {
    const v1::Nic* nic = FindNic(reply, name);
    ASSERT_NE(nic, nullptr) << name;
    EXPECT_EQ(nic->kind(), v1::NIC_KIND_PHYSICAL) << name;
    EXPECT_EQ(nic->wireless(), name == "wlP9s9") << name;
  }
  for (absl::string_view name : {"tailscale0", "docker0", "veth1234", "lo"}) {
    const v1::Nic* nic = FindNic(reply, name);
    ASSERT_NE(nic, nullptr) << name;
    EXPECT_EQ(nic->kind(), v1::NIC_KIND_VIRTUAL) << name;
    EXPECT_FALSE(nic->wireless()) << name;
    EXPECT_EQ(nic->pci_address(), "") << name;
    EXPECT_EQ(nic->numa_node(), -1) << name;
  }
}

TEST(ProbeSpark, ReadsTheCabledInterfacesFacts) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  const v1::Nic* nic = FindNic(reply, "enp1s0f1np1");
  ASSERT_NE(nic, nullptr);
  EXPECT_EQ(nic->mac(), "b8:3f:d2:5a:01:01");
  EXPECT_EQ(nic->mtu_bytes(), 9000u);
  EXPECT_EQ(nic->speed_mbps(), 200000);
  EXPECT_EQ(nic->operstate(), v1::NIC_OPER_STATE_UP);
  ASSERT_TRUE(nic->has_carrier());
  EXPECT_TRUE(nic->carrier());
  EXPECT_EQ(nic->driver(), "mlx5_core");
  EXPECT_EQ(nic->pci_address(), "0000:01:00.1");
  EXPECT_EQ(nic->numa_node(), 0);
  EXPECT_EQ(nic->phys_port_name(), "p1");
  EXPECT_THAT(nic->pcie().current_speed_gtps(), DoubleEq(32.0));
  EXPECT_THAT(nic->pcie().max_speed_gtps(), DoubleEq(32.0));
  EXPECT_EQ(nic->pcie().current_width_lanes(), 4u);
  EXPECT_EQ(nic->pcie().max_width_lanes(), 4u);

  const v1::Nic* down = FindNic(reply, "enp1s0f0np0");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->speed_mbps(), -1);
  EXPECT_EQ(down->operstate(), v1::NIC_OPER_STATE_DOWN);
  EXPECT_FALSE(down->carrier());
  EXPECT_EQ(down->phys_port_name(), "p0");
  EXPECT_THAT(down->addresses(), IsEmpty());
}

TEST(ProbeSpark, TakesAddressesFromTheFixtureFileInFileOrder) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  auto addresses = [&](absl::string_view name) {
    std::vector<std::string> out;
    const v1::Nic* nic = FindNic(reply, name);
    if (nic == nullptr) return out;
    for (const v1::IpAddress& a : nic->addresses()) {
      out.push_back(absl::StrCat(a.address(), "/", a.prefix_length(), a.ipv6() ? " v6" : " v4"));
    }
    return out;
  };
  EXPECT_THAT(addresses("enp1s0f1np1"),
              ElementsAre("192.168.100.10/24 v4", "fe80::ba3f:d2ff:fe5a:101/64 v6"));
  EXPECT_THAT(addresses("enP2p1s0f1np1"),
              ElementsAre("192.168.101.10/24 v4", "fe80::ba3f:d2ff:fe5a:201/64 v6"));
  EXPECT_THAT(addresses("enP7s7"),
              ElementsAre("192.168.1.101/24 v4", "fe80::2e0:4cff:fe68:701/64 v6"));
  EXPECT_THAT(addresses("tailscale0"), ElementsAre("100.64.0.1/32 v4", "fd7a:115c:a1e0::1/128 v6"));
  EXPECT_THAT(addresses("docker0"), ElementsAre("172.17.0.1/16 v4"));
  EXPECT_THAT(addresses("lo"), ElementsAre("127.0.0.1/8 v4", "::1/128 v6"));
  EXPECT_THAT(addresses("wlP9s9"), IsEmpty());
  EXPECT_THAT(addresses("veth1234"), IsEmpty());
}

TEST(ProbeSpark, ManagementAndWifiNicsCarryTheirPciFacts) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  const v1::Nic* realtek = FindNic(reply, "enP7s7");
  ASSERT_NE(realtek, nullptr);
  EXPECT_EQ(realtek->pci_address(), "0007:01:00.0");
  EXPECT_EQ(realtek->driver(), "r8127");
  EXPECT_EQ(realtek->speed_mbps(), 10000);
  EXPECT_EQ(realtek->phys_port_name(), "");
  const v1::Nic* wifi = FindNic(reply, "wlP9s9");
  ASSERT_NE(wifi, nullptr);
  EXPECT_EQ(wifi->pci_address(), "0009:01:00.0");
  EXPECT_EQ(wifi->driver(), "mt7925e");
  const v1::Nic* tailscale = FindNic(reply, "tailscale0");
  ASSERT_NE(tailscale, nullptr);
  EXPECT_EQ(tailscale->mtu_bytes(), 1280u);
  EXPECT_EQ(tailscale->mac(), "");
}

TEST(ProbeSpark, FindsTheGb10FromPciWithTheDriverVersionFromProc) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  ASSERT_EQ(reply.gpus_size(), 1);
  const v1::Gpu& gpu = reply.gpus(0);
  EXPECT_EQ(gpu.index(), 0u);
  EXPECT_EQ(gpu.source(), v1::GPU_SOURCE_PCI);
  EXPECT_EQ(gpu.pci_address(), "000f:01:00.0");
  EXPECT_EQ(gpu.pci_device_id(), 0x2e12u);
  EXPECT_THAT(gpu.name(), HasSubstr("2e12"));
  EXPECT_EQ(gpu.driver_version(), "580.95.05");
  EXPECT_EQ(gpu.numa_node(), 0);
  EXPECT_THAT(gpu.pcie().current_speed_gtps(), DoubleEq(32.0));
  EXPECT_EQ(gpu.pcie().current_width_lanes(), 16u);
  EXPECT_FALSE(gpu.has_memory_total_bytes());
}

TEST(ProbeSpark, MatrixMatchesNvidiaSmiTopo) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  EXPECT_THAT(MatrixRows(reply.topology()),
              ElementsAre("GPU0 X NODE NODE NODE NODE NODE",  //
                          "NIC0 NODE X PIX NODE NODE NODE",   //
                          "NIC1 NODE PIX X NODE NODE NODE",   //
                          "NIC2 NODE NODE NODE X PIX NODE",   //
                          "NIC3 NODE NODE NODE PIX X NODE",   //
                          "NIC4 NODE NODE NODE NODE NODE X"));
}

TEST(ProbeSpark, MatrixLegendNamesRdmaDevicesNetdevsAndGpuAffinity) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-spark"));
  const v1::TopologyMatrix& matrix = reply.topology();
  ASSERT_EQ(matrix.devices_size(), 6);
  const v1::TopologyDevice& gpu = matrix.devices(0);
  EXPECT_EQ(gpu.kind(), v1::TOPOLOGY_DEVICE_KIND_GPU);
  EXPECT_EQ(gpu.pci_address(), "000f:01:00.0");
  EXPECT_EQ(gpu.cpu_affinity(), "0-19");
  EXPECT_EQ(gpu.numa_affinity(), 0);
  std::vector<std::string> nics;
  for (int i = 1; i < matrix.devices_size(); ++i) {
    const v1::TopologyDevice& d = matrix.devices(i);
    EXPECT_EQ(d.kind(), v1::TOPOLOGY_DEVICE_KIND_NIC) << d.label();
    nics.push_back(absl::StrCat(d.label(), " ", d.rdma_device(), " ", d.netdev()));
  }
  EXPECT_THAT(nics, ElementsAre("NIC0 rocep1s0f0 enp1s0f0np0", "NIC1 rocep1s0f1 enp1s0f1np1",
                                "NIC2 roceP2p1s0f0 enP2p1s0f0np0",
                                "NIC3 roceP2p1s0f1 enP2p1s0f1np1", "NIC4  enP7s7"));
}

// --- Problems, not crashes

TEST(ProbeGarbledSpark, GarbledFilesBecomeWarningsWhileTheRestStillAnswers) {
  TreeCopy tree("dgx-spark");
  tree.Write("/sys/class/infiniband/rocep1s0f1/ports/1/rate", "fast\n");
  tree.Write("/sys/class/infiniband/roceP2p1s0f1/ports/1/gids/2", "zz\n");
  tree.Write("/sys/class/infiniband/roceP2p1s0f0/ports/1/state", "9: BOGUS\n");
  tree.Remove("/sys/class/net/enP7s7/mtu");

  v1::ProbeReply reply = ProbeTree(tree.root());

  EXPECT_THAT(
      reply.warnings(),
      UnorderedElementsAre(
          Warning("/sys/class/infiniband/rocep1s0f1/ports/1/rate",
                  "rate \"fast\" is not \"<n> Gb/sec"),
          Warning("/sys/class/infiniband/roceP2p1s0f1/ports/1/gids/2",
                  "GID \"zz\" is not 8 groups of 4 hex digits"),
          Warning("/sys/class/infiniband/roceP2p1s0f0/ports/1/state", "port state \"9: BOGUS\""),
          Warning("/sys/class/net/enP7s7/mtu", "No such file or directory")));

  // The garbled facts are unknown, their neighbours intact.
  const v1::RdmaDevice* p1 = FindRdma(reply, "rocep1s0f1");
  ASSERT_NE(p1, nullptr);
  EXPECT_THAT(p1->ports(0).rate_gbps(), DoubleEq(0));
  EXPECT_EQ(p1->ports(0).state(), v1::RDMA_PORT_STATE_ACTIVE);
  EXPECT_EQ(p1->ports(0).auto_gid_index(), 3u);

  const v1::RdmaDevice* p2p1 = FindRdma(reply, "roceP2p1s0f1");
  ASSERT_NE(p2p1, nullptr);
  std::vector<uint32_t> indexes;
  for (const v1::GidEntry& gid : p2p1->ports(0).gids()) indexes.push_back(gid.index());
  EXPECT_THAT(indexes, ElementsAre(0u, 1u, 3u));
  EXPECT_EQ(p2p1->ports(0).auto_gid_index(), 3u);
  EXPECT_THAT(p2p1->ports(0).rate_gbps(), DoubleEq(200));

  const v1::RdmaDevice* p2p0 = FindRdma(reply, "roceP2p1s0f0");
  ASSERT_NE(p2p0, nullptr);
  EXPECT_EQ(p2p0->ports(0).state(), v1::RDMA_PORT_STATE_UNSPECIFIED);
  EXPECT_EQ(p2p0->ports(0).phys_state(), v1::RDMA_PHYS_STATE_DISABLED);

  const v1::Nic* realtek = FindNic(reply, "enP7s7");
  ASSERT_NE(realtek, nullptr);
  EXPECT_EQ(realtek->mtu_bytes(), 0u);
  EXPECT_EQ(realtek->speed_mbps(), 10000);
  EXPECT_EQ(realtek->pci_address(), "0007:01:00.0");

  EXPECT_EQ(reply.rdma_devices_size(), 4);
  EXPECT_EQ(reply.nics_size(), 10);
  ASSERT_EQ(reply.gpus_size(), 1);
  EXPECT_EQ(reply.gpus(0).pci_address(), "000f:01:00.0");
  EXPECT_EQ(reply.topology().devices_size(), 6);
}

TEST(ProbeGarbledSpark, MissingPortStateIsAWarningNamingItsPath) {
  TreeCopy tree("dgx-spark");
  tree.Remove("/sys/class/infiniband/rocep1s0f0/ports/1/state");

  v1::ProbeReply reply = ProbeTree(tree.root());

  EXPECT_THAT(reply.warnings(),
              ElementsAre(Warning("/sys/class/infiniband/rocep1s0f0/ports/1/state",
                                  "No such file or directory")));
  const v1::RdmaDevice* device = FindRdma(reply, "rocep1s0f0");
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->ports(0).state(), v1::RDMA_PORT_STATE_UNSPECIFIED);
  EXPECT_EQ(device->ports(0).phys_state(), v1::RDMA_PHYS_STATE_DISABLED);
  EXPECT_EQ(device->ports(0).gids_size(), 2);
  EXPECT_EQ(reply.gpus_size(), 1);
}

// fuzz_probe_tree: a netdev name that is not UTF-8 (/sys/class/net/\xeb -> 9) went into
// the reply as it was, and then the whole Probe reply did not parse on sparkctl's side.
// Such names and file contents are left out with a warning that shows their bytes.
TEST(ProbeGarbledSpark, FuzzRegressionTextNotUtf8IsLeftOutWithAWarning) {
  TreeCopy tree("dgx-spark");
  std::filesystem::create_symlink("9", tree.root() + "/sys/class/net/\xeb");
  tree.Write("/sys/class/infiniband/rocep1s0f1/fw_ver", "28.\xff\n");

  v1::ProbeReply reply = ProbeTree(tree.root());

  v1::ProbeReply copy;
  ASSERT_TRUE(copy.ParseFromString(reply.SerializeAsString()));
  EXPECT_THAT(reply.warnings(),
              UnorderedElementsAre(Warning("/sys/class/net/\\xeb", "not UTF-8"),
                                   Warning("/sys/class/infiniband/rocep1s0f1/fw_ver",
                                           "\"28.\\xff\" is not UTF-8 text")));
  EXPECT_EQ(reply.nics_size(), 10);
  const v1::RdmaDevice* device = FindRdma(reply, "rocep1s0f1");
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->fw_version(), "");
}

// fuzz_probe_tree: a port directory "0" (ports count from 1) read netdevs[0 - 1], far
// past the end of the list.
TEST(ProbeGarbledSpark, FuzzRegressionPortZeroHasNoNetdevByPosition) {
  TreeCopy tree("vm");
  std::filesystem::create_directories(tree.root() + "/sys/class/infiniband/mlx5_0/ports/0");

  v1::ProbeReply reply = ProbeTree(tree.root());

  const v1::RdmaDevice* device = FindRdma(reply, "mlx5_0");
  ASSERT_NE(device, nullptr);
  ASSERT_EQ(device->ports_size(), 1);
  EXPECT_EQ(device->ports(0).port(), 0u);
  EXPECT_EQ(device->ports(0).netdev(), "");
}

// --- 8-GPU server

TEST(ProbeH100, MatrixMatchesTheReadme) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-h100"));
  EXPECT_THAT(reply.warnings(), IsEmpty());
  ASSERT_EQ(reply.gpus_size(), 8);
  ASSERT_EQ(reply.rdma_devices_size(), 8);
  EXPECT_THAT(
      MatrixRows(reply.topology()),
      ElementsAre("GPU0 X PXB NODE NODE SYS SYS SYS SYS PIX PIX NODE NODE SYS SYS SYS SYS",
                  "GPU1 PXB X NODE NODE SYS SYS SYS SYS PXB PXB NODE NODE SYS SYS SYS SYS",
                  "GPU2 NODE NODE X PXB SYS SYS SYS SYS NODE NODE PIX PIX SYS SYS SYS SYS",
                  "GPU3 NODE NODE PXB X SYS SYS SYS SYS NODE NODE PXB PXB SYS SYS SYS SYS",
                  "GPU4 SYS SYS SYS SYS X PXB NODE NODE SYS SYS SYS SYS PIX PIX NODE NODE",
                  "GPU5 SYS SYS SYS SYS PXB X NODE NODE SYS SYS SYS SYS PXB PXB NODE NODE",
                  "GPU6 SYS SYS SYS SYS NODE NODE X PXB SYS SYS SYS SYS NODE NODE PIX PIX",
                  "GPU7 SYS SYS SYS SYS NODE NODE PXB X SYS SYS SYS SYS NODE NODE PXB PXB",
                  "NIC0 PIX PXB NODE NODE SYS SYS SYS SYS X PIX NODE NODE SYS SYS SYS SYS",
                  "NIC1 PIX PXB NODE NODE SYS SYS SYS SYS PIX X NODE NODE SYS SYS SYS SYS",
                  "NIC2 NODE NODE PIX PXB SYS SYS SYS SYS NODE NODE X PIX SYS SYS SYS SYS",
                  "NIC3 NODE NODE PIX PXB SYS SYS SYS SYS NODE NODE PIX X SYS SYS SYS SYS",
                  "NIC4 SYS SYS SYS SYS PIX PXB NODE NODE SYS SYS SYS SYS X PIX NODE NODE",
                  "NIC5 SYS SYS SYS SYS PIX PXB NODE NODE SYS SYS SYS SYS PIX X NODE NODE",
                  "NIC6 SYS SYS SYS SYS NODE NODE PIX PXB SYS SYS SYS SYS NODE NODE X PIX",
                  "NIC7 SYS SYS SYS SYS NODE NODE PIX PXB SYS SYS SYS SYS NODE NODE PIX X"));
}

TEST(ProbeH100, GpuAffinityFollowsTheSocket) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-h100"));
  const v1::TopologyMatrix& matrix = reply.topology();
  ASSERT_GE(matrix.devices_size(), 8);
  for (int i = 0; i < 8; ++i) {
    const v1::TopologyDevice& gpu = matrix.devices(i);
    EXPECT_EQ(gpu.cpu_affinity(), i < 4 ? "0-55,112-167" : "56-111,168-223") << gpu.label();
    EXPECT_EQ(gpu.numa_affinity(), i < 4 ? 0 : 1) << gpu.label();
  }
}

TEST(ProbeH100, AutoGidIndexSkipsTheIpv6EntriesOfMlx5_5) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("dgx-h100"));
  for (const v1::RdmaDevice& device : reply.rdma_devices()) {
    ASSERT_EQ(device.ports_size(), 1) << device.name();
    const v1::RdmaPort& port = device.ports(0);
    ASSERT_TRUE(port.has_auto_gid_index()) << device.name();
    EXPECT_EQ(port.auto_gid_index(), device.name() == "mlx5_5" ? 5u : 3u) << device.name();
    EXPECT_THAT(port.rate_gbps(), DoubleEq(400)) << device.name();
  }
  const v1::RdmaDevice* mlx5_5 = FindRdma(reply, "mlx5_5");
  ASSERT_NE(mlx5_5, nullptr);
  EXPECT_EQ(mlx5_5->ports(0).gids(5).ipv4_address(), "10.10.5.1");
}

// --- VM

TEST(ProbeVm, ReportsNoGpuAndNoRdmaWithoutWarnings) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("vm"));
  EXPECT_THAT(reply.gpus(), IsEmpty());
  EXPECT_THAT(reply.rdma_devices(), IsEmpty());
  EXPECT_THAT(reply.warnings(), IsEmpty());
  for (const v1::TopologyDevice& device : reply.topology().devices()) {
    EXPECT_NE(device.kind(), v1::TOPOLOGY_DEVICE_KIND_GPU) << device.label();
    EXPECT_EQ(device.rdma_device(), "") << device.label();
  }
}

TEST(ProbeVm, FindsTheVirtioNicsPciFunctionThroughVirtio0) {
  v1::ProbeReply reply = ProbeTree(FixtureRoot("vm"));
  const v1::Nic* nic = FindNic(reply, "ens3");
  ASSERT_NE(nic, nullptr);
  EXPECT_EQ(nic->kind(), v1::NIC_KIND_PHYSICAL);
  EXPECT_EQ(nic->pci_address(), "0000:00:03.0");
  EXPECT_EQ(nic->driver(), "virtio_net");
  EXPECT_EQ(nic->numa_node(), -1);
  EXPECT_EQ(nic->pcie().max_width_lanes(), 0u);
  EXPECT_EQ(nic->speed_mbps(), -1);
  EXPECT_EQ(nic->mtu_bytes(), 1500u);
  EXPECT_EQ(nic->mac(), "52:54:00:12:34:56");
  ASSERT_EQ(nic->addresses_size(), 2);
  EXPECT_EQ(nic->addresses(0).address(), "10.0.0.5");
  EXPECT_EQ(nic->addresses(1).address(), "fe80::5054:ff:fe12:3456");
}

// --- Topology rules

PciPlace Place(absl::string_view real_path, int numa_node) {
  std::optional<PciPlace> place = ParsePciPlace(real_path);
  EXPECT_TRUE(place.has_value()) << real_path;
  PciPlace out = place.value_or(PciPlace());
  out.numa_node = numa_node;
  return out;
}

TEST(ParsePciPlace, SplitsHostBridgeBridgesAndFunction) {
  std::optional<PciPlace> place =
      ParsePciPlace("/sys/devices/pci0000:10/0000:10:01.0/0000:11:00.0/0000:12:00.0/0000:13:00.0");
  ASSERT_TRUE(place.has_value());
  EXPECT_EQ(place->host_bridge, "pci0000:10");
  EXPECT_THAT(place->bridges, ElementsAre("0000:10:01.0", "0000:11:00.0", "0000:12:00.0"));
  EXPECT_EQ(place->function, "0000:13:00.0");

  std::optional<PciPlace> root_bus = ParsePciPlace("/sys/devices/pci0000:00/0000:00:03.0");
  ASSERT_TRUE(root_bus.has_value());
  EXPECT_THAT(root_bus->bridges, IsEmpty());
  EXPECT_EQ(root_bus->function, "0000:00:03.0");
}

TEST(ParsePciPlace, RejectsPathsThatAreNotPciFunctions) {
  EXPECT_FALSE(ParsePciPlace("/sys/devices/virtual/net/lo").has_value());
  EXPECT_FALSE(ParsePciPlace("/sys/devices/pci0000:00/0000:00:03.0/virtio0").has_value());
  EXPECT_FALSE(ParsePciPlace("/sys/class/net/enP7s7").has_value());
  EXPECT_FALSE(ParsePciPlace("/sys/devices/pci0000:00").has_value());
}

TEST(PciDistance, SameFunctionIsSelf) {
  PciPlace a = Place("/sys/devices/pci0000:00/0000:00:00.0/0000:01:00.0", 0);
  EXPECT_EQ(PciDistance(a, a, true), v1::TOPOLOGY_LEVEL_X);
}

TEST(PciDistance, TwoFunctionsOfOneDeviceArePix) {
  PciPlace f0 = Place("/sys/devices/pci0000:00/0000:00:00.0/0000:01:00.0", 0);
  PciPlace f1 = Place("/sys/devices/pci0000:00/0000:00:00.0/0000:01:00.1", 0);
  EXPECT_EQ(PciDistance(f0, f1, true), v1::TOPOLOGY_LEVEL_PIX);
}

TEST(PciDistance, TwoFunctionsOfOneDeviceOnTheRootBusArePix) {
  PciPlace f0 = Place("/sys/devices/pci0000:00/0000:00:03.0", 0);
  PciPlace f1 = Place("/sys/devices/pci0000:00/0000:00:03.1", 0);
  EXPECT_EQ(PciDistance(f0, f1, true), v1::TOPOLOGY_LEVEL_PIX);
  PciPlace other = Place("/sys/devices/pci0000:00/0000:00:04.0", 0);
  EXPECT_EQ(PciDistance(f0, other, true), v1::TOPOLOGY_LEVEL_PHB);
}

TEST(PciDistance, HostBridgesOfOneNumaNodeAreNode) {
  PciPlace cx7 = Place("/sys/devices/pci0000:00/0000:00:00.0/0000:01:00.0", 0);
  PciPlace gpu = Place("/sys/devices/pci000f:00/000f:00:00.0/000f:01:00.0", 0);
  EXPECT_EQ(PciDistance(cx7, gpu, false), v1::TOPOLOGY_LEVEL_NODE);
}

TEST(PciDistance, UnknownNumaNodeIsNodeOnlyOnASingleNodeMachine) {
  PciPlace a = Place("/sys/devices/pci0000:00/0000:00:00.0/0000:01:00.0", -1);
  PciPlace b = Place("/sys/devices/pci0002:00/0002:00:00.0/0002:01:00.0", -1);
  EXPECT_EQ(PciDistance(a, b, true), v1::TOPOLOGY_LEVEL_NODE);
  EXPECT_EQ(PciDistance(a, b, false), v1::TOPOLOGY_LEVEL_SYS);
}

TEST(PciDistance, HostBridgesOnDifferentSocketsAreSys) {
  PciPlace a =
      Place("/sys/devices/pci0000:10/0000:10:01.0/0000:11:00.0/0000:12:00.0/0000:13:00.0", 0);
  PciPlace b =
      Place("/sys/devices/pci0000:90/0000:90:01.0/0000:91:00.0/0000:92:00.0/0000:93:00.0", 1);
  EXPECT_EQ(PciDistance(a, b, false), v1::TOPOLOGY_LEVEL_SYS);
}

TEST(PciDistance, DifferentRootPortsOfOneHostBridgeArePhb) {
  PciPlace a = Place("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", 0);
  PciPlace b = Place("/sys/devices/pci0000:00/0000:00:02.0/0000:02:00.0", 0);
  EXPECT_EQ(PciDistance(a, b, true), v1::TOPOLOGY_LEVEL_PHB);
}

TEST(PciDistance, DevicesUnderOneSwitchArePixAndBehindASecondSwitchPxb) {
  const std::string sw1 = "/sys/devices/pci0000:10/0000:10:01.0/0000:11:00.0";
  PciPlace gpu0 = Place(sw1 + "/0000:12:00.0/0000:13:00.0", 0);
  PciPlace nic0 = Place(sw1 + "/0000:12:01.0/0000:14:00.0", 0);
  PciPlace gpu1 = Place(sw1 + "/0000:12:02.0/0000:15:00.0/0000:16:00.0/0000:17:00.0", 0);
  EXPECT_EQ(PciDistance(gpu0, nic0, false), v1::TOPOLOGY_LEVEL_PIX);
  EXPECT_EQ(PciDistance(gpu1, nic0, false), v1::TOPOLOGY_LEVEL_PXB);
  EXPECT_EQ(PciDistance(gpu0, gpu1, false), v1::TOPOLOGY_LEVEL_PXB);
}

}  // namespace
}  // namespace sparkfleet
