// NCCL end to end without a GPU: two real agents on loopback whose roots hold the DGX
// Spark fixture (one GB10 each) and stand-in libraries, running the fake worker
// (tests/fakes/fake-nccl-worker) that speaks spark-nccl-worker's protocol; and the real
// spark-nccl-worker running one rank on fake libcuda.so.1 / libnccl.so.2.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

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
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "sparkfleet/v1/coordinator.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kFakeWorker =
    std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/fake-nccl-worker";

int CountLines(const std::string& text, absl::string_view prefix) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) n += absl::StartsWith(line, prefix);
  return n;
}

// Agents whose roots are DGX Sparks with NCCL and a driver in /opt/fake-nccl/lib, and the
// fake worker's log directory. Environment variables for the fake worker are set before
// the agents start (they pass their environment on).
class NcclCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    log_dir_ = cluster_.dir() + "/worker-log";
    std::filesystem::create_directories(log_dir_);
    setenv("FAKE_NCCL_WORKER_LOG", log_dir_.c_str(), 1);
    unsetenv("FAKE_NCCL_WORKER_MODE");
    unsetenv("FAKE_NCCL_WORKER_BUSBW");
  }

  enum class Node { kSpark, kNoGpu, kNoNccl };

  AgentProcess* Start(const std::string& name, Node kind = Node::kSpark) {
    absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent(
        name, {"--nccl-worker=" + kFakeWorker,
               std::string("--nccl-search-path=") +
                   (kind == Node::kNoNccl ? "/opt/empty" : "/opt/fake-nccl/lib")});
    EXPECT_TRUE(agent.ok()) << agent.status();
    if (!agent.ok()) return nullptr;
    const std::string root = (*agent)->root;
    if (kind != Node::kNoGpu) {
      std::filesystem::copy(
          std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark", root,
          std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks |
              std::filesystem::copy_options::overwrite_existing);
    }
    std::filesystem::create_directories(root + "/opt/fake-nccl/lib");
    std::filesystem::create_directories(root + "/opt/empty");
    std::ofstream(root + "/opt/fake-nccl/lib/libnccl.so.2.27.7");
    std::filesystem::create_symlink("libnccl.so.2.27.7", root + "/opt/fake-nccl/lib/libnccl.so.2");
    std::ofstream(root + "/opt/fake-nccl/lib/libcuda.so.1");
    return *agent;
  }

  // The unique id each rank's worker was started with (rank -> hex).
  std::map<int, std::string> IdsSeen() {
    std::map<int, std::string> ids;
    for (int rank = 0; rank < 8; ++rank) {
      std::string text = ClusterHarness::ReadFile(absl::StrCat(log_dir_, "/rank-", rank));
      size_t at = text.find("unique_id=");
      if (at != std::string::npos) ids[rank] = text.substr(at + 10, 256);
    }
    return ids;
  }

  ClusterHarness cluster_;
  std::string log_dir_;
};

TEST_F(NcclCluster, RankOnesIdIsExactlyRankZerosAndTheTableHasNcclTestsFooters) {
  AgentProcess* a = Start("spark-001");
  AgentProcess* b = Start("spark-002");
  ASSERT_TRUE(a && b);
  std::string yaml = cluster_.WriteClusterYaml({a, b}, "admin");

  ProcessResult run =
      cluster_.RunSparkctl({"-c", yaml, "nccl-test", "-b", "8", "-e", "1K", "-n", "2", "-w", "1"});

  EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  std::map<int, std::string> ids = IdsSeen();
  ASSERT_EQ(ids.size(), 2u) << run.stdout_text;
  EXPECT_EQ(ids[0].size(), 256u);
  EXPECT_EQ(ids[1], ids[0]) << "rank 1 must start with exactly rank 0's ncclUniqueId";
  EXPECT_THAT(run.stdout_text, HasSubstr("# nccl-test all_reduce float sum: 2 ranks on 2 nodes, "
                                         "NCCL 2.27.7"));
  EXPECT_THAT(run.stdout_text, HasSubstr("#  Rank  0 on spark-001 GPU 0"));
  EXPECT_THAT(run.stdout_text, HasSubstr("#  Rank  1 on spark-002 GPU 0"));
  EXPECT_THAT(run.stdout_text, HasSubstr("#       size         count      type   redop    root"));
  EXPECT_EQ(CountLines(run.stdout_text, "   "), 8) << run.stdout_text;  // 8 B .. 1 KiB
  EXPECT_THAT(run.stdout_text, HasSubstr("        1024           256     float     sum      -1"));
  EXPECT_THAT(run.stdout_text, HasSubstr("# Out of bounds values : 0 OK\n"));
  EXPECT_THAT(run.stdout_text, HasSubstr("# Avg bus bandwidth : 20\n"));
  EXPECT_THAT(run.stdout_text, HasSubstr("# PASSED"));
}

