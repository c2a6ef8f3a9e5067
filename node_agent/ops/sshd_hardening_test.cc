#include "node_agent/ops/sshd_hardening.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::ScriptedProcessRunner;

// Debian 12's sshd_config, shortened: the drop-ins come first.
constexpr char kDebianSshdConfig[] =
    "# This is the sshd server system-wide configuration file.\n"
    "Include /etc/ssh/sshd_config.d/*.conf\n"
    "\n"
    "KbdInteractiveAuthentication no\n"
    "UsePAM yes\n"
    "Subsystem sftp /usr/lib/openssh/sftp-server\n";

TEST(RenderSshdDropIn, HardensThenAddsTheClusterOptionsSorted) {
  EXPECT_EQ(RenderSshdDropIn({{"MaxAuthTries", "3"}, {"ClientAliveInterval", "60"}}),
            "# Written by spark-agent (sparkfleet ConfigureSsh); edits here are overwritten.\n"
            "# sshd keeps the first value it reads: this file sorts before 50-cloud-init.conf.\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\n"
            "ClientAliveInterval 60\n"
            "MaxAuthTries 3\n");
}

TEST(RenderSshdDropIn, AClusterOptionReplacesTheDefaultOfTheSameKeyword) {
  std::string text = RenderSshdDropIn({{"permitrootlogin", "no"}});
  EXPECT_THAT(text, HasSubstr("PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                              "permitrootlogin no\n"));
  EXPECT_THAT(text, Not(HasSubstr("prohibit-password")));
}

TEST(ValidateSshdOption, RefusesWhatWouldChangeTheFilesMeaning) {
  EXPECT_TRUE(ValidateSshdOption("AllowUsers", "nvidia admin").ok());
  EXPECT_FALSE(ValidateSshdOption("Max-Tries", "3").ok());
  EXPECT_FALSE(ValidateSshdOption("Match", "User nvidia").ok());
  EXPECT_FALSE(ValidateSshdOption("Include", "/tmp/x.conf").ok());
  EXPECT_FALSE(ValidateSshdOption("Banner", "").ok());
  EXPECT_FALSE(ValidateSshdOption("Banner", "a # b").ok());
  EXPECT_FALSE(ValidateSshdOption("Banner", "a\nPermitRootLogin yes").ok());
  EXPECT_FALSE(ValidateSshdOption("Banner", " padded").ok());
}

TEST(ValidateSshdOption, AcceptsPolicyKeywordsInTheirOwnShapeOnly) {
  for (const auto& [keyword, value] : std::vector<std::pair<const char*, const char*>>{
           {"MaxAuthTries", "3"},
           {"maxstartups", "10:30:100"},
           {"LoginGraceTime", "2m"},
           {"PermitRootLogin", "prohibit-password"},
           {"LogLevel", "VERBOSE"},
           {"Ciphers", "-aes128-cbc"},
           {"KexAlgorithms", "+sntrup761x25519-sha512@openssh.com"},
           {"AuthenticationMethods", "publickey,password publickey"},
           {"DenyUsers", "guest* root@10.0.0.0/8 !admin"}}) {
    EXPECT_TRUE(ValidateSshdOption(keyword, value).ok()) << keyword << " " << value;
  }
  for (const auto& [keyword, value] :
       std::vector<std::pair<const char*, const char*>>{{"Banner", "/etc/shadow"},
                                                        {"AuthorizedKeysCommand", "/tmp/x"},
                                                        {"ForceCommand", "id"},
                                                        {"Subsystem", "sftp /tmp/x"},
                                                        {"MaxAuthTries", "$(id)"},
                                                        {"MaxAuthTries", "-1"},
                                                        {"PasswordAuthentication", "no;id"},
                                                        {"AllowUsers", "../../etc/passwd"},
                                                        {"AllowUsers", "-evil"}}) {
    EXPECT_EQ(ValidateSshdOption(keyword, value).code(), absl::StatusCode::kInvalidArgument)
        << keyword << " " << value;
  }
}

TEST(CheckSshdConfigReadsDropIns, DebianAndUbuntuReadThemFirst) {
  EXPECT_TRUE(CheckSshdConfigReadsDropIns(kDebianSshdConfig, {}).ok());
}

TEST(CheckSshdConfigReadsDropIns, SaysWhichLineWouldWinOrThatTheIncludeIsMissing) {
  absl::Status late = CheckSshdConfigReadsDropIns(
      "PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n", {});
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.message(), HasSubstr("/etc/ssh/sshd_config:1: PasswordAuthentication yes"));
  absl::Status option_late = CheckSshdConfigReadsDropIns(
      "MaxAuthTries=6\nInclude /etc/ssh/sshd_config.d/*.conf\n", {{"MaxAuthTries", "3"}});
  EXPECT_THAT(option_late.message(), HasSubstr(":1: MaxAuthTries=6"));
  absl::Status missing = CheckSshdConfigReadsDropIns("UsePAM yes\n", {});
  EXPECT_THAT(missing.message(), HasSubstr("add `Include /etc/ssh/sshd_config.d/*.conf`"));
}

class HardenSshdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sshd_hardening_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    Put("/etc/ssh/sshd_config", kDebianSshdConfig);
    Put("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
    env_ = NewRootedEnv(root_);
    // A contract double of `sshd -t -f CONFIG`: rejects an unknown keyword in our drop-in.
    runner_.Script("sshd", [this](const std::vector<std::string>& argv, const ProcessOptions&) {
      ProcessResult result;
      result.exit_code = 0;
      std::string drop_in = Read(kSshdDropInPath);
      if (absl::StrContains(drop_in, "Bogus")) {
        result.exit_code = 255;
        result.stderr_text = absl::StrCat(argv[3], ".d/10-sparkfleet.conf: line 6: Bad ",
                                          "configuration option: Bogus\n");
      }
      return result;
    });
    runner_.Script("systemctl", [this](const std::vector<std::string>&, const ProcessOptions&) {
      ProcessResult result;
      result.exit_code = reload_exit_code_;
      if (reload_exit_code_ != 0) result.stderr_text = "Job for ssh.service failed.\n";
      return result;
    });
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Put(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    std::ofstream(root_ + path) << text;
  }
  std::string Read(const std::string& path) {
    std::ifstream in(root_ + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::vector<std::string> Programs() {
    std::vector<std::string> programs;
    for (const auto& argv : runner_.calls()) programs.push_back(argv[0]);
    return programs;
  }

  std::string root_;
  std::unique_ptr<Env> env_;
  ScriptedProcessRunner runner_;
  int reload_exit_code_ = 0;
};

TEST_F(HardenSshdTest, WritesValidatesAndReloadsOnceThenChangesNothing) {
  absl::StatusOr<SshdChange> first = HardenSshd(*env_, runner_, {{"MaxAuthTries", "3"}}, false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->report.changed());
  EXPECT_TRUE(first->reloaded);
  EXPECT_THAT(Read(kSshdDropInPath), HasSubstr("PasswordAuthentication no\n"));
  ASSERT_EQ(runner_.calls().size(), 2u);
  EXPECT_THAT(runner_.calls()[0], ElementsAre("sshd", "-t", "-f", root_ + "/etc/ssh/sshd_config"));
  EXPECT_THAT(runner_.calls()[1], ElementsAre("systemctl", "try-reload-or-restart", "ssh.service"));

  absl::StatusOr<SshdChange> again = HardenSshd(*env_, runner_, {{"MaxAuthTries", "3"}}, false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->report.changed());
  EXPECT_FALSE(again->reloaded);
  EXPECT_EQ(runner_.calls().size(), 2u);  // neither validated nor reloaded again
}

TEST_F(HardenSshdTest, AnOptionSshdRejectsIsRemovedAndSshdIsNotReloaded) {
  absl::StatusOr<SshdChange> change = HardenSshd(*env_, runner_, {{"Bogus", "1"}}, false);
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(change.status().message(), HasSubstr("Bad configuration option: Bogus"));
  EXPECT_THAT(change.status().message(), HasSubstr("was removed (there was none)"));
  EXPECT_THAT(change.status().message(), HasSubstr("sshd was not reloaded"));
  EXPECT_FALSE(std::filesystem::exists(root_ + kSshdDropInPath));
  EXPECT_THAT(Programs(), ElementsAre("sshd"));
}

TEST_F(HardenSshdTest, AnOptionSshdRejectsPutsThePreviousDropInBackByteForByte) {
  ASSERT_TRUE(HardenSshd(*env_, runner_, {{"MaxAuthTries", "3"}}, false).ok());
  const std::string before = Read(kSshdDropInPath);
  absl::StatusOr<SshdChange> change = HardenSshd(*env_, runner_, {{"Bogus", "1"}}, false);
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(change.status().message(), HasSubstr("was restored; sshd was not reloaded"));
  EXPECT_EQ(Read(kSshdDropInPath), before);
  EXPECT_THAT(Programs(), ElementsAre("sshd", "systemctl", "sshd"));
}

TEST_F(HardenSshdTest, AFailedReloadPutsThePreviousDropInBack) {
  reload_exit_code_ = 1;
  absl::StatusOr<SshdChange> change = HardenSshd(*env_, runner_, {}, false);
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(change.status().message(), HasSubstr("try-reload-or-restart ssh.service` exit"));
  EXPECT_THAT(change.status().message(), HasSubstr("(`sshd -t` on it: ok)"));
  EXPECT_FALSE(std::filesystem::exists(root_ + kSshdDropInPath));
  EXPECT_THAT(Programs(), ElementsAre("sshd", "systemctl", "sshd"));
}

TEST_F(HardenSshdTest, DryRunShowsTheDiffAndRunsNothing) {
  absl::StatusOr<SshdChange> change = HardenSshd(*env_, runner_, {}, true);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_TRUE(change->report.changed());
  EXPECT_TRUE(change->reloaded);  // would be
  EXPECT_THAT(change->report.diff(), HasSubstr("+PermitRootLogin prohibit-password\n"));
  EXPECT_FALSE(std::filesystem::exists(root_ + kSshdDropInPath));
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(HardenSshdTest, RefusesWhenSshdIsMissingOrWouldIgnoreTheDropIn) {
  ScriptedProcessRunner no_sshd;
  absl::StatusOr<SshdChange> change = HardenSshd(*env_, no_sshd, {}, false);
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(change.status().message(), HasSubstr("sshd is not on the agent's PATH"));

  Put("/etc/ssh/sshd_config", "PasswordAuthentication yes\n");
  change = HardenSshd(*env_, runner_, {}, false);
  EXPECT_EQ(change.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(std::filesystem::exists(root_ + kSshdDropInPath));
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

}  // namespace
}  // namespace sparkfleet
