// Load on one real spark-agent (DGX Spark fixture root, mTLS, admin certificate):
// - 1,000 concurrent Probe and GetInfo calls from several client channels, with the agent's
//   call cap set low (--max-concurrent-calls), all end OK or RESOURCE_EXHAUSTED, at least
//   one is shed, the agent answers afterwards and its peak RSS stays bounded;
// - two concurrent WriteNcclConf calls never interleave: the file is one render, the backup
//   the other, and the later call's diff starts from the earlier call's file;
// - a streaming call (InstallTailscale) holds a slot while it runs: with a cap of one,
//   every other call is shed until it ends, and answered after;
// - a request over the agent's 4 MiB message limit is refused before it reaches the
//   service: RESOURCE_EXHAUSTED, nothing written.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kCallCap = 32;
constexpr int kClients = 8;
constexpr int kCalls = 1000;
// Peak resident memory allowed under the burst. An idle agent holds about 15 MiB; each
// call in flight holds its HTTP/2 stream (gRPC's 64 KiB flow-control window at most),
// the request and a ProbeReply of about 10 KiB, so 1,000 calls queued at once need at most
// about 75 MiB more. 128 MiB leaves room for allocator slack, and is still far below
// anything that would squeeze the GPU's share of a Spark's 128 GiB unified memory; an
// agent that buffered without bound, or leaked per call, would blow through it.
constexpr int64_t kPeakRssBoundKiB = 128 * 1024;

std::string SparkFixture() {
  return std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark";
}

std::chrono::system_clock::time_point In(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

// A "/proc/PID/status" field in KiB ("VmHWM:    12345 kB"), or -1.
int64_t ProcStatusKiB(pid_t pid, absl::string_view field) {
  std::string text = ClusterHarness::ReadFile(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, field)) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t kib = -1;
    if (absl::SimpleAtoi(line, &kib)) return kib;
  }
  return -1;
}

// One agent on a Spark fixture root and admin channels to it, each with its own
// connection (a channel argument no other channel has keeps gRPC from sharing one).
class LoadedAgent {
 public:
  void Start(const std::vector<std::string>& flags) {
    absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent("spark-001", flags, SparkFixture());
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *agent;
    auto credentials = MakeClientCredentials(
        {cluster_.pki() + "/ca.crt", cluster_.pki() + "/admin.crt", cluster_.pki() + "/admin.key"});
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    credentials_ = *credentials;
  }

  std::unique_ptr<v1::NodeAgent::Stub> NewClient(int index) const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("sparkfleet.load_test.client", index);
    return v1::NodeAgent::NewStub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", agent_->port), credentials_, args));
  }

  AgentProcess& agent() const { return *agent_; }
  std::string File(const std::string& path) const {
    return ClusterHarness::ReadFile(agent_->root + path);
  }
  bool Running() const { return !agent_->process->WaitExit(absl::ZeroDuration()).has_value(); }

 private:
  ClusterHarness cluster_;
  AgentProcess* agent_ = nullptr;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

// Outcomes of asynchronous calls, by status code, and a bounded wait for all of them.
class Tally {
 public:
  explicit Tally(int expected) : pending_(expected) {}

  void Done(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    ++codes_[status.error_code()];
    if (!status.ok() && status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED &&
        examples_.size() < 5) {
      examples_.push_back(absl::StrCat(status.error_code(), ": ", status.error_message()));
    }
    --pending_;
  }

  // True when every call ended before `timeout`.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto all_done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return pending_ == 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&all_done), timeout);
  }

  std::map<grpc::StatusCode, int> codes() {
    absl::MutexLock lock(&mu_);
    return codes_;
  }
  std::vector<std::string> examples() {
    absl::MutexLock lock(&mu_);
    return examples_;
  }

 private:
  absl::Mutex mu_;
  int pending_ ABSL_GUARDED_BY(mu_);
  std::map<grpc::StatusCode, int> codes_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> examples_ ABSL_GUARDED_BY(mu_);
};

// One asynchronous call's state, alive until its callback ran.
struct ReadCall {
  grpc::ClientContext context;
  v1::ProbeRequest probe_request;
  v1::ProbeReply probe_reply;
  v1::GetInfoRequest info_request;
  v1::NodeInfo info_reply;
};

