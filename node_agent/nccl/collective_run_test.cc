#include "node_agent/nccl/collective_run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node_agent/nccl_worker/line_protocol.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using testing::ScriptedProcessRunner;

constexpr char kWorker[] = "/usr/bin/spark-nccl-worker";

// The value after `flag` in a worker's argv; empty when absent.
std::string Arg(const std::vector<std::string>& argv, const std::string& flag) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag) return argv[i + 1];
  }
  return "";
}

std::string Row(int64_t size, int64_t wrong = 0) {
  nccl_worker::RowLine row;
  row.size_bytes = size;
  row.count = size / 4;
  row.type = "float";
  row.redop = "sum";
  row.out_of_place = {10, 0.8, 0.8, wrong};
  row.in_place = {10, 0.8, 0.8, wrong};
  return nccl_worker::FormatRow(row);
}

ProcessResult Exited(int code) {
  ProcessResult result;
  result.exit_code = code;
  return result;
}

// A node root with both libraries in /opt/nccl/lib (or none), and the events of a run.
class CollectiveRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-collective-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/opt/nccl/lib");
    std::ofstream(root_ + "/opt/nccl/lib/libnccl.so.2.27.7");
    std::filesystem::create_symlink("libnccl.so.2.27.7", root_ + "/opt/nccl/lib/libnccl.so.2");
    std::ofstream(root_ + "/opt/nccl/lib/libcuda.so.1");
    std::filesystem::create_directories(root_ + "/opt/empty");
    env_ = NewRootedEnv(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  v1::ProbeReply Gpus(int n) {
    v1::ProbeReply probe;
    for (int i = 0; i < n; ++i) probe.add_gpus()->set_uuid(absl::StrCat("GPU-", i));
    return probe;
  }

  absl::Status Run(
      const v1::RunCollectiveRequest& request, int gpus,
      const std::string& search = "/opt/nccl/lib",
      std::function<bool()> cancelled = [] { return false; }) {
    NcclSearchOptions options;
    options.configured = {search};
    NcclLocator locator(*env_, options);
    CollectiveNode node{*env_, runner_, locator, "spark-001", kWorker};
    return RunCollectiveOnNode(
        node, request, Gpus(gpus),
        [this](v1::CollectiveEvent event) {
          absl::MutexLock lock(&mu_);
          events_.push_back(std::move(event));
        },
        cancelled);
  }

  std::vector<v1::CollectiveEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

  std::string root_;
  std::unique_ptr<Env> env_;
  ScriptedProcessRunner runner_;
  absl::Mutex mu_;
  std::vector<v1::CollectiveEvent> events_ ABSL_GUARDED_BY(mu_);
};

TEST_F(CollectiveRunTest, RankZerosIdIsTheFirstEventAndReachesTheOtherLocalRank) {
  const std::string id(128, '\x5a');
  std::atomic<int> started{0};
  runner_.Script("spark-nccl-worker", [&](const auto& argv, const ProcessOptions& options) {
    ++started;
    const std::string rank = Arg(argv, "--rank");
    options.stdout_line("VERSION 2.27.7 22707 13000");
    if (rank == "0") options.stdout_line(nccl_worker::FormatUniqueId(id));
    options.stderr_line("host:1:1 [0] NCCL INFO Bootstrap");
    options.stdout_line("READY 2");
    options.stdout_line(Row(8));
    options.stdout_line(nccl_worker::FormatSummary({0, 0.8, 1, 8, 1 << 30, 3}));
    return Exited(0);
  });
  v1::RunCollectiveRequest request;
  request.set_nranks(2);

  absl::Status status = Run(request, 2);

  ASSERT_TRUE(status.ok()) << status;
  std::vector<v1::CollectiveEvent> got = events();
  ASSERT_FALSE(got.empty());
  ASSERT_TRUE(got[0].has_started());
  EXPECT_EQ(got[0].started().unique_id(), id);
  EXPECT_EQ(got[0].started().local_ranks(), 2u);
  EXPECT_EQ(got[0].started().nccl_version(), "2.27.7");
  EXPECT_THAT(got[0].started().gpu_uuids(), ::testing::ElementsAre("GPU-0", "GPU-1"));
  int rows = 0, summaries = 0, logs = 0;
  for (const v1::CollectiveEvent& e : got) {
    rows += e.has_row();
    summaries += e.has_summary();
    logs += e.has_log_line();
  }
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(summaries, 2);
  EXPECT_EQ(logs, 2);
  std::vector<std::vector<std::string>> calls = runner_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(Arg(calls[0], "--unique-id"), "");  // rank 0 makes it
  EXPECT_EQ(Arg(calls[1], "--unique-id"), nccl_worker::BytesToHex(id));
  EXPECT_EQ(Arg(calls[1], "--device"), "1");
  // The file itself (links resolved inside the root), as the worker must open it.
  EXPECT_EQ(Arg(calls[1], "--nccl"), root_ + "/opt/nccl/lib/libnccl.so.2.27.7");
  EXPECT_EQ(Arg(calls[1], "--cuda"), root_ + "/opt/nccl/lib/libcuda.so.1");
}

