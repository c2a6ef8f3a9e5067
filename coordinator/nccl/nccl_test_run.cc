#include "coordinator/nccl/nccl_test_run.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "coordinator/nccl/collective_stream.h"
#include "coordinator/nccl/nccl_table.h"
#include "coordinator/stream_fanout.h"

namespace sparkfleet {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(100);
constexpr uint32_t kMaxIterations = 100000;

// What one node's stream reported, for the run's thread.
struct Report {
  size_t node = 0;
  bool end = false;
  v1::CollectiveEvent event;
  absl::Status status;
};

class Inbox {
 public:
  void Push(Report report) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(report));
  }
  std::optional<Report> Pop(absl::Duration wait) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&ready), wait);
    if (queue_.empty()) return std::nullopt;
    Report report = std::move(queue_.front());
    queue_.pop_front();
    return report;
  }

 private:
  absl::Mutex mu_;
  std::deque<Report> queue_ ABSL_GUARDED_BY(mu_);
};

struct NodeRun {
  const ClusterNode* node = nullptr;
  uint32_t first_rank = 0;
  uint32_t local_ranks = 0;
  std::vector<std::string> gpu_uuids;
  std::string nccl_version;
  std::unique_ptr<CollectiveStream> stream;
  absl::Time started;
  bool ended = true;  // until its stream starts
};

v1::RunCollectiveRequest CollectiveRequest(const v1::RunNcclTestRequest& r) {
  v1::RunCollectiveRequest out;
  out.set_op(r.op());
  out.set_type(r.type());
  out.set_redop(r.redop());
  out.set_root(r.root());
  out.set_min_bytes(r.min_bytes());
  out.set_max_bytes(r.max_bytes());
  out.set_step_factor(r.step_factor());
  out.set_iters(r.iters());
  out.set_warmup_iters(r.warmup_iters());
  out.set_skip_check(r.skip_check());
  out.set_local_ranks(r.gpus_per_node());
  out.set_timeout_ms(r.run_timeout_ms() > 0 ? r.run_timeout_ms()
                                            : static_cast<uint32_t>(absl::ToInt64Milliseconds(
                                                  kDefaultNcclRunTimeout)));
  *out.mutable_nccl_env() = r.nccl_env();
  return out;
}

v1::NcclTestEvent NodeEvent(const std::string& node, const absl::Status& status,
                            absl::Duration duration) {
  v1::NcclTestEvent event;
  v1::NodeResult* result = event.mutable_node();
  result->set_node(node);
  result->set_ok(status.ok());
  result->set_duration_ms(absl::ToInt64Milliseconds(duration));
  if (!status.ok()) {
    result->set_error_code(std::string(StatusCodeName(status.code())));
    result->set_error_message(std::string(status.message()));
  }
  return event;
}

class NcclTestRun {
 public:
  NcclTestRun(AgentChannels& channels, const std::vector<ClusterNode>& nodes,
              absl::Duration call_timeout, const v1::RunNcclTestRequest& request,
              const NcclTestEmit& emit, const std::function<bool()>& cancelled)
      : channels_(channels),
        nodes_(nodes),
        call_timeout_(call_timeout),
        request_(request),
        base_(CollectiveRequest(request)),
        emit_(emit),
        cancelled_(cancelled) {}

  absl::StatusOr<v1::NcclTestResult> Run() {
    start_ = absl::Now();
    if (!Check()) return Result();
    if (absl::Status s = Place(); !s.ok()) return s;
    merger_ = std::make_unique<NcclRowMerger>(nranks_);
    std::string unique_id = StartRankZero();
    for (size_t i = 1; i < runs_.size(); ++i) {
      if (!unique_id.empty()) {
        StartNode(i, unique_id);
        continue;
      }
      absl::Status status = absl::CancelledError(
          absl::StrCat("not started: ", runs_[0].node->hostname, " (rank 0) failed"));
      Fail(runs_[i].node->hostname, status);
      emit_(NodeEvent(runs_[i].node->hostname, status, absl::ZeroDuration()));
    }
    Drain();
    if (cancelled_()) return absl::CancelledError("the NCCL test was cancelled");
    return Result();
  }

 private:
  // Step 1: every node checks itself (dry run) and says how many ranks it holds.
  bool Check() {
    FanOutOptions options;
    options.timeout = call_timeout_;
    v1::RunCollectiveRequest check = base_;
    check.set_dry_run(true);
    check.set_root(0);  // the root is checked against the whole communicator later
    auto results = FanOutStream<v1::RunCollectiveRequest, v1::CollectiveEvent>(
        channels_, nodes_, options, [&](const ClusterNode&) { return check; },
        [](auto* async, auto* context, auto* request, auto* reactor) {
          async->RunCollective(context, request, reactor);
        });
    for (size_t i = 0; i < results.size(); ++i) {
      auto& r = results[i];
      absl::Status status = r.status;
      if (status.ok() && (r.reply.empty() || !r.reply[0].has_started() ||
                          r.reply[0].started().local_ranks() == 0)) {
        status = absl::InternalError("the agent's check named no GPU to run on");
      }
      if (!status.ok()) {
        Fail(r.node, status);
        emit_(NodeEvent(r.node, status, r.duration));
        continue;
      }
      NodeRun run;
      run.node = &nodes_[i];
      const v1::CollectiveStarted& started = r.reply[0].started();
      run.local_ranks = started.local_ranks();
      run.gpu_uuids.assign(started.gpu_uuids().begin(), started.gpu_uuids().end());
      run.nccl_version = started.nccl_version();
      runs_.push_back(std::move(run));
    }
    if (!failures_.empty()) {
      reasons_.push_back(absl::StrCat(failures_.size(), " of ", nodes_.size(),
                                      " nodes cannot run NCCL; nothing was run"));
      return false;
    }
    return true;
  }