TEST(LoadIntegration, ThousandConcurrentReadCallsAreAnsweredOrShedWithinBoundedMemory) {
  LoadedAgent node;
  ASSERT_NO_FATAL_FAILURE(node.Start({absl::StrCat("--max-concurrent-calls=", kCallCap)}));
  const pid_t pid = node.agent().process->pid();
  const int64_t idle_kib = ProcStatusKiB(pid, "VmRSS:");

  std::vector<std::unique_ptr<v1::NodeAgent::Stub>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(node.NewClient(i));
  // Connect every client first, so that the burst measures calls, not TLS handshakes.
  for (const auto& client : clients) {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(20)));
    v1::NodeInfo info;
    grpc::Status status = client->GetInfo(&context, v1::GetInfoRequest(), &info);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  Tally tally(kCalls);
  std::vector<std::unique_ptr<ReadCall>> calls;
  calls.reserve(kCalls);
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<ReadCall>());
    ReadCall& call = *calls.back();
    call.context.set_deadline(In(absl::Seconds(60)));
    v1::NodeAgent::Stub::async_interface* client = clients[i % kClients]->async();
    auto done = [&tally](grpc::Status status) { tally.Done(status); };
    if (i % 2 == 0) {
      call.probe_request.set_skip_nvml(true);
      client->Probe(&call.context, &call.probe_request, &call.probe_reply, done);
    } else {
      client->GetInfo(&call.context, &call.info_request, &call.info_reply, done);
    }
  }
  ASSERT_TRUE(tally.Wait(absl::Seconds(90))) << "calls still pending after 90 s";
  const absl::Duration took = absl::Now() - start;

  std::map<grpc::StatusCode, int> codes = tally.codes();
  const int ok = codes[grpc::StatusCode::OK];
  const int shed = codes[grpc::StatusCode::RESOURCE_EXHAUSTED];
  EXPECT_EQ(ok + shed, kCalls) << "calls that ended otherwise, e.g.: "
                               << ::testing::PrintToString(tally.examples());
  EXPECT_GE(shed, 1) << "no call was shed with a cap of " << kCallCap;
  EXPECT_GE(ok, kCallCap) << "fewer calls answered than the cap allows at once";

  ASSERT_TRUE(node.Running()) << ClusterHarness::ReadFile(node.agent().log_path);
  grpc::ClientContext after;
  after.set_deadline(In(absl::Seconds(10)));
  v1::NodeInfo info;
  grpc::Status status = node.NewClient(kClients)->GetInfo(&after, v1::GetInfoRequest(), &info);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(info.hostname(), "spark-001");

  const int64_t peak_kib = ProcStatusKiB(pid, "VmHWM:");
  ASSERT_GT(peak_kib, 0);
  std::cout << "agent peak RSS under " << kCalls << " concurrent calls: " << peak_kib / 1024
            << " MiB (idle " << idle_kib / 1024 << " MiB); " << ok << " OK, " << shed
            << " RESOURCE_EXHAUSTED (cap " << kCallCap << ", " << kClients << " clients) in "
            << absl::FormatDuration(took) << "\n";
  EXPECT_LT(peak_kib, kPeakRssBoundKiB);
}

// One WriteNcclConf call in flight.
struct WriteCall {
  grpc::ClientContext context;
  v1::WriteNcclConfRequest request;
  v1::WriteNcclConfReply reply;
  grpc::Status status;
};

TEST(LoadIntegration, ConcurrentNcclConfWritesNeverInterleave) {
  LoadedAgent node;
  ASSERT_NO_FATAL_FAILURE(node.Start({}));
  const std::string original = "NCCL_DEBUG=VERSION\n";
  std::ofstream(node.agent().root + "/etc/nccl.conf") << original;
  auto a = node.NewClient(0);
  auto b = node.NewClient(1);

  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    WriteCall calls[2];
    Tally tally(2);
    for (int i = 0; i < 2; ++i) {
      calls[i].context.set_deadline(In(absl::Seconds(30)));
      // Each call's render is its own: the timeout differs between every call made.
      (*calls[i].request.mutable_env())["NCCL_IB_TIMEOUT"] = absl::StrCat(10 + 2 * round + i);
      (*calls[i].request.mutable_env())["NCCL_DEBUG"] = i == 0 ? "INFO" : "WARN";
    }
    for (int i = 0; i < 2; ++i) {
      (i == 0 ? a : b)
          ->async()
          ->WriteNcclConf(&calls[i].context, &calls[i].request, &calls[i].reply,
                          [&tally, &call = calls[i]](grpc::Status status) {
                            call.status = status;
                            tally.Done(status);
                          });
    }
    ASSERT_TRUE(tally.Wait(absl::Seconds(40)));
    for (const WriteCall& call : calls) {
      ASSERT_TRUE(call.status.ok()) << call.status.error_message();
      ASSERT_EQ(call.reply.changes_size(), 1);
      EXPECT_TRUE(call.reply.changes(0).changed()) << "round " << round;
    }
    const std::string file = node.File("/etc/nccl.conf");
    const std::string backup = node.File("/etc/nccl.conf.sparkfleet.bak");
    const int last = file == calls[1].reply.content() ? 1 : 0;
    ASSERT_EQ(file, calls[last].reply.content())
        << "round " << round << ": the file is neither call's render:\n"
        << file;
    EXPECT_EQ(backup, calls[1 - last].reply.content())
        << "round " << round << ": the backup is not the other call's render";
    // The later call saw the earlier call's file, not the one both started from.
    const std::string earlier_timeout = calls[1 - last].request.env().at("NCCL_IB_TIMEOUT");
    EXPECT_THAT(calls[last].reply.changes(0).diff(),
                HasSubstr(absl::StrCat("\n-NCCL_IB_TIMEOUT=", earlier_timeout, "\n")))
        << "round " << round;
  }
  EXPECT_TRUE(node.Running());
}