TEST_F(NcclCluster, JsonCarriesRowsAndResultAndMinBusbwDecidesTheExitCode) {
  AgentProcess* a = Start("spark-001");
  AgentProcess* b = Start("spark-002");
  ASSERT_TRUE(a && b);
  std::string yaml = cluster_.WriteClusterYaml({a, b}, "admin");

  ProcessResult slow = cluster_.RunSparkctl({"-c", yaml, "--json", "nccl-test", "-e", "64", "--op",
                                             "all_gather", "--min-busbw", "21.875"});
  ProcessResult fast =
      cluster_.RunSparkctl({"-c", yaml, "nccl-test", "-e", "64", "--min-busbw", "19.5"});

  EXPECT_EQ(slow.exit_code, 2) << slow.stdout_text << slow.stderr_text;
  EXPECT_THAT(slow.stdout_text, HasSubstr("\"summary\":{\"ok\":2,\"failed\":0}"));
  EXPECT_THAT(slow.stdout_text, HasSubstr("\"nranks\":2"));
  EXPECT_THAT(slow.stdout_text, HasSubstr("\"redop\":\"REDUCE_OP_UNSPECIFIED\""));
  EXPECT_THAT(slow.stdout_text, HasSubstr("\"passed\":false"));
  EXPECT_THAT(slow.stdout_text, HasSubstr("avg bus bandwidth 20 GB/s is below --min-busbw 21.875"));
  EXPECT_EQ(fast.exit_code, 0) << fast.stdout_text << fast.stderr_text;
}

TEST_F(NcclCluster, WrongElementsOnAnyRankFailTheRun) {
  setenv("FAKE_NCCL_WORKER_MODE", "wrong-rank-1", 1);
  AgentProcess* a = Start("spark-001");
  AgentProcess* b = Start("spark-002");
  ASSERT_TRUE(a && b);
  std::string yaml = cluster_.WriteClusterYaml({a, b}, "admin");

  ProcessResult run = cluster_.RunSparkctl({"-c", yaml, "nccl-test", "-b", "8", "-e", "64"});

  EXPECT_EQ(run.exit_code, 2) << run.stdout_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("# Out of bounds values : 16 FAILED"));
  EXPECT_THAT(run.stdout_text, HasSubstr("# FAILED: 16 elements differ from the exact answer"));
}