TEST_F(CollectiveRunTest, NodeWithoutRankZeroStartsEveryRankWithTheRelayedId) {
  const std::string id(128, '\x01');
  runner_.Script("spark-nccl-worker", [&](const auto&, const ProcessOptions& options) {
    options.stdout_line(nccl_worker::FormatSummary({0, 0, 0, 0, 0, 1}));
    return Exited(0);
  });
  v1::RunCollectiveRequest request;
  request.set_nranks(4);
  request.set_first_rank(2);
  request.set_unique_id(id);

  ASSERT_TRUE(Run(request, 2).ok());

  ASSERT_TRUE(events()[0].has_started());
  EXPECT_EQ(events()[0].rank(), 2u);
  EXPECT_TRUE(events()[0].started().unique_id().empty());
  std::vector<std::string> ranks;
  for (const auto& argv : runner_.calls()) {
    EXPECT_EQ(Arg(argv, "--unique-id"), nccl_worker::BytesToHex(id));
    EXPECT_EQ(Arg(argv, "--nranks"), "4");
    ranks.push_back(Arg(argv, "--rank"));
  }
  EXPECT_THAT(ranks, ::testing::UnorderedElementsAre("2", "3"));
}

TEST_F(CollectiveRunTest, AFailingRankStopsTheOthersAndIsNamed) {
  runner_.Script("spark-nccl-worker", [&](const auto& argv, const ProcessOptions& options) {
    ProcessResult result;
    if (Arg(argv, "--rank") == "1") {
      options.stdout_line("ERROR ncclCommInitRank: remote process exited (ncclResult 6)");
      result.exit_code = 1;
      return result;
    }
    while (!options.cancelled()) absl::SleepFor(absl::Milliseconds(5));  // waits for rank 1
    result.cancelled = true;
    return result;
  });
  v1::RunCollectiveRequest request;
  request.set_unique_id(std::string(128, 'i'));

  absl::Status status = Run(request, 2);

  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(status.message(),
              HasSubstr("rank 1 (GPU 1) on spark-001: ncclCommInitRank: remote process exited"));
}

TEST_F(CollectiveRunTest, AWorkerPastTheTimeoutIsKilledAndReported) {
  runner_.Script("spark-nccl-worker", [&](const auto&, const ProcessOptions& options) {
    ProcessResult result;
    result.timed_out = options.timeout <= absl::Seconds(1);
    EXPECT_TRUE(result.timed_out) << "the request's timeout_ms must reach the runner";
    return result;
  });
  v1::RunCollectiveRequest request;
  request.set_timeout_ms(500);
  request.set_unique_id(std::string(128, 'i'));

  absl::Status status = Run(request, 1);

  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("did not finish within 500ms and was killed"));
}

TEST_F(CollectiveRunTest, CancellingTheCallKillsTheWorkers) {
  std::atomic<bool> cancel{false};
  runner_.Script("spark-nccl-worker", [&](const auto&, const ProcessOptions& options) {
    options.stdout_line(nccl_worker::FormatUniqueId(std::string(128, 'c')));
    cancel = true;  // the client goes away once the run started
    while (!options.cancelled()) absl::SleepFor(absl::Milliseconds(5));
    ProcessResult result;
    result.cancelled = true;
    return result;
  });

  absl::Status status =
      Run(v1::RunCollectiveRequest(), 1, "/opt/nccl/lib", [&] { return cancel.load(); });

  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(CollectiveRunTest, NoGpuIsRefusedBeforeAnyWorkerStarts) {
  absl::Status status = Run(v1::RunCollectiveRequest(), 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "no NVIDIA GPU on spark-001 (probe found none)");
  EXPECT_TRUE(runner_.calls().empty());
}

TEST_F(CollectiveRunTest, MissingDriverAndNcclAreRefusedBeforeAnyWorkerStarts) {
  absl::Status status = Run(v1::RunCollectiveRequest(), 1, "/opt/empty");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("no CUDA driver (libcuda.so.1 not found on /opt/empty"));
  EXPECT_THAT(status.message(), HasSubstr("NCCL not found (searched: /opt/empty)"));
  EXPECT_TRUE(runner_.calls().empty());
  EXPECT_TRUE(events().empty());
}

TEST_F(CollectiveRunTest, DryRunAnswersWhatWouldRunAndStartsNothing) {
  v1::RunCollectiveRequest request;
  request.set_dry_run(true);

  ASSERT_TRUE(Run(request, 2).ok());

  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].started().local_ranks(), 2u);
  EXPECT_EQ(events()[0].started().nccl_version(), "2.27.7");
  EXPECT_TRUE(runner_.calls().empty());
}

TEST_F(CollectiveRunTest, RankZeroEndingWithoutAnIdIsAnError) {
  runner_.Script("spark-nccl-worker", [&](const auto&, const ProcessOptions& options) {
    options.stderr_line("Segmentation fault");
    ProcessResult result;
    result.term_signal = 11;
    result.stderr_text = "Segmentation fault\n";
    return result;
  });

  absl::Status status = Run(v1::RunCollectiveRequest(), 2);

  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("killed by signal 11; last output: Segmentation fault"));
  EXPECT_EQ(runner_.calls().size(), 1u);  // rank 1 never started
}

}  // namespace
}  // namespace sparkfleet
