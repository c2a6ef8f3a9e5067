#include "coordinator/bootstrap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/bootstrap_fake_nodes.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::Exit;
using testing::FakeNodes;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::ScriptedProcessRunner;
using ::testing::UnorderedElementsAre;

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/bootstrap.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    local_ = NewRootedEnv(root_);
    Write("/build/spark-agent", "agent v1", 0755);
    Write("/build/spark-nccl-worker", "worker v1", 0755);
    Write("/pki/ca.crt", "CA");
    Write("/pki/spark-001.crt", "CERT 1");
    Write("/pki/spark-001.key", "KEY 1", 0600);
    Write("/pki/spark-002.crt", "CERT 2");
    Write("/pki/spark-002.key", "KEY 2", 0600);
    Write("/home/admin/.ssh/id_ed25519", "SSH KEY", 0600);
    Write("/home/admin/.ssh/known_hosts", "");
    ASSERT_TRUE(local_->MakeDirs("/staging", 0700).ok());
    sources_ = {"/build/spark-agent", "/build/spark-nccl-worker", "/pki", "UNIT v1", "/staging"};
    options_.ssh.key_path = "/home/admin/.ssh/id_ed25519";
    options_.ssh.known_hosts_path = "/home/admin/.ssh/known_hosts";
    options_.health_timeout = absl::Milliseconds(300);
    options_.health_interval = absl::Milliseconds(20);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Write(const std::string& path, const std::string& content, mode_t mode = 0644) {
    ASSERT_TRUE(local_->MakeDirs(path.substr(0, path.rfind('/')), 0755).ok());
    WriteOptions write;
    write.mode = mode;
    write.backup = false;
    ASSERT_TRUE(local_->WriteFileAtomic(path, content, write).ok());
  }

  std::vector<BootstrapNodeResult> Run(const std::vector<ClusterNode>& nodes) {
    return BootstrapNodes(nodes, sources_, options_, *local_, runner_, health_);
  }
  BootstrapNodeResult RunOne() { return Run({node1_}).at(0); }

  std::string root_;
  std::unique_ptr<Env> local_;
  ScriptedProcessRunner runner_;
  FakeNodes fake_{runner_};
  BootstrapSources sources_;
  BootstrapOptions options_;
  ClusterNode node1_{"spark-001", "192.168.100.10", "nvidia", 50151};
  ClusterNode node2_{"spark-002", "192.168.100.11", "nvidia", 50151};
  int health_checks_ = 0;
  AgentHealthCheck health_ = [this](const ClusterNode&, absl::Duration) {
    ++health_checks_;
    return absl::OkStatus();
  };
};

const char* const kAllFiles[] = {"/usr/local/bin/spark-agent",
                                 "/etc/sparkfleet/ca.crt",
                                 "/etc/systemd/system/spark-agent.service",
                                 "/usr/local/bin/spark-nccl-worker",
                                 "/etc/sparkfleet/node.crt",
                                 "/etc/sparkfleet/node.key",
                                 "/etc/sparkfleet/agent.yaml"};

TEST_F(BootstrapTest, FirstInstallPutsEveryFileInPlaceAndStartsTheAgent) {
  BootstrapNodeResult result = RunOne();
  ASSERT_EQ(result.state, BootstrapState::kChanged) << result.failed_step << ": " << result.error;
  EXPECT_THAT(result.changed_files,
              UnorderedElementsAre(kAllFiles[0], kAllFiles[1], kAllFiles[2], kAllFiles[3],
                                   kAllFiles[4], kAllFiles[5], kAllFiles[6]));
  EXPECT_THAT(result.service_actions, ElementsAre("daemon-reload", "enable --now"));
  FakeNodes::Node& node = fake_["192.168.100.10"];
  EXPECT_EQ(node.installed["/usr/local/bin/spark-agent"], "agent v1");
  EXPECT_EQ(node.installed["/etc/sparkfleet/node.key"], "KEY 1");
  EXPECT_EQ(node.installed["/etc/systemd/system/spark-agent.service"], "UNIT v1");
  EXPECT_THAT(node.installed["/etc/sparkfleet/agent.yaml"], HasSubstr("node_name: spark-001"));
  EXPECT_EQ(node.modes["/etc/sparkfleet/node.key"], "0600");
  EXPECT_EQ(node.modes["/usr/local/bin/spark-agent"], "0755");
  EXPECT_EQ(node.modes["/etc/sparkfleet/ca.crt"], "0644");
  EXPECT_THAT(node.commands, Contains("rm -rf -- /tmp/sparkfleet-bootstrap.Ab12Cd34Ef"));
  EXPECT_THAT(node.commands, Contains("sudo -n systemctl enable --now spark-agent.service"));
  EXPECT_EQ(health_checks_, 1);
}

TEST_F(BootstrapTest, EveryCallChecksHostKeysWithTheClusterKey) {
  RunOne();
  for (const std::vector<std::string>& argv : runner_.calls()) {
    EXPECT_THAT(argv, Contains("StrictHostKeyChecking=yes"));
    EXPECT_THAT(argv, Not(Contains("StrictHostKeyChecking=no")));
    EXPECT_THAT(argv, Contains(root_ + "/home/admin/.ssh/id_ed25519"));
    EXPECT_THAT(argv, Contains("UserKnownHostsFile=" + root_ + "/home/admin/.ssh/known_hosts"));
    EXPECT_THAT(argv, Contains("BatchMode=yes"));
  }
}

