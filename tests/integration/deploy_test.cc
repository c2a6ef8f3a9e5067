// `sparkctl deploy` and Coordinator.Deploy against three real agents on DGX Spark fixture
// roots (real ssh-keygen, iperf3 and ping over loopback; sshd, systemctl, netplan,
// exportfs and mount doubles): check mode changes nothing, a real deploy does every step,
// a second one changes nothing, and a node stopped half-way gets no later step while the
// others finish.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/tls.h"
#include "coordinator/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sparkfleet/v1/coordinator.grpc.pb.h"
#include "tests/integration/harness.h"
#include "tests/integration/node_seed.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kNodes = 3;
constexpr char kSections[] = "enable_nccl: true\nnccl: {install: none}\nnfs: {}\n";

// Every file (and directory) under `root` with its mode and content.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           root, std::filesystem::directory_options::none)) {
    struct stat info;
    if (lstat(entry.path().c_str(), &info) != 0) continue;
    std::string value = absl::StrCat(info.st_mode, ":");
    if (S_ISREG(info.st_mode)) value += ClusterHarness::ReadFile(entry.path());
    files[entry.path().string()] = value;
  }
  return files;
}

// The step events (task empty) of a --json deploy as "node/step" -> state name, and the recap.
struct DeployStream {
  std::map<std::string, std::string> steps;
  std::vector<v1::DeployEvent> events;
  v1::DeployRecap recap;
};

DeployStream ParseStream(const std::string& text) {
  DeployStream stream;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    v1::DeployEvent event;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &event).ok())
        << line;
    if (event.has_recap()) stream.recap = event.recap();
    if (!event.node().empty() && event.task().empty()) {
      stream.steps[absl::StrCat(event.node(), "/", event.step())] =
          std::string(absl::StripPrefix(v1::DeployState_Name(event.state()), "DEPLOY_STATE_"));
    }
    stream.events.push_back(std::move(event));
  }
  return stream;
}

class DeployIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSshTools(cluster_.dir() + "/tools", cluster_.dir() + "/ssh-tools.log");
    // validate's ssh check logs in to 127.0.0.1: a double, not this machine's sshd.
    std::string ssh = cluster_.dir() + "/tools/ssh";
    std::ofstream(ssh) << "#!/bin/sh\necho node\n";
    chmod(ssh.c_str(), 0755);
    for (int i = 0; i < kNodes; ++i) {
      std::string name = absl::StrCat("spark-00", i + 1);
      std::string seed = absl::StrCat(cluster_.dir(), "/seed-", name);
      ASSERT_NO_FATAL_FAILURE(WriteSeed(seed, kSeedHostKeys[i]));
      setenv("SPARKFLEET_FAKE_ROOT", absl::StrCat(cluster_.dir(), "/", name, "/root").c_str(), 1);
      setenv("SPARKFLEET_FAKE_TOOL_LOG", absl::StrCat(cluster_.dir(), "/", name, ".log").c_str(),
             1);
      // Each node's own tool directory comes first, so a test can put a tool in one node.
      std::string own_tools = absl::StrCat(cluster_.dir(), "/tools-", name);
      std::filesystem::create_directories(own_tools);
      absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent(
          name,
          {"--tool-path=" + own_tools, "--tool-path=" + cluster_.dir() + "/tools",
           "--tool-path=" + std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"},
          seed);
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(*agent);
    }
    std::string yaml =
        absl::StrCat("cluster_name: it\nuser: nvidia\nssh_key_path: ", KeyPath(), "\nnodes:\n");
    for (const AgentProcess* agent : agents_) {
      absl::StrAppend(&yaml, "  - {hostname: ", agent->name, ", ip: 127.0.0.1, port: ", agent->port,
                      "}\n");
    }
    absl::StrAppend(&yaml,
                    "agent:\n  tls: {ca: pki/ca.crt, cert: pki/admin.crt, key: pki/admin.key}\n",
                    kSections);
    yaml_ = cluster_.dir() + "/cluster.yaml";
    std::ofstream(yaml_) << yaml;
  }

  std::string KeyPath() const { return cluster_.dir() + "/admin/.ssh/id_cluster"; }

  std::vector<std::map<std::string, std::string>> Roots() const {
    std::vector<std::map<std::string, std::string>> roots;
    for (const AgentProcess* agent : agents_) roots.push_back(Snapshot(agent->root));
    return roots;
  }

  ProcessResult Deploy(const std::vector<std::string>& flags, bool json) {
    std::vector<std::string> args = {"-c", yaml_, "--timeout", "20"};
    if (json) args.push_back("--json");
    args.push_back("deploy");
    args.insert(args.end(), flags.begin(), flags.end());
    return cluster_.RunSparkctl(args, absl::Seconds(240));
  }

  ClusterHarness cluster_;
  std::vector<AgentProcess*> agents_;
  std::string yaml_;
};

