#include "node_agent/ops/tailscale_install.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node_agent/ops/tailscale_test_node.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kListUrl[] = "https://pkgs.tailscale.com/stable/ubuntu/noble.tailscale-keyring.list";
constexpr char kKeyringUrl[] = "https://pkgs.tailscale.com/stable/ubuntu/noble.noarmor.gpg";

class InstallTailscaleTest : public TailscaleNodeTest {
 protected:
  absl::Status Install(const v1::InstallTailscaleRequest& request = {}) {
    events_.clear();
    return InstallTailscale(
        Node(), request, [this](v1::InstallTailscaleEvent e) { events_.push_back(std::move(e)); },
        [] { return false; });
  }

  // "step:STATE" for every event that is not STARTED.
  std::vector<std::string> Steps() {
    std::vector<std::string> out;
    for (const v1::InstallTailscaleEvent& e : events_) {
      if (!e.has_step() || e.step().state() == v1::INSTALL_STEP_STATE_STARTED) continue;
      out.push_back(absl::StrCat(e.step().step(), ":",
                                 v1::InstallStepState_Name(e.step().state()).substr(19)));
    }
    return out;
  }

  const v1::InstallTailscaleResult* Result() {
    return !events_.empty() && events_.back().has_result() ? &events_.back().result() : nullptr;
  }

  std::vector<v1::InstallTailscaleEvent> events_;
};

TEST_F(InstallTailscaleTest, FreshNodeFollowsTailscalesInstallerStepByStep) {
  ASSERT_TRUE(Install().ok());

  EXPECT_THAT(Commands(),
              ElementsAre(absl::StrCat("curl -fsSL --retry 3 --max-time 120 -o "
                                       "ROOT/var/cache/sparkfleet/tailscale-archive-keyring.gpg ",
                                       kKeyringUrl),
                          absl::StrCat("curl -fsSL --retry 3 --max-time 120 -o "
                                       "ROOT/var/cache/sparkfleet/tailscale.list ",
                                       kListUrl),
                          "apt-get update", "apt-get install -y tailscale",
                          "systemctl is-enabled tailscaled", "systemctl enable --now tailscaled",
                          "systemctl is-active tailscaled"));
  EXPECT_THAT(Steps(),
              ElementsAre("check:CHANGED", "apt-keyring:CHANGED", "apt-source:CHANGED",
                          "apt-update:CHANGED", "apt-install:CHANGED", "tailscaled:CHANGED"));
  EXPECT_THAT(Read(kTailscaleListPath),
              HasSubstr("deb [signed-by=/usr/share/keyrings/tailscale-archive-keyring.gpg] "
                        "https://pkgs.tailscale.com/stable/ubuntu noble main"));
  EXPECT_FALSE(Read(kTailscaleKeyringPath).empty());
  EXPECT_FALSE(Exists("/var/cache/sparkfleet/tailscale.list"));  // the download is removed
  ASSERT_NE(Result(), nullptr);
  EXPECT_TRUE(Result()->installed_now());
  EXPECT_TRUE(Result()->daemon_running());
  EXPECT_EQ(Result()->version(), "1.80.2");
  ASSERT_EQ(Result()->changes_size(), 2);
  EXPECT_EQ(Result()->changes(0).path(), kTailscaleKeyringPath);
  EXPECT_THAT(Result()->changes(0).diff(), HasSubstr("content not shown"));  // binary
  EXPECT_EQ(Result()->changes(1).path(), kTailscaleListPath);
  EXPECT_THAT(Result()->changes(1).diff(), HasSubstr("+deb [signed-by="));
}

TEST_F(InstallTailscaleTest, ASecondRunSkipsEveryStep) {
  ASSERT_TRUE(Install().ok());
  Commands();

  ASSERT_TRUE(Install().ok());

  EXPECT_THAT(Commands(),
              ElementsAre("systemctl is-enabled tailscaled", "systemctl is-active tailscaled"));
  EXPECT_THAT(Steps(),
              ElementsAre("check:UNCHANGED", "apt-keyring:UNCHANGED", "apt-source:UNCHANGED",
                          "apt-update:UNCHANGED", "apt-install:UNCHANGED", "tailscaled:UNCHANGED"));
  EXPECT_FALSE(Result()->installed_now());
  EXPECT_TRUE(Result()->daemon_running());
  EXPECT_FALSE(Result()->changes(0).changed());
  EXPECT_FALSE(Result()->changes(1).changed());
}