TEST_F(BootstrapTest, ASecondRunCopiesNothingAndLeavesTheServiceAlone) {
  ASSERT_EQ(RunOne().state, BootstrapState::kChanged);
  size_t calls_before = fake_["192.168.100.10"].commands.size();
  BootstrapNodeResult again = RunOne();
  EXPECT_EQ(again.state, BootstrapState::kOk) << again.error;
  EXPECT_THAT(again.changed_files, IsEmpty());
  EXPECT_THAT(again.service_actions, IsEmpty());
  std::vector<std::string> second(fake_["192.168.100.10"].commands.begin() + calls_before,
                                  fake_["192.168.100.10"].commands.end());
  EXPECT_THAT(second, ElementsAre("id -u", "uname -m", "sudo -n true",
                                  HasSubstr("sudo -n sha256sum --"), HasSubstr("systemctl show")));
  EXPECT_EQ(health_checks_, 2);
}

TEST_F(BootstrapTest, ANewBinaryIsCopiedAloneAndRestartsARunningAgent) {
  ASSERT_EQ(RunOne().state, BootstrapState::kChanged);
  Write("/build/spark-agent", "agent v2", 0755);
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.state, BootstrapState::kChanged) << result.error;
  EXPECT_THAT(result.changed_files, ElementsAre("/usr/local/bin/spark-agent"));
  EXPECT_THAT(result.service_actions, ElementsAre("restart"));
  EXPECT_EQ(fake_["192.168.100.10"].installed["/usr/local/bin/spark-agent"], "agent v2");
}

TEST_F(BootstrapTest, RootNeedsNoSudo) {
  fake_["192.168.100.10"].root = true;
  ASSERT_EQ(RunOne().state, BootstrapState::kChanged);
  for (const std::string& command : fake_["192.168.100.10"].commands) {
    EXPECT_FALSE(absl::StartsWith(command, "sudo")) << command;
  }
}

TEST_F(BootstrapTest, AnUnknownHostKeyFailsAtConnectWithWhatToDo) {
  fake_.Fail("id -u", Exit(255, "", "Host key verification failed.\n"));
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.state, BootstrapState::kFailed);
  EXPECT_EQ(result.failed_step, "connect");
  EXPECT_EQ(result.error.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.error.message(), HasSubstr("Host key verification failed."));
  EXPECT_THAT(result.error.message(), HasSubstr("--accept-new-host-keys"));
  EXPECT_EQ(health_checks_, 0);
}

// An ELF header's first 20 bytes for `machine` (e_machine, little endian).
std::string ElfHeader(unsigned char machine) {
  std::string header(
      "\x7f"
      "ELF\x02\x01\x01",
      7);
  header.resize(18, '\0');
  header.push_back(static_cast<char>(machine));
  header.push_back('\0');
  return header + "rest of the binary";
}

TEST_F(BootstrapTest, AnAgentBuiltForAnotherMachineIsRefusedBeforeAnythingIsCopied) {
  Write("/build/spark-agent", ElfHeader(62), 0755);  // x86_64
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.failed_step, "connect");
  EXPECT_THAT(result.error.message(), HasSubstr("is built for x86_64 but spark-001 is aarch64"));
  EXPECT_THAT(fake_["192.168.100.10"].installed, IsEmpty());
  Write("/build/spark-agent", ElfHeader(183), 0755);  // aarch64
  EXPECT_EQ(RunOne().state, BootstrapState::kChanged);
}

TEST_F(BootstrapTest, SudoThatWantsAPasswordFailsWithWhatToDo) {
  fake_["192.168.100.10"].sudo_ok = false;
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.failed_step, "sudo");
  EXPECT_THAT(result.error.message(), HasSubstr("sudo: a password is required"));
  EXPECT_THAT(result.error.message(), HasSubstr("NOPASSWD"));
}

TEST_F(BootstrapTest, AFailedInstallStillRemovesTheStagingDirectory) {
  fake_.Fail("sudo -n install -D -m 0600",
             Exit(1, "", "install: cannot create regular file: Read-only file system\n"));
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.failed_step, "install");
  EXPECT_THAT(result.error.message(), HasSubstr("Read-only file system"));
  EXPECT_EQ(fake_["192.168.100.10"].commands.back(),
            "rm -rf -- /tmp/sparkfleet-bootstrap.Ab12Cd34Ef");
}

TEST_F(BootstrapTest, AnAgentThatDoesNotStartShowsItsJournal) {
  fake_.Fail("sudo -n systemctl enable",
             Exit(1, "",
                  "Job for spark-agent.service failed because the control process "
                  "exited with error code.\n"));
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.failed_step, "systemd");
  EXPECT_THAT(result.error.message(), HasSubstr("Job for spark-agent.service failed"));
  EXPECT_THAT(result.error.message(), HasSubstr("node.key: permission denied"));
}