TEST_F(DeployIntegration, CheckChangesNothingThenDeployThenNothingToDo) {
  auto before = Roots();
  ProcessResult check = Deploy({"--check"}, /*json=*/false);
  EXPECT_EQ(check.exit_code, 0) << check.stdout_text << check.stderr_text;
  EXPECT_THAT(check.stdout_text,
              HasSubstr("NODE       SINGLE-NODE  MULTI-NODE  TAILSCALE  NCCL     VALIDATE  RESULT\n"
                        "spark-001  changed      changed     skipped    changed  skipped   "
                        "changed\n"));
  EXPECT_THAT(check.stdout_text, HasSubstr("+NCCL_SOCKET_IFNAME="));  // diffs in check mode
  EXPECT_THAT(check.stdout_text, HasSubstr("(check: nothing was changed)"));
  EXPECT_EQ(Roots(), before) << "deploy --check changed a file under a node's root";
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));

  ProcessResult run = Deploy({}, /*json=*/true);
  EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  DeployStream stream = ParseStream(run.stdout_text);
  for (const AgentProcess* agent : agents_) {
    const std::string& n = agent->name;
    EXPECT_EQ(stream.steps[n + "/single-node"], "CHANGED") << n;
    EXPECT_EQ(stream.steps[n + "/multi-node"], "CHANGED") << n;
    EXPECT_EQ(stream.steps[n + "/tailscale"], "SKIPPED") << n;
    EXPECT_EQ(stream.steps[n + "/nccl"], "CHANGED") << n;
    EXPECT_EQ(stream.steps[n + "/validate"], "OK") << n << run.stdout_text;
    EXPECT_THAT(ClusterHarness::ReadFile(agent->root + "/etc/nccl.conf"),
                HasSubstr("NCCL_SOCKET_IFNAME="));
    EXPECT_THAT(ClusterHarness::ReadFile(agent->root + "/etc/hosts"),
                HasSubstr("127.0.0.1\tspark-003\n"));
  }
  // Every mutating call that ran is in the node's audit log, with who made it; the dry
  // runs of --check are not (the roots were identical above).
  std::string audit =
      ClusterHarness::ReadFile(agents_[0]->root + "/var/log/sparkfleet/audit.jsonl");
  for (const char* method :
       {"GenerateSshKey", "ConfigureSsh", "ConfigureHosts", "ConfigureNfs", "WriteNcclConf"}) {
    EXPECT_THAT(audit, HasSubstr(absl::StrCat("\"method\":\"", method, "\",\"outcome\":\"OK\"")))
        << method << "\n"
        << audit;
  }
  EXPECT_THAT(audit, HasSubstr("\"role\":\"admin\""));
  EXPECT_THAT(audit, HasSubstr("\"files\":[\"/etc/nccl.conf\"]"));
  ASSERT_EQ(stream.recap.nodes_size(), kNodes);
  EXPECT_TRUE(stream.recap.ok());
  EXPECT_EQ(stream.recap.nodes(0).changed(), 3u);
  EXPECT_EQ(stream.recap.nodes(0).ok(), 1u);
  EXPECT_EQ(stream.recap.nodes(0).skipped(), 1u);
  // Task events come before their step's event, and every event has a step.
  ASSERT_FALSE(stream.events.empty());
  EXPECT_EQ(stream.events.front().task(), "GenerateSshKey");
  EXPECT_TRUE(stream.events.back().has_recap());

  ProcessResult again = Deploy({}, /*json=*/false);
  EXPECT_EQ(again.exit_code, 0) << again.stdout_text << again.stderr_text;
  EXPECT_THAT(again.stdout_text,
              HasSubstr("spark-002  ok           ok          skipped    ok    ok        ok\n"));
  EXPECT_THAT(again.stdout_text, HasSubstr("3 ok, 0 changed, 0 failed\n"));
}