TEST_F(NcclCluster, NodesWithoutGpuOrNcclAreNamedWithinTheTimeoutAndNothingRuns) {
  AgentProcess* a = Start("spark-001");
  AgentProcess* b = Start("spark-002", Node::kNoGpu);
  AgentProcess* c = Start("spark-003", Node::kNoNccl);
  ASSERT_TRUE(a && b && c);
  std::string yaml = cluster_.WriteClusterYaml({a, b, c}, "admin");

  absl::Time start = absl::Now();
  ProcessResult run = cluster_.RunSparkctl({"-c", yaml, "--timeout", "5", "nccl-test"});

  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.stdout_text, HasSubstr("# spark-002: FAILED_PRECONDITION: no NVIDIA GPU on "
                                         "spark-002 (probe found none)"));
  EXPECT_THAT(run.stdout_text, HasSubstr("# spark-003: FAILED_PRECONDITION: cannot run NCCL on "
                                         "spark-003: no CUDA driver (libcuda.so.1 not found on "
                                         "/opt/empty)"));
  EXPECT_THAT(run.stdout_text, HasSubstr("NCCL not found (searched: /opt/empty); install it with "
                                         "`sparkctl nccl`"));
  EXPECT_THAT(run.stdout_text, HasSubstr("# FAILED: spark-002 failed: no NVIDIA GPU"));
  EXPECT_THAT(run.stdout_text, HasSubstr("2 of 3 nodes cannot run NCCL; nothing was run"));
  EXPECT_THAT(run.stdout_text, Not(HasSubstr("# Out of bounds")));
  EXPECT_TRUE(IdsSeen().empty()) << "no worker may start";
}

TEST_F(NcclCluster, AFailingRankStopsTheRanksWaitingForIt) {
  setenv("FAKE_NCCL_WORKER_MODE", "hang-rank-0 fail-rank-1", 1);
  AgentProcess* a = Start("spark-001");
  AgentProcess* b = Start("spark-002");
  ASSERT_TRUE(a && b);
  std::string yaml = cluster_.WriteClusterYaml({a, b}, "admin");

  absl::Time start = absl::Now();
  ProcessResult run = cluster_.RunSparkctl({"-c", yaml, "nccl-test"});

  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "rank 0 hangs for an hour otherwise";
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.stdout_text,
              HasSubstr("# spark-002: ABORTED: rank 1 (GPU 0) on spark-002: ncclCommInitRank: "
                        "remote process exited"));
  EXPECT_THAT(run.stdout_text,
              HasSubstr("# spark-001: CANCELLED: stopped because spark-002 failed"));
}

TEST_F(NcclCluster, GetInfoReportsTheNcclTheWorkersWouldLoad) {
  AgentProcess* a = Start("spark-001");
  ASSERT_TRUE(a);
  std::string yaml = cluster_.WriteClusterYaml({a}, "admin");
  ProcessResult run = cluster_.RunSparkctl({"-c", yaml, "--json", "info"});
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
  EXPECT_THAT(run.stdout_text,
              HasSubstr("\"name\":\"nccl\",\"present\":true,\"version\":\"2.27.7\","
                        "\"path\":\"/opt/fake-nccl/lib/libnccl.so.2\""));
}