TEST_F(InstallTailscaleTest, DebianUsesItsCodename) {
  Write("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
  ASSERT_TRUE(Install().ok());
  EXPECT_THAT(Commands()[1], HasSubstr("https://pkgs.tailscale.com/stable/debian/"
                                       "bookworm.tailscale-keyring.list"));
  EXPECT_THAT(Read(kTailscaleListPath), HasSubstr("stable/debian bookworm main"));
}

TEST_F(InstallTailscaleTest, NodesWithoutInternetGetTheRepositoryFromTheRequest) {
  v1::InstallTailscaleRequest request;
  request.mutable_apt_source()->set_keyring_gpg(std::string("\x99\x01\x0d\x04key", 7));
  request.mutable_apt_source()->set_sources_list(
      "deb [signed-by=/usr/share/keyrings/tailscale-archive-keyring.gpg] "
      "https://pkgs.tailscale.com/stable/ubuntu noble main\n");

  ASSERT_TRUE(Install(request).ok());
  EXPECT_THAT(Commands(),
              ElementsAre("apt-get update", "apt-get install -y tailscale",
                          "systemctl is-enabled tailscaled", "systemctl enable --now tailscaled",
                          "systemctl is-active tailscaled"));
  EXPECT_EQ(Read(kTailscaleKeyringPath), request.apt_source().keyring_gpg());

  ASSERT_TRUE(Install(request).ok());
  EXPECT_THAT(Steps(),
              ElementsAre("check:UNCHANGED", "apt-keyring:UNCHANGED", "apt-source:UNCHANGED",
                          "apt-update:UNCHANGED", "apt-install:UNCHANGED", "tailscaled:UNCHANGED"));
}

TEST_F(InstallTailscaleTest, AnAptFailureEndsTheStreamWithAptsMessage) {
  setenv("FAKE_APT_INSTALL_FAIL", "1", 1);

  absl::Status status = Install();

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("`apt-get install -y tailscale` failed on spark-001"));
  EXPECT_THAT(status.message(), HasSubstr("E: Unable to locate package tailscale"));
  EXPECT_EQ(Steps().back(), "apt-install:FAILED");
  EXPECT_EQ(Result(), nullptr);
  EXPECT_EQ(Commands().back(), "apt-get install -y tailscale");  // systemctl never ran
}

TEST_F(InstallTailscaleTest, ADownloadFailureIsRetryableAndWritesNothing) {
  setenv("FAKE_CURL_FAIL", "1", 1);

  absl::Status status = Install();

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("Could not resolve host: pkgs.tailscale.com"));
  EXPECT_FALSE(Exists(kTailscaleKeyringPath));
  EXPECT_EQ(Commands().size(), 1u);
}

TEST_F(InstallTailscaleTest, ADryRunRunsNothingAndWritesNothing) {
  v1::InstallTailscaleRequest request;
  request.set_dry_run(true);

  ASSERT_TRUE(Install(request).ok());

  EXPECT_THAT(Commands(), IsEmpty());
  EXPECT_THAT(Steps(),
              ElementsAre("check:CHANGED", "apt-keyring:CHANGED", "apt-source:CHANGED",
                          "apt-update:CHANGED", "apt-install:CHANGED", "tailscaled:CHANGED"));
  EXPECT_THAT(events_[2].step().message(), HasSubstr(std::string("would download ") + kListUrl));
  EXPECT_FALSE(Exists(kTailscaleListPath));
  EXPECT_TRUE(Result()->installed_now());
}

TEST_F(InstallTailscaleTest, TheDaemonIsStartedWhenThePackageIsAlreadyThere) {
  ASSERT_TRUE(Install().ok());
  std::filesystem::remove(root_ + "/run/fake-systemd/tailscaled.active");
  Commands();

  ASSERT_TRUE(Install().ok());

  EXPECT_THAT(Commands(),
              ElementsAre("systemctl is-enabled tailscaled", "systemctl is-active tailscaled",
                          "systemctl enable --now tailscaled", "systemctl is-active tailscaled"));
  EXPECT_EQ(Steps().back(), "tailscaled:CHANGED");
}

TEST_F(InstallTailscaleTest, AnUnsupportedDistributionSaysWhatToDo) {
  Write("/etc/os-release", "ID=fedora\nVERSION_ID=40\n");
  absl::Status status = Install();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("\"fedora\""));
  EXPECT_THAT(status.message(), HasSubstr("https://tailscale.com/download"));
  EXPECT_THAT(Commands(), IsEmpty());
}

TEST(TailscaleRepoFor, PicksDistributionAndCodename) {
  absl::StatusOr<TailscaleRepo> repo =
      TailscaleRepoFor("ID=ubuntu\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->KeyringUrl(), "https://pkgs.tailscale.com/stable/ubuntu/jammy.noarmor.gpg");
  repo = TailscaleRepoFor(
      "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_CODENAME=wilma\n"
      "UBUNTU_CODENAME=noble\n");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->ListUrl(),
            "https://pkgs.tailscale.com/stable/ubuntu/noble.tailscale-keyring.list");
  EXPECT_EQ(TailscaleRepoFor("ID=debian\n").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(TailscaleRepoFor("ID=ubuntu\nVERSION_CODENAME=../x\n").ok());
}

TEST(ValidateInstallTailscaleRequest, RefusesWhatCouldNotBeUsedSafely) {
  v1::InstallTailscaleRequest request;
  EXPECT_TRUE(ValidateInstallTailscaleRequest(request).ok());
  request.set_version("1.80.2; rm -rf /");
  EXPECT_EQ(ValidateInstallTailscaleRequest(request).code(), absl::StatusCode::kInvalidArgument);
  request.set_version("-o=APT::x");
  EXPECT_FALSE(ValidateInstallTailscaleRequest(request).ok());
  request.set_version("1.80.2");
  request.mutable_apt_source()->set_keyring_gpg("key");
  EXPECT_THAT(ValidateInstallTailscaleRequest(request).message(), HasSubstr("needs both"));
  request.mutable_apt_source()->set_sources_list("deb-src http://x y main\n");
  EXPECT_THAT(ValidateInstallTailscaleRequest(request).message(), HasSubstr("deb ..."));
  request.mutable_apt_source()->set_sources_list("# c\ndeb https://pkgs.tailscale.com x main\n");
  EXPECT_TRUE(ValidateInstallTailscaleRequest(request).ok());
  request.mutable_apt_source()->set_sources_list("deb https://pkgs.tailscale.com x main;id\n");
  EXPECT_THAT(ValidateInstallTailscaleRequest(request).message(),
              HasSubstr("apt_source.sources_list: "));
}

}  // namespace
}  // namespace sparkfleet
