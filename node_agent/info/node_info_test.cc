#include "node_agent/info/node_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/env.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {
namespace {

// A DGX Spark's facts, laid out as files under a temporary root.
class FakeNode {
 public:
  FakeNode() {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-node-XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    root_ = pattern;
    env_ = NewRootedEnv(root_);
  }
  FakeNode(const FakeNode&) = delete;
  FakeNode& operator=(const FakeNode&) = delete;
  ~FakeNode() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  Env& env() { return *env_; }

  void Put(absl::string_view node_path, absl::string_view contents) const {
    std::filesystem::path host = root_ + std::string(node_path);
    std::filesystem::create_directories(host.parent_path());
    std::ofstream(host, std::ios::binary) << contents;
  }

 private:
  std::string root_;
  std::unique_ptr<Env> env_;
};

constexpr char kOsRelease[] = R"os(PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.3 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
)os";

std::string DpkgStatus(absl::string_view tailscale_version) {
  return std::string(R"(Package: openssh-server
Status: install ok installed
Priority: optional
Section: net
Architecture: arm64
Source: openssh
Version: 1:9.6p1-3ubuntu13.14
Description: secure shell (SSH) server, for secure access from remote machines

Package: tailscale
Status: install ok installed
Architecture: arm64
Version: )") +
         std::string(tailscale_version) + R"(
Description: The easiest, most secure way to use WireGuard

Package: libnccl2
Status: install ok installed
Architecture: arm64
Version: 2.27.7-1+cuda13.0
Description: NVIDIA Collective Communication Library (NCCL) Runtime

Package: iperf3
Status: deinstall ok config-files
Architecture: arm64
Version: 3.16-1build2
Description: Internet Protocol bandwidth measuring tool
)";
}

constexpr char kNvidiaVersion[] =
    "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  580.95.05  Release Build  "
    "(dvs-builder@U22-I3-AF03-09-1)  Wed Sep 24 23:10:54 UTC 2025\n"
    "GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n";

void PopulateSpark(FakeNode& node) {
  node.Put("/etc/hostname", "spark-001\n");
  node.Put("/proc/sys/kernel/hostname", "spark-001\n");
  node.Put("/proc/sys/kernel/osrelease", "6.11.0-1016-nvidia\n");
  node.Put("/proc/uptime", "12345.67 23456.78\n");
  node.Put("/etc/os-release", kOsRelease);
  node.Put("/var/lib/dpkg/status", DpkgStatus("1.86.2"));
  node.Put("/usr/sbin/sshd", "");
  node.Put("/proc/driver/nvidia/version", kNvidiaVersion);
}

const v1::InstalledComponent* FindComponent(const v1::NodeInfo& info, absl::string_view name) {
  for (const v1::InstalledComponent& component : info.components()) {
    if (component.name() == name) return &component;
  }
  return nullptr;
}

TEST(NodeInfoReader, ReportsIdentityOsKernelAndUptime) {
  FakeNode node;
  PopulateSpark(node);
  NodeInfoReader reader(node.env(), "spark-001");

  v1::NodeInfo info = reader.Read();

  EXPECT_EQ(info.node_name(), "spark-001");
  EXPECT_EQ(info.hostname(), "spark-001");
  EXPECT_EQ(info.agent_version(), SPARKFLEET_VERSION);
  EXPECT_EQ(info.os().id(), "ubuntu");
  EXPECT_EQ(info.os().version_id(), "24.04");
  EXPECT_EQ(info.os().pretty_name(), "Ubuntu 24.04.3 LTS");
  EXPECT_EQ(info.os().version_codename(), "noble");
  EXPECT_EQ(info.os().ubuntu_codename(), "noble");
  EXPECT_EQ(info.kernel_release(), "6.11.0-1016-nvidia");
  EXPECT_EQ(info.uptime_s(), 12345);
  EXPECT_FALSE(info.arch().empty());
}

TEST(NodeInfoReader, ReportsComponentsFromDpkgAndFiles) {
  FakeNode node;
  PopulateSpark(node);
  NodeInfoReader reader(node.env(), "spark-001");

  v1::NodeInfo info = reader.Read();

  const v1::InstalledComponent* sshd = FindComponent(info, "sshd");
  ASSERT_NE(sshd, nullptr);
  EXPECT_TRUE(sshd->present());
  EXPECT_EQ(sshd->version(), "1:9.6p1-3ubuntu13.14");
  EXPECT_EQ(sshd->path(), "/usr/sbin/sshd");

  const v1::InstalledComponent* tailscale = FindComponent(info, "tailscale");
  ASSERT_NE(tailscale, nullptr);
  EXPECT_TRUE(tailscale->present());
  EXPECT_EQ(tailscale->version(), "1.86.2");

  const v1::InstalledComponent* nccl = FindComponent(info, "nccl");
  ASSERT_NE(nccl, nullptr);
  EXPECT_TRUE(nccl->present());
  EXPECT_EQ(nccl->version(), "2.27.7-1+cuda13.0");

  const v1::InstalledComponent* driver = FindComponent(info, "nvidia-driver");
  ASSERT_NE(driver, nullptr);
  EXPECT_TRUE(driver->present());
  EXPECT_EQ(driver->version(), "580.95.05");
  EXPECT_EQ(driver->path(), "/proc/driver/nvidia/version");

  // Removed with its config files left: not installed.
  const v1::InstalledComponent* iperf3 = FindComponent(info, "iperf3");
  ASSERT_NE(iperf3, nullptr);
  EXPECT_FALSE(iperf3->present());
  EXPECT_EQ(iperf3->version(), "");
  EXPECT_EQ(iperf3->path(), "");
}