TEST_F(NcclCluster, CoordinatorRunNcclTestStreamsTheSameEventsToAdminsOnly) {
  AgentProcess* a = Start("spark-001");
  AgentProcess* b = Start("spark-002");
  ASSERT_TRUE(a && b);
  std::string yaml = cluster_.WriteClusterYaml({a, b}, "admin");
  ASSERT_TRUE(IssueNodeCertificate(cluster_.pki(), "coordinator", {"127.0.0.1"}).ok());
  std::string port_file = cluster_.dir() + "/serve.port";
  ChildProcess serve({SPARKCTL_PATH, "-c", yaml, "serve", "--listen=127.0.0.1:0",
                      "--tls-cert=" + cluster_.pki() + "/coordinator.crt",
                      "--tls-key=" + cluster_.pki() + "/coordinator.key",
                      "--tls-ca=" + cluster_.pki() + "/ca.crt", "--port-file=" + port_file},
                     cluster_.dir() + "/serve.log");
  int port = 0;
  for (int i = 0; i < 2000 && port == 0; ++i) {
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(ClusterHarness::ReadFile(port_file)), &port);
    if (port == 0) absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GT(port, 0) << ClusterHarness::ReadFile(cluster_.dir() + "/serve.log");
  auto stub = [&](const std::string& client) {
    auto credentials = MakeClientCredentials({cluster_.pki() + "/ca.crt",
                                              absl::StrCat(cluster_.pki(), "/", client, ".crt"),
                                              absl::StrCat(cluster_.pki(), "/", client, ".key")});
    EXPECT_TRUE(credentials.ok());
    return v1::Coordinator::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), *credentials));
  };
  v1::RunNcclTestRequest request;
  request.set_max_bytes(64);

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub("admin")->RunNcclTest(&context, request);
  std::vector<v1::NcclTestEvent> events;
  for (v1::NcclTestEvent event; reader->Read(&event);) events.push_back(event);
  grpc::Status status = reader->Finish();

  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.front().has_started());
  EXPECT_EQ(events.front().started().nranks(), 2u);
  int rows = 0;
  for (const v1::NcclTestEvent& e : events) rows += e.has_row();
  EXPECT_EQ(rows, 4);  // 8 .. 64 bytes
  ASSERT_TRUE(events.back().has_result());
  EXPECT_TRUE(events.back().result().passed()) << events.back().result().reason();
  EXPECT_EQ(events.back().result().nodes().ok(), 2u);

  grpc::ClientContext reader_context;
  reader_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto refused = stub("reader")->RunNcclTest(&reader_context, request);
  v1::NcclTestEvent ignored;
  EXPECT_FALSE(refused->Read(&ignored));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(NcclInstallIntegration, TheAgentInstallsFromTheCudaRepositoryOnceAndGetInfoSeesIt) {
  ClusterHarness cluster;
  const std::string root = cluster.dir() + "/spark-001/root";
  setenv("SPARKFLEET_FAKE_ROOT", root.c_str(), 1);
  setenv("SPARKFLEET_FAKE_TOOL_LOG", (cluster.dir() + "/tools.log").c_str(), 1);
  absl::StatusOr<AgentProcess*> agent = cluster.StartAgent(
      "spark-001", {"--tool-path=" + std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"});
  ASSERT_TRUE(agent.ok()) << agent.status();
  std::ofstream(root + "/etc/os-release") << "ID=ubuntu\nVERSION_ID=\"24.04\"\n";
  auto credentials = MakeClientCredentials(
      {cluster.pki() + "/ca.crt", cluster.pki() + "/admin.crt", cluster.pki() + "/admin.key"});
  ASSERT_TRUE(credentials.ok());
  auto stub = v1::NodeAgent::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*agent)->port), *credentials));
  auto install = [&]() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub->InstallNccl(&context, v1::InstallNcclRequest());
    std::vector<v1::InstallNcclEvent> events;
    for (v1::InstallNcclEvent event; reader->Read(&event);) events.push_back(event);
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return events;
  };

  std::vector<v1::InstallNcclEvent> first = install();
  std::vector<v1::InstallNcclEvent> second = install();

  ASSERT_FALSE(first.empty());
  ASSERT_TRUE(first.back().has_result());
  EXPECT_TRUE(first.back().result().installed_now());
  EXPECT_EQ(first.back().result().version(), "2.27.7-1+cuda13.0");
  ASSERT_EQ(second.size(), 2u);  // check: unchanged, then the result
  EXPECT_FALSE(second.back().result().installed_now());
  EXPECT_THAT(ClusterHarness::ReadFile(cluster.dir() + "/tools.log"),
              HasSubstr("apt-get install -y --no-install-recommends libnccl2 libnccl-dev"));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::NodeInfo info;
  ASSERT_TRUE(stub->GetInfo(&context, v1::GetInfoRequest(), &info).ok());
  bool seen = false;
  for (const v1::InstalledComponent& c : info.components()) {
    if (c.name() != "nccl") continue;
    seen = true;
    EXPECT_TRUE(c.present());
    EXPECT_EQ(c.version(), "2.27.7-1+cuda13.0");
    EXPECT_THAT(c.path(), HasSubstr("/libnccl.so.2"));
  }
  EXPECT_TRUE(seen);
}