// An apt-get double that says it started, then holds its caller until released (60 s at
// most); every other tool the install runs is the shared contract double.
constexpr char kGatedAptGet[] = R"(#!/bin/sh
: > "$SPARKFLEET_LOAD_GATE.started"
i=0
while [ ! -e "$SPARKFLEET_LOAD_GATE.release" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
exit 0
)";

bool WaitForFile(const std::string& path, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!std::filesystem::exists(path)) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

TEST(LoadIntegration, StreamingCallHoldsASlotWhileItRuns) {
  const std::string dir = ::testing::TempDir() + "/load_stream_slot." + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/tools");
  const std::string gate = dir + "/gate";
  std::ofstream(dir + "/tools/apt-get") << kGatedAptGet;
  std::filesystem::permissions(dir + "/tools/apt-get", std::filesystem::perms::owner_all);
  std::ofstream(dir + "/tools.log") << "";
  setenv("SPARKFLEET_LOAD_GATE", gate.c_str(), 1);
  setenv("SPARKFLEET_FAKE_TOOL_LOG", (dir + "/tools.log").c_str(), 1);
  // Also when an assertion ends the test early: the gated apt-get is let go (it would
  // give up by itself within 60 s), the environment restored and the directory removed.
  struct Cleanup {
    std::string dir, gate;
    ~Cleanup() {
      std::ofstream(gate + ".release") << "";
      unsetenv("SPARKFLEET_LOAD_GATE");
      unsetenv("SPARKFLEET_FAKE_TOOL_LOG");
      std::filesystem::remove_all(dir);
    }
  } cleanup{dir, gate};

  LoadedAgent node;
  ASSERT_NO_FATAL_FAILURE(
      node.Start({"--max-concurrent-calls=1", "--tool-path=" + dir + "/tools",
                  "--tool-path=" + std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"}));
  auto client = node.NewClient(0);

  v1::InstallTailscaleRequest install;
  install.mutable_apt_source()->set_keyring_gpg("\x99\x01\x0d keyring bytes");
  install.mutable_apt_source()->set_sources_list(
      "deb [signed-by=/usr/share/keyrings/tailscale-archive-keyring.gpg] "
      "https://pkgs.tailscale.com/stable/ubuntu noble main\n");
  grpc::ClientContext install_context;
  install_context.set_deadline(In(absl::Seconds(120)));
  std::unique_ptr<grpc::ClientReader<v1::InstallTailscaleEvent>> stream =
      client->InstallTailscale(&install_context, install);
  ASSERT_TRUE(WaitForFile(gate + ".started", absl::Seconds(30)))
      << "the install never reached apt-get:\n"
      << ClusterHarness::ReadFile(node.agent().log_path);

  // The install holds the only slot: a read and a second stream are both shed.
  grpc::ClientContext shed_context;
  shed_context.set_deadline(In(absl::Seconds(10)));
  v1::NodeInfo info;
  grpc::Status shed = client->GetInfo(&shed_context, v1::GetInfoRequest(), &info);
  EXPECT_EQ(shed.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << shed.error_message();
  EXPECT_THAT(shed.error_message(), HasSubstr("is serving 1 calls already"));
  grpc::ClientContext second_context;
  second_context.set_deadline(In(absl::Seconds(10)));
  v1::InstallTailscaleEvent event;
  auto second = client->InstallTailscale(&second_context, install);
  while (second->Read(&event)) {
  }
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  std::ofstream(gate + ".release") << "";
  while (stream->Read(&event)) {
  }
  grpc::Status installed = stream->Finish();
  EXPECT_NE(installed.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << installed.error_message();

  // The slot is given back when the stream's operation ends; the reply may come a moment
  // before that, so allow the agent a few tries.
  grpc::Status after;
  for (int attempt = 0; attempt < 50; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(In(absl::Seconds(10)));
    after = client->GetInfo(&context, v1::GetInfoRequest(), &info);
    if (after.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(after.ok()) << after.error_message();
}

TEST(LoadIntegration, RequestOverTheMessageLimitIsRefusedAndWritesNothing) {
  LoadedAgent node;
  ASSERT_NO_FATAL_FAILURE(node.Start({}));
  const std::string hosts = "127.0.0.1 localhost\n";
  std::ofstream(node.agent().root + "/etc/hosts") << hosts;

  v1::ConfigureHostsRequest request;
  v1::HostEntry* entry = request.add_entries();
  entry->set_address("192.168.1.101");
  const std::string name(60, 'n');  // a valid host name label; 90,000 of them: 5.4 MB
  for (int i = 0; i < 90000; ++i) entry->add_names(name);
  ASSERT_GT(request.ByteSizeLong(), size_t{4} << 20);

  grpc::ClientContext context;
  context.set_deadline(In(absl::Seconds(30)));
  v1::ConfigureHostsReply reply;
  grpc::Status status = node.NewClient(0)->ConfigureHosts(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(node.File("/etc/hosts"), hosts);
  EXPECT_EQ(node.File("/etc/hosts.sparkfleet.bak"), "");

  grpc::ClientContext after;
  after.set_deadline(In(absl::Seconds(10)));
  v1::NodeInfo info;
  status = node.NewClient(1)->GetInfo(&after, v1::GetInfoRequest(), &info);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace sparkfleet::testing
