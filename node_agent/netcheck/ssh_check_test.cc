#include "node_agent/netcheck/ssh_check.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// OpenSSH 9.2p1's words for each way a BatchMode login with strict host key checking
// ends (captured between two network namespaces).
constexpr char kHostKeyUnknown[] =
    "No ED25519 host key is known for 10.203.196.102 and you have requested strict checking.\r\n"
    "Host key verification failed.\r\n";
constexpr char kHostKeyChanged[] =
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
    "Offending ED25519 key in /root/.ssh/known_hosts:1\n"
    "Host key for 10.203.196.102 has changed and you have requested strict checking.\n"
    "Host key verification failed.\n";

TEST(DiagnoseSshFailure, NamesEveryOutcomeWithTheLineThatSaysSo) {
  struct Case {
    const char* stderr_text;
    v1::SshCheckOutcome outcome;
    const char* detail;
  };
  const Case cases[] = {
      {"root@10.203.196.102: Permission denied (publickey).\r\n",
       v1::SSH_CHECK_OUTCOME_AUTH_REFUSED, "root@10.203.196.102: Permission denied (publickey)."},
      {kHostKeyUnknown, v1::SSH_CHECK_OUTCOME_HOST_KEY_UNKNOWN,
       "No ED25519 host key is known for 10.203.196.102 and you have requested strict checking."},
      {"Host key verification failed.\n", v1::SSH_CHECK_OUTCOME_HOST_KEY_UNKNOWN,
       "Host key verification failed."},
      {kHostKeyChanged, v1::SSH_CHECK_OUTCOME_HOST_KEY_CHANGED,
       "Host key for 10.203.196.102 has changed and you have requested strict checking."},
      {"ssh: connect to host 10.203.196.103 port 22: Connection refused\r\n",
       v1::SSH_CHECK_OUTCOME_CONNECTION_REFUSED,
       "ssh: connect to host 10.203.196.103 port 22: Connection refused"},
      {"ssh: connect to host 10.203.196.150 port 22: Connection timed out\r\n",
       v1::SSH_CHECK_OUTCOME_TIMEOUT,
       "ssh: connect to host 10.203.196.150 port 22: Connection timed out"},
      {"ssh: connect to host spark-002 port 22: Operation timed out\n",
       v1::SSH_CHECK_OUTCOME_TIMEOUT,
       "ssh: connect to host spark-002 port 22: Operation timed out"},
      {"ssh: Could not resolve hostname nosuch: Name or service not known\r\n",
       v1::SSH_CHECK_OUTCOME_NAME_UNRESOLVED,
       "ssh: Could not resolve hostname nosuch: Name or service not known"},
      {"kex_exchange_identification: read: Connection reset by peer\r\n",
       v1::SSH_CHECK_OUTCOME_OTHER, "kex_exchange_identification: read: Connection reset by peer"},
      {"", v1::SSH_CHECK_OUTCOME_OTHER, "ssh failed without a message"},
  };
  for (const Case& c : cases) {
    SshDiagnosis diagnosis = DiagnoseSshFailure(c.stderr_text);
    EXPECT_EQ(diagnosis.outcome, c.outcome) << c.stderr_text;
    EXPECT_EQ(diagnosis.detail, c.detail);
  }
}

TEST(HomeFromPasswd, FindsTheUsersHome) {
  constexpr char kPasswd[] =
      "root:x:0:0:root:/root:/bin/bash\nnvidia:x:1000:1000:,,,:/home/nvidia:/bin/bash\n";
  EXPECT_EQ(HomeFromPasswd(kPasswd, "nvidia"), "/home/nvidia");
  EXPECT_EQ(HomeFromPasswd(kPasswd, "root"), "/root");
  EXPECT_EQ(HomeFromPasswd(kPasswd, "nvid"), std::nullopt);
}

TEST(SshArgv, IsBatchModeStrictWithTheUsersFilesAndRunuserForAnotherUser) {
  v1::SshTarget target;
  target.set_host("10.0.0.2");
  SshFiles files{"/r/home/nvidia/.ssh/id_ed25519", "/r/home/nvidia/.ssh/known_hosts",
                 "/r/etc/ssh/ssh_known_hosts"};
  EXPECT_THAT(
      SshArgv(target, "nvidia", files, absl::Seconds(5), "nvidia"),
      ElementsAre("runuser", "-u", "nvidia", "--", "ssh", "-F", "none", "-o", "BatchMode=yes", "-o",
                  "ConnectTimeout=5", "-o", "StrictHostKeyChecking=yes", "-o",
                  "UserKnownHostsFile=/r/home/nvidia/.ssh/known_hosts", "-o",
                  "GlobalKnownHostsFile=/r/etc/ssh/ssh_known_hosts", "-o", "IdentitiesOnly=yes",
                  "-i", "/r/home/nvidia/.ssh/id_ed25519", "-l", "nvidia", "-p", "22", "--",
                  "10.0.0.2", "hostname"));
  EXPECT_EQ(SshArgv(target, "nvidia", files, absl::Seconds(5), "").front(), "ssh");
}