TEST_F(BootstrapTest, AnAgentThatNeverServesFailsAtHealthAfterTheDeadline) {
  health_ = [this](const ClusterNode&, absl::Duration) {
    ++health_checks_;
    return absl::UnavailableError("connection refused");
  };
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.failed_step, "health");
  EXPECT_EQ(result.error.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.error.message(), HasSubstr("did not report SERVING"));
  EXPECT_GT(health_checks_, 2);
}

TEST_F(BootstrapTest, CheckReportsWhatWouldChangeAndChangesNothing) {
  options_.check = true;
  BootstrapNodeResult result = RunOne();
  EXPECT_EQ(result.state, BootstrapState::kChanged);
  EXPECT_EQ(result.changed_files.size(), 7u);
  EXPECT_THAT(result.service_actions, ElementsAre("daemon-reload", "enable --now"));
  EXPECT_THAT(fake_["192.168.100.10"].installed, IsEmpty());
  for (const std::string& command : fake_["192.168.100.10"].commands) {
    EXPECT_THAT(command, Not(HasSubstr("mktemp")));
    EXPECT_THAT(command, Not(HasSubstr("enable")));
  }
  EXPECT_EQ(health_checks_, 0);
}

TEST_F(BootstrapTest, AMissingNodeCertificateFailsOnlyThatNode) {
  ASSERT_TRUE(local_->RemoveFile("/pki/spark-002.key").ok());
  options_.parallel = 2;
  std::vector<BootstrapNodeResult> results = Run({node1_, node2_});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].state, BootstrapState::kChanged);
  EXPECT_EQ(results[1].node, "spark-002");
  EXPECT_EQ(results[1].failed_step, "prepare");
  EXPECT_THAT(results[1].error.message(),
              HasSubstr("sparkctl pki issue --dir /pki --node spark-002 --ip 192.168.100.11"));
}

TEST_F(BootstrapTest, ManyNodesInFewWorkersKeepTheirOrder) {
  std::vector<ClusterNode> nodes;
  for (int i = 0; i < 6; ++i) {
    std::string name = absl::StrCat("spark-10", i);
    Write("/pki/" + name + ".crt", "C");
    Write("/pki/" + name + ".key", "K", 0600);
    nodes.push_back({name, absl::StrCat("10.0.0.", i + 1), "nvidia", 50151});
  }
  options_.parallel = 2;
  std::vector<BootstrapNodeResult> results = Run(nodes);
  ASSERT_EQ(results.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(results[i].node, nodes[i].hostname);
    EXPECT_EQ(results[i].state, BootstrapState::kChanged) << results[i].error;
  }
}

TEST_F(BootstrapTest, SourcesAreCheckedBeforeAnyNodeIsContacted) {
  EXPECT_TRUE(CheckBootstrapSources(sources_, options_, *local_).ok());
  ASSERT_TRUE(local_->RemoveFile("/home/admin/.ssh/known_hosts").ok());
  absl::Status status = CheckBootstrapSources(sources_, options_, *local_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("--accept-new-host-keys"));
  options_.ssh.accept_new_host_keys = true;
  EXPECT_TRUE(CheckBootstrapSources(sources_, options_, *local_).ok());
  Write("/build/spark-agent", "not executable", 0644);
  EXPECT_THAT(CheckBootstrapSources(sources_, options_, *local_).message(),
              HasSubstr("not executable"));
  sources_.agent_binary = "/build/missing";
  EXPECT_EQ(CheckBootstrapSources(sources_, options_, *local_).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(runner_.calls().empty());
}

TEST(BootstrapAgentYaml, ServesTlsOnTheNodePortUnderItsName) {
  std::string yaml = RenderBootstrapAgentYaml({"spark-001", "192.168.100.10", "nvidia", 50199});
  EXPECT_THAT(yaml, HasSubstr("listen: 0.0.0.0:50199\n"));
  EXPECT_THAT(yaml, HasSubstr("tls_cert: /etc/sparkfleet/node.crt\n"));
  EXPECT_THAT(yaml, HasSubstr("tls_key: /etc/sparkfleet/node.key\n"));
  EXPECT_THAT(yaml, HasSubstr("tls_ca: /etc/sparkfleet/ca.crt\n"));
  EXPECT_THAT(yaml, HasSubstr("node_name: spark-001\n"));
  EXPECT_THAT(RenderBootstrapAgentYaml({"spark-002", "fd00::2", "nvidia", 50151}),
              HasSubstr("listen: [::]:50151\n"));
}

TEST(SparkAgentUnit, IsDeploysUnitAndStartsTheAgentBootstrapInstalls) {
  std::ifstream in(std::string(SPARKFLEET_SOURCE_DIR) + "/deploy/spark-agent.service");
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(SparkAgentUnit(), file.str());
  EXPECT_THAT(std::string(SparkAgentUnit()),
              HasSubstr(absl::StrCat("\nExecStart=", kNodeAgentPath,
                                     " --config /etc/sparkfleet/agent.yaml\n")));
}

}  // namespace
}  // namespace sparkfleet