  // Step 2: one rank per GPU, in cluster.yaml order.
  absl::Status Place() {
    v1::NcclTestEvent event;
    v1::NcclTestStarted* started = event.mutable_started();
    for (NodeRun& run : runs_) {
      run.first_rank = nranks_;
      for (uint32_t local = 0; local < run.local_ranks; ++local) {
        v1::RankPlacement* p = started->add_ranks();
        p->set_rank(nranks_++);
        p->set_node(run.node->hostname);
        if (local < run.gpu_uuids.size()) p->set_gpu_uuid(run.gpu_uuids[local]);
      }
    }
    if (request_.root() < 0 || static_cast<uint32_t>(request_.root()) >= nranks_) {
      return absl::InvalidArgumentError(
          absl::StrCat("--root ", request_.root(), " is not a rank: the run has ", nranks_));
    }
    started->set_nranks(nranks_);
    started->set_nccl_version(runs_.front().nccl_version);
    emit_(std::move(event));
    return absl::OkStatus();
  }

  void StartNode(size_t i, const std::string& unique_id) {
    NodeRun& run = runs_[i];
    v1::RunCollectiveRequest request = base_;
    request.set_nranks(nranks_);
    request.set_first_rank(run.first_rank);
    request.set_local_ranks(run.local_ranks);
    request.set_unique_id(unique_id);
    absl::Time deadline = absl::Now() + call_timeout_ + absl::Milliseconds(base_.timeout_ms());
    run.stream = std::make_unique<CollectiveStream>(
        *run.node, std::move(request), deadline,
        [this, i](v1::CollectiveEvent event) {
          inbox_.Push({i, false, std::move(event), {}});
        },
        [this, i](absl::Status status) {
          inbox_.Push({i, true, {}, std::move(status)});
        });
    run.started = absl::Now();
    run.ended = false;
    run.stream->Start(channels_.StubFor(*run.node));
  }

  // Step 3: rank 0's node first; its first event carries the unique id. Empty when it
  // failed (reported) or did not answer within the call timeout (cancelled).
  std::string StartRankZero() {
    StartNode(0, "");
    const absl::Time give_up = absl::Now() + call_timeout_;
    while (!runs_[0].ended) {
      if (cancelled_() || absl::Now() > give_up) {
        runs_[0].stream->Cancel();
        if (!cancelled_()) timed_out_waiting_for_id_ = true;
      }
      std::optional<Report> report = inbox_.Pop(kPoll);
      if (!report.has_value()) continue;
      if (!report->end && report->event.has_started() &&
          report->event.started().unique_id().size() == 128) {
        return report->event.started().unique_id();
      }
      Handle(std::move(*report));
    }
    return "";
  }

  // Step 4: everything the streams report, until every stream has ended.
  void Drain() {
    auto running = [this] {
      for (const NodeRun& run : runs_) {
        if (!run.ended) return true;
      }
      return false;
    };
    while (running()) {
      if (cancelled_()) CancelAll();
      std::optional<Report> report = inbox_.Pop(kPoll);
      if (report.has_value()) Handle(std::move(*report));
    }
  }