TEST(ValidateCheckSshRequest, RefusesBadHostsUsersAndPorts) {
  v1::CheckSshRequest request;
  EXPECT_THAT(std::string(ValidateCheckSshRequest(request).message()),
              HasSubstr("targets: at least one"));
  request.add_targets()->set_host("-oProxyCommand=x");
  EXPECT_THAT(std::string(ValidateCheckSshRequest(request).message()),
              HasSubstr("CheckSshRequest.targets[0].host: \"-oProxyCommand=x\""));
  request.mutable_targets(0)->set_host("spark-002");
  request.mutable_targets(0)->set_port(70000);
  EXPECT_THAT(std::string(ValidateCheckSshRequest(request).message()),
              HasSubstr("targets[0].port"));
  request.mutable_targets(0)->set_port(22);
  request.set_user("Bad User");
  EXPECT_THAT(std::string(ValidateCheckSshRequest(request).message()),
              HasSubstr("CheckSshRequest.user"));
  request.set_user("nvidia");
  EXPECT_TRUE(ValidateCheckSshRequest(request).ok());
}

// Answers every ssh run with a canned result and keeps the argv it was given.
class CannedRunner final : public ProcessRunner {
 public:
  explicit CannedRunner(ProcessResult result) : result_(std::move(result)) {}
  absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& argv,
                                    const ProcessOptions&) override {
    absl::MutexLock lock(&mu_);
    argvs_.push_back(argv);
    return result_;
  }
  absl::StatusOr<std::string> Find(const std::string& program) const override { return program; }
  std::vector<std::vector<std::string>> argvs() {
    absl::MutexLock lock(&mu_);
    return argvs_;
  }

 private:
  const ProcessResult result_;
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> argvs_;
};

class SshCheckerTest : public ::testing::Test {
 protected:
  SshCheckerTest() {
    char pattern[] = "/tmp/sparkfleet-ssh-XXXXXX";
    root_ = mkdtemp(pattern);
    std::filesystem::create_directories(root_ + "/etc");
    std::ofstream(root_ + "/etc/passwd") << "nvidia:x:1000:1000::/home/nvidia:/bin/bash\n";
    env_ = NewRootedEnv(root_);
  }
  ~SshCheckerTest() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::unique_ptr<Env> env_;
};

TEST_F(SshCheckerTest, OkReportsTheRemoteHostnameAndUsesFilesUnderTheRoot) {
  ProcessResult ok;
  ok.exit_code = 0;
  ok.stdout_text = "spark-002\n";
  CannedRunner runner(ok);
  SshChecker checker(*env_, runner, "root");
  v1::CheckSshRequest request;
  request.set_user("nvidia");
  request.add_targets()->set_host("10.0.0.2");

  v1::CheckSshReply reply = checker.Check(request, nullptr);

  ASSERT_EQ(reply.results_size(), 1);
  EXPECT_EQ(reply.results(0).outcome(), v1::SSH_CHECK_OUTCOME_OK);
  EXPECT_EQ(reply.results(0).remote_hostname(), "spark-002");
  EXPECT_EQ(reply.results(0).user(), "nvidia");
  EXPECT_EQ(reply.results(0).port(), 22u);
  ASSERT_EQ(runner.argvs().size(), 1u);
  std::vector<std::string> argv = runner.argvs()[0];
  EXPECT_EQ(argv[0], "runuser");
  EXPECT_THAT(argv, Contains(root_ + "/home/nvidia/.ssh/id_ed25519"));
  EXPECT_THAT(argv, Contains("UserKnownHostsFile=" + root_ + "/home/nvidia/.ssh/known_hosts"));
}

TEST_F(SshCheckerTest, RefusalWithoutAKeySaysTrustIsNotSetUp) {
  ProcessResult refused;
  refused.exit_code = 255;
  refused.stderr_text = "nvidia@10.0.0.2: Permission denied (publickey).\r\n";
  CannedRunner runner(refused);
  SshChecker checker(*env_, runner, "nvidia");
  v1::CheckSshRequest request;
  request.add_targets()->set_host("10.0.0.2");
  request.add_targets()->set_host("10.0.0.3");

  v1::CheckSshReply reply = checker.Check(request, nullptr);

  ASSERT_EQ(reply.results_size(), 2);
  EXPECT_EQ(reply.results(1).target(), "10.0.0.3");
  EXPECT_EQ(reply.results(0).outcome(), v1::SSH_CHECK_OUTCOME_AUTH_REFUSED);
  EXPECT_THAT(reply.results(0).detail(), HasSubstr("Permission denied (publickey)."));
  EXPECT_THAT(reply.results(0).detail(),
              HasSubstr("no key /home/nvidia/.ssh/id_ed25519 for nvidia on this node: SSH "
                        "trust is not set up"));
  EXPECT_EQ(runner.argvs()[0][0], "ssh");  // the agent already is the cluster user
}

TEST_F(SshCheckerTest, KilledAtTheTimeoutIsTimeout) {
  ProcessResult slow;
  slow.timed_out = true;
  slow.timeout = absl::Seconds(15);
  CannedRunner runner(slow);
  SshChecker checker(*env_, runner, "root");
  v1::CheckSshRequest request;
  request.add_targets()->set_host("10.0.0.2");

  v1::CheckSshReply reply = checker.Check(request, nullptr);

  EXPECT_EQ(reply.results(0).outcome(), v1::SSH_CHECK_OUTCOME_TIMEOUT);
  EXPECT_EQ(reply.results(0).detail(), "ssh timed out after 15s");
}

}  // namespace
}  // namespace sparkfleet