TEST_F(DeployIntegration, NodeStoppedHalfWayGetsNoLaterStepAndTheOthersFinish) {
  // spark-003's mount (its NFS client task, in multi-node) stops its agent, as a node
  // that goes down in the middle of a deploy.
  std::string mount = cluster_.dir() + "/tools-spark-003/mount";
  std::ofstream(mount) << "#!/bin/sh\nkill -KILL $PPID\nexit 1\n";
  chmod(mount.c_str(), 0755);
  ProcessResult run = Deploy({}, /*json=*/true);
  EXPECT_EQ(run.exit_code, 2) << run.stdout_text << run.stderr_text;
  DeployStream stream = ParseStream(run.stdout_text);
  EXPECT_EQ(stream.steps["spark-003/single-node"], "CHANGED");
  EXPECT_EQ(stream.steps["spark-003/multi-node"], "UNREACHABLE");
  EXPECT_EQ(stream.steps["spark-003/tailscale"], "SKIPPED");
  EXPECT_EQ(stream.steps["spark-003/nccl"], "SKIPPED");
  EXPECT_EQ(stream.steps["spark-003/validate"], "SKIPPED");
  for (const char* node : {"spark-001", "spark-002"}) {
    std::string n = node;
    EXPECT_EQ(stream.steps[n + "/multi-node"], "CHANGED") << n;
    EXPECT_EQ(stream.steps[n + "/nccl"], "CHANGED") << n;
    EXPECT_EQ(stream.steps[n + "/validate"], "OK") << n << run.stdout_text;
  }
  ASSERT_EQ(stream.recap.nodes_size(), kNodes);
  EXPECT_FALSE(stream.recap.ok());
  const v1::DeployRecapNode& stopped = stream.recap.nodes(2);
  EXPECT_EQ(stopped.changed(), 1u);
  EXPECT_EQ(stopped.unreachable(), 1u);
  EXPECT_EQ(stopped.skipped(), 3u);
  bool said_why = false;
  for (const v1::DeployEvent& event : stream.events) {
    if (event.node() == "spark-003" && event.step() == "nccl" && event.task().empty()) {
      said_why = event.error() == "unreachable in multi-node";
    }
  }
  EXPECT_TRUE(said_why) << run.stdout_text;
  EXPECT_FALSE(std::filesystem::exists(agents_[2]->root + "/etc/nccl.conf"));
}

TEST_F(DeployIntegration, CoordinatorDeployStreamsTheSameEventsToAnAdmin) {
  ASSERT_TRUE(IssueNodeCertificate(cluster_.pki(), "coordinator", {"127.0.0.1"}).ok());
  std::string port_file = cluster_.dir() + "/serve.port";
  ChildProcess serve({SPARKCTL_PATH, "-c", yaml_, "serve", "--listen=127.0.0.1:0",
                      "--tls-cert=" + cluster_.pki() + "/coordinator.crt",
                      "--tls-key=" + cluster_.pki() + "/coordinator.key",
                      "--tls-ca=" + cluster_.pki() + "/ca.crt", "--port-file=" + port_file},
                     cluster_.dir() + "/serve.log");
  int port = 0;
  for (int i = 0; i < 2000 && port == 0; ++i) {
    absl::SimpleAtoi(absl::StripAsciiWhitespace(ClusterHarness::ReadFile(port_file)), &port);
    if (port == 0) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(port, 0) << ClusterHarness::ReadFile(cluster_.dir() + "/serve.log");
  auto credentials = MakeClientCredentials(
      {cluster_.pki() + "/ca.crt", cluster_.pki() + "/admin.crt", cluster_.pki() + "/admin.key"});
  ASSERT_TRUE(credentials.ok());
  auto stub =
      v1::Coordinator::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), *credentials));

  auto before = Roots();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::DeployRequest request;
  request.set_dry_run(true);
  request.set_include_diff(true);
  request.add_limit("spark-001,spark-002");
  auto reader = stub->Deploy(&context, request);
  std::vector<v1::DeployEvent> events;
  for (v1::DeployEvent event; reader->Read(&event);) events.push_back(event);
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 2u);
  ASSERT_TRUE(events.back().has_recap());
  ASSERT_EQ(events.back().recap().nodes_size(), 2);  // --limit honoured
  EXPECT_TRUE(events.back().recap().ok());
  bool nccl_diff = false;
  for (const v1::DeployEvent& event : events) {
    EXPECT_NE(event.node(), "spark-003");
    if (event.step() == "nccl" && event.task() == "WriteNcclConf") {
      EXPECT_EQ(event.state(), v1::DEPLOY_STATE_CHANGED);
      nccl_diff = nccl_diff || absl::StrContains(event.diff(), "+NCCL_SOCKET_IFNAME=");
    }
  }
  EXPECT_TRUE(nccl_diff);
  EXPECT_EQ(Roots(), before) << "a dry-run Deploy changed a file under a node's root";

  grpc::ClientContext bad_context;
  v1::DeployRequest bad;
  bad.add_steps("reboot");
  auto bad_reader = stub->Deploy(&bad_context, bad);
  v1::DeployEvent event;
  EXPECT_FALSE(bad_reader->Read(&event));
  grpc::Status refused = bad_reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("\"reboot\" is not a deploy step"));
}

}  // namespace
}  // namespace sparkfleet::testing