// The real worker, one rank, on the fake libraries: everything but the GPU is real.
class RealWorker : public ::testing::Test {
 protected:
  ProcessResult Run(std::vector<std::string> args,
                    std::vector<std::pair<std::string, std::string>> env = {}) {
    std::vector<std::string> argv = {SPARK_NCCL_WORKER_PATH, "--rank", "0", "--nranks", "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions options;
    options.timeout = absl::Seconds(60);
    options.env = std::move(env);
    absl::StatusOr<ProcessResult> result = runner_->Run(argv, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ProcessResult();
  }
  std::vector<std::string> Libraries() {
    return {"--nccl", absl::StrCat(FAKE_NCCL_LIBS_DIR, "/libnccl.so.2"), "--cuda",
            absl::StrCat(FAKE_NCCL_LIBS_DIR, "/libcuda.so.1")};
  }
  std::unique_ptr<ProcessRunner> runner_ = NewPosixProcessRunner({});
};

TEST_F(RealWorker, RunsTheSweepChecksEveryElementAndCapsSizesByFreeMemory) {
  std::vector<std::string> args = Libraries();
  args.insert(args.end(), {"-b", "8", "-e", "8M", "-n", "2", "-w", "1"});
  // 48 MiB free on an integrated GPU: a quarter of it holds 3 buffers of 4 MiB.
  ProcessResult run = Run(args, {{"FAKE_CUDA_FREE_BYTES", "50331648"}});

  ASSERT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  std::vector<std::string> lines = absl::StrSplit(run.stdout_text, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "VERSION 2.27.7 22707 13000");
  EXPECT_EQ(lines[1],
            "DEVICE 0 GPU-11111111-1111-1111-1111-111111111111 50331648 100663296 1 "
            "Fake GB10");
  EXPECT_TRUE(absl::StartsWith(lines[2], "UNIQUE_ID 000102030405")) << lines[2];
  EXPECT_EQ(lines[3], "READY 1");
  EXPECT_EQ(CountLines(run.stdout_text, "ROW "), 20);  // 8 B .. 4 MiB; 8 MiB is over the cap
  EXPECT_THAT(run.stdout_text, HasSubstr("ROW 4194304 1048576 float sum -1 "));
  EXPECT_TRUE(absl::StartsWith(lines.back(), "SUMMARY 0 0 20 4194304 4194304 ")) << lines.back();
  EXPECT_EQ(run.stdout_text.find("ERROR"), std::string::npos);
}

TEST_F(RealWorker, EveryCollectiveAndTypeChecksOut) {
  for (const char* op : {"all_reduce", "all_gather", "reduce_scatter", "broadcast"}) {
    for (const char* type : {"float", "half", "bfloat16", "int8", "double"}) {
      std::vector<std::string> args = Libraries();
      args.insert(args.end(), {"-e", "64K", "-n", "1", "-w", "1", "--op", op, "--dtype", type,
                               "--redop", "max"});
      ProcessResult run = Run(args);
      EXPECT_EQ(run.exit_code, 0) << op << " " << type << ": " << run.stdout_text;
      EXPECT_THAT(run.stdout_text, HasSubstr("SUMMARY 0 ")) << op << " " << type;
    }
  }
}

TEST_F(RealWorker, WrongResultsAreCounted) {
  std::vector<std::string> args = Libraries();
  args.insert(args.end(), {"-b", "1K", "-e", "4K", "-n", "1"});
  ProcessResult run = Run(args, {{"FAKE_NCCL_CORRUPT", "1"}});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.stdout_text, HasSubstr("ROW 1024 256 float sum -1 "));
  EXPECT_THAT(run.stdout_text, HasSubstr("SUMMARY 6 "));  // one per row and placement
}

TEST_F(RealWorker, MissingLibrariesAndBadArgumentsAreErrorLines) {
  ProcessResult missing = Run({"--nccl", "/nonexistent/libnccl.so.2", "--cuda",
                               absl::StrCat(FAKE_NCCL_LIBS_DIR, "/libcuda.so.1")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.stdout_text,
              HasSubstr("ERROR NCCL not found (searched: /nonexistent/libnccl.so.2"));
  ProcessResult usage = Run({"-f", "1"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.stdout_text, HasSubstr("ERROR usage: -f must be at least 2"));
}

}  // namespace
}  // namespace sparkfleet::testing