TEST(NodeInfoReader, ReportsTheCudaToolkitFromItsVersionJson) {
  FakeNode node;
  PopulateSpark(node);
  node.Put("/usr/local/cuda/version.json",
           R"json({"cuda": {"name": "CUDA SDK", "version": "13.0.1"},
               "cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": "13.0.88"}})json");
  NodeInfoReader reader(node.env(), "spark-001");

  v1::NodeInfo info = reader.Read();
  const v1::InstalledComponent* cuda = FindComponent(info, "cuda");
  ASSERT_NE(cuda, nullptr);
  EXPECT_TRUE(cuda->present());
  EXPECT_EQ(cuda->version(), "13.0.1");
  EXPECT_EQ(cuda->path(), "/usr/local/cuda/version.json");
}

TEST(NodeInfoReader, CudaWithoutVersionJsonIsPresentWithoutAVersionOrAbsent) {
  FakeNode node;
  PopulateSpark(node);
  NodeInfoReader reader(node.env(), "spark-001");
  v1::NodeInfo before = reader.Read();
  const v1::InstalledComponent* cuda = FindComponent(before, "cuda");
  ASSERT_NE(cuda, nullptr);
  EXPECT_FALSE(cuda->present());

  node.Put("/usr/local/cuda/bin/nvcc", "");
  v1::NodeInfo after = reader.Read();
  cuda = FindComponent(after, "cuda");
  ASSERT_NE(cuda, nullptr);
  EXPECT_TRUE(cuda->present());
  EXPECT_EQ(cuda->version(), "");
  EXPECT_EQ(cuda->path(), "/usr/local/cuda/bin/nvcc");
}

TEST(CudaToolkitVersion, ReadsDottedDigitsOnly) {
  EXPECT_EQ(CudaToolkitVersion(R"({"cuda": {"version": "12.8.93"}})"), "12.8.93");
  EXPECT_EQ(CudaToolkitVersion(R"({"cuda": {"version": "13.0; rm"}})"), "");
  EXPECT_EQ(CudaToolkitVersion(R"({"cuda": {"version": 13}})"), "");
  EXPECT_EQ(CudaToolkitVersion(R"({"cuda_cudart": {"version": "13.0.88"}})"), "");
  EXPECT_EQ(CudaToolkitVersion("CUDA Version 10.2.89"), "");
}

TEST(NodeInfoReader, FallsBackToEtcHostnameAndUsrLibOsRelease) {
  FakeNode node;
  node.Put("/etc/hostname", "spark-002\n");
  node.Put("/usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
  NodeInfoReader reader(node.env(), "spark-002");

  v1::NodeInfo info = reader.Read();

  EXPECT_EQ(info.hostname(), "spark-002");
  EXPECT_EQ(info.os().id(), "debian");
  EXPECT_EQ(info.os().version_codename(), "bookworm");
  EXPECT_EQ(info.os().ubuntu_codename(), "");
}

TEST(NodeInfoReader, EmptyRootGivesEmptyFactsAndEveryComponentMissing) {
  FakeNode node;
  NodeInfoReader reader(node.env(), "spark-003");

  v1::NodeInfo info = reader.Read();

  EXPECT_EQ(info.node_name(), "spark-003");
  EXPECT_EQ(info.hostname(), "");
  EXPECT_EQ(info.os().id(), "");
  EXPECT_EQ(info.os().version_id(), "");
  EXPECT_EQ(info.os().pretty_name(), "");
  EXPECT_EQ(info.kernel_release(), "");
  EXPECT_EQ(info.uptime_s(), 0);
  ASSERT_GT(info.components_size(), 0);
  for (const v1::InstalledComponent& component : info.components()) {
    EXPECT_FALSE(component.present()) << component.name();
    EXPECT_EQ(component.version(), "") << component.name();
    EXPECT_EQ(component.path(), "") << component.name();
  }
  EXPECT_NE(FindComponent(info, "iperf3"), nullptr);
}

TEST(NodeInfoReader, PicksUpAChangedDpkgStatusOnTheNextRead) {
  FakeNode node;
  PopulateSpark(node);
  NodeInfoReader reader(node.env(), "spark-001");
  ASSERT_EQ(FindComponent(reader.Read(), "tailscale")->version(), "1.86.2");

  // dpkg replaces its status file by rename; an upgrade may keep the size the same.
  WriteOptions options;
  options.backup = false;
  ASSERT_TRUE(
      node.env().WriteFileAtomic("/var/lib/dpkg/status", DpkgStatus("1.88.1"), options).ok());

  EXPECT_EQ(FindComponent(reader.Read(), "tailscale")->version(), "1.88.1");
}

TEST(NodeInfoReader, PicksUpAPackageInstalledAfterTheFirstRead) {
  FakeNode node;
  PopulateSpark(node);
  NodeInfoReader reader(node.env(), "spark-001");
  ASSERT_FALSE(FindComponent(reader.Read(), "iperf3")->present());

  node.Put("/var/lib/dpkg/status", DpkgStatus("1.86.2") +
                                       "\nPackage: iperf3\nStatus: install ok installed\n"
                                       "Architecture: arm64\nVersion: 3.16-1build2\n");

  v1::NodeInfo info = reader.Read();
  const v1::InstalledComponent* iperf3 = FindComponent(info, "iperf3");
  ASSERT_NE(iperf3, nullptr);
  EXPECT_TRUE(iperf3->present());
  EXPECT_EQ(iperf3->version(), "3.16-1build2");
}

}  // namespace
}  // namespace sparkfleet