  void Handle(Report report) {
    NodeRun& run = runs_[report.node];
    if (!report.end) {
      const v1::CollectiveEvent& event = report.event;
      if (event.has_row()) {
        for (v1::CollectiveRow& row : merger_->Add(event.rank(), event.row())) {
          v1::NcclTestEvent out;
          *out.mutable_row() = std::move(row);
          emit_(std::move(out));
        }
      } else if (event.has_summary()) {
        merger_->AddSummary(event.rank(), event.summary());
      }
      return;
    }
    run.ended = true;
    absl::Status status = std::move(report.status);
    if (!status.ok() && cancelling_ && !first_failed_.empty() &&
        status.code() == absl::StatusCode::kCancelled) {
      status = absl::CancelledError(absl::StrCat("stopped because ", first_failed_, " failed"));
    } else if (!status.ok() && report.node == 0 && timed_out_waiting_for_id_) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "rank 0's unique id did not come within ", absl::FormatDuration(call_timeout_),
          "; stopped (raise --timeout if the GPUs start slowly)"));
    }
    if (!status.ok()) {
      Fail(run.node->hostname, status);
      if (!cancelling_) CancelAll();  // the other ranks would wait for this one
    }
    emit_(NodeEvent(run.node->hostname, status, absl::Now() - run.started));
  }

  void Fail(const std::string& node, const absl::Status& status) {
    if (failures_.empty() && status.code() != absl::StatusCode::kCancelled) {
      first_failed_ = node;
      reasons_.push_back(absl::StrCat(node, " failed: ", status.message()));
    }
    failures_.push_back(node);
  }

  void CancelAll() {
    cancelling_ = true;
    for (NodeRun& run : runs_) {
      if (run.stream != nullptr) run.stream->Cancel();
    }
  }

  v1::NcclTestResult Result() {
    v1::NcclTestResult result;
    if (merger_ != nullptr) *result.mutable_summary() = merger_->Summary();
    v1::CollectiveSummary* summary = result.mutable_summary();
    summary->set_nranks(nranks_);
    summary->set_duration_ms(absl::ToInt64Milliseconds(absl::Now() - start_));
    if (summary->nccl_version().empty() && !runs_.empty()) {
      summary->set_nccl_version(runs_.front().nccl_version);
    }
    if (failures_.empty() && summary->wrong_total() > 0) {
      reasons_.push_back(absl::StrCat(summary->wrong_total(),
                                      " elements differ from the exact answer (# Out of bounds "
                                      "values); NCCL or the network corrupts data"));
    } else if (failures_.empty() && summary->rows() == 0) {
      reasons_.push_back("no size completed on every rank");
    }
    if (request_.has_min_busbw_gbps() && failures_.empty() && summary->rows() > 0 &&
        summary->avg_busbw_gbps() < request_.min_busbw_gbps()) {
      reasons_.push_back(absl::StrFormat("avg bus bandwidth %g GB/s is below --min-busbw %g",
                                         summary->avg_busbw_gbps(), request_.min_busbw_gbps()));
    }
    result.set_passed(reasons_.empty() && summary->ok());
    result.set_reason(absl::StrJoin(reasons_, "; "));
    result.mutable_nodes()->set_failed(static_cast<uint32_t>(failures_.size()));
    result.mutable_nodes()->set_ok(static_cast<uint32_t>(nodes_.size() - failures_.size()));
    v1::NcclTestEvent event;
    *event.mutable_result() = result;
    emit_(std::move(event));
    return result;
  }

  AgentChannels& channels_;
  const std::vector<ClusterNode>& nodes_;
  const absl::Duration call_timeout_;
  const v1::RunNcclTestRequest& request_;
  const v1::RunCollectiveRequest base_;
  const NcclTestEmit& emit_;
  const std::function<bool()>& cancelled_;
  absl::Time start_;
  std::vector<NodeRun> runs_;
  uint32_t nranks_ = 0;
  std::unique_ptr<NcclRowMerger> merger_;
  Inbox inbox_;
  std::vector<std::string> failures_;
  std::vector<std::string> reasons_;
  std::string first_failed_;
  bool cancelling_ = false;
  bool timed_out_waiting_for_id_ = false;
};

}  // namespace

absl::Status ValidateRunNcclTestRequest(const v1::RunNcclTestRequest& r) {
  auto invalid = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (!v1::CollectiveOp_IsValid(r.op())) return invalid("unknown collective ", r.op());
  if (!v1::NcclDataType_IsValid(r.type())) return invalid("unknown data type ", r.type());
  if (!v1::ReduceOp_IsValid(r.redop())) return invalid("unknown reduction ", r.redop());
  if (r.min_bytes() < 0 || r.max_bytes() < 0 ||
      (r.max_bytes() > 0 && r.min_bytes() > r.max_bytes())) {
    return invalid("-b ", r.min_bytes(), " -e ", r.max_bytes(), ": need 0 < -b <= -e");
  }
  if (r.step_factor() == 1) return invalid("-f 1 would never reach -e; use 2 or more");
  if (r.iters() > kMaxIterations || r.warmup_iters() > kMaxIterations) {
    return invalid("-n and -w must be at most ", kMaxIterations);
  }
  if (r.root() < 0) return invalid("--root ", r.root(), " is not a rank");
  if (r.has_min_busbw_gbps() && r.min_busbw_gbps() < 0) {
    return invalid("--min-busbw ", r.min_busbw_gbps(), " is negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::NcclTestResult> RunNcclTest(AgentChannels& channels,
                                               const std::vector<ClusterNode>& nodes,
                                               absl::Duration call_timeout,
                                               const v1::RunNcclTestRequest& request,
                                               const NcclTestEmit& emit,
                                               const std::function<bool()>& cancelled) {
  if (absl::Status s = ValidateRunNcclTestRequest(request); !s.ok()) return s;
  if (nodes.empty()) return absl::InvalidArgumentError("no node selected");
  NcclTestRun run(channels, nodes, call_timeout, request, emit, cancelled);
  return run.Run();
}

}  // namespace sparkfleet
