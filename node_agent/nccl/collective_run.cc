#include "node_agent/nccl/collective_run.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node_agent/nccl/collective_request.h"
#include "node_agent/nccl_worker/line_protocol.h"

namespace sparkfleet {
namespace {

using nccl_worker::WorkerLine;

constexpr char kWorkerName[] = "spark-nccl-worker";
constexpr int kMaxLogLinesPerWorker = 200;
constexpr size_t kMaxLogLineBytes = 1000;
constexpr absl::Duration kPoll = absl::Milliseconds(50);

// The last lines of a worker's stderr, for an error message.
std::string Tail(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  size_t from = lines.size() > 3 ? lines.size() - 3 : 0;
  std::string tail = absl::StrJoin(lines.begin() + from, lines.end(), " | ");
  if (tail.size() > 500) tail = tail.substr(tail.size() - 500);
  return tail.empty() ? "" : absl::StrCat("; last output: ", tail);
}

struct Worker {
  int local = 0;
  int rank = 0;
  std::thread thread;
  absl::StatusOr<ProcessResult> result = absl::UnknownError("not started");
  std::string error;     // its ERROR line
  std::string bad_line;  // a line breaking the protocol
  bool summary = false;
  int log_lines = 0;
};

class WorkerGroup {
 public:
  WorkerGroup(const CollectiveNode& node, const CollectivePlan& plan, const NcclRuntime& runtime,
              const v1::ProbeReply& probe, const CollectiveEmit& emit,
              const std::function<bool()>& cancelled)
      : node_(node),
        plan_(plan),
        runtime_(runtime),
        probe_(probe),
        emit_(emit),
        cancelled_(cancelled),
        deadline_(absl::Now() + plan.timeout) {
    for (int local = 0; local < plan.local_ranks; ++local) {
      workers_.push_back(std::make_unique<Worker>());
      workers_.back()->local = local;
      workers_.back()->rank = plan.first_rank + local;
    }
  }
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  absl::Status Run() {
    if (!plan_.unique_id.empty()) {
      EmitStarted("");
      for (auto& w : workers_) Start(*w, nccl_worker::BytesToHex(plan_.unique_id));
    } else {
      Start(*workers_[0], "");
      std::string id = AwaitUniqueId();
      if (!id.empty()) {
        EmitStarted(id);
        for (size_t i = 1; i < workers_.size(); ++i) {
          Start(*workers_[i], nccl_worker::BytesToHex(id));
        }
      } else {
        abort_ = true;
      }
    }
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
    return Outcome();
  }

 private:
  bool Stopping() const { return abort_.load() || cancelled_(); }

  std::string AwaitUniqueId() {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !unique_id_.empty() || first_ended_;
    };
    while (!ready() && !Stopping() && absl::Now() < deadline_) {
      mu_.AwaitWithTimeout(absl::Condition(&ready), kPoll);
    }
    return unique_id_;
  }

  void EmitStarted(const std::string& new_id) {
    v1::CollectiveEvent event;
    event.set_rank(static_cast<uint32_t>(plan_.first_rank));
    v1::CollectiveStarted* started = event.mutable_started();
    started->set_unique_id(new_id);
    started->set_local_ranks(static_cast<uint32_t>(plan_.local_ranks));
    for (int i = 0; i < plan_.local_ranks && i < probe_.gpus_size(); ++i) {
      started->add_gpu_uuids(probe_.gpus(i).uuid());
    }
    absl::MutexLock lock(&mu_);
    started->set_nccl_version(nccl_version_.empty() ? runtime_.nccl_version : nccl_version_);
    emit_(std::move(event));
    started_ = true;
    for (v1::CollectiveEvent& held : held_) emit_(std::move(held));
    held_.clear();
  }

  void Start(Worker& w, const std::string& id_hex) {
    nccl_worker::WorkerOptions options = WorkerOptionsFor(plan_, w.local, id_hex);
    options.nccl_library = node_.env.HostPath(runtime_.nccl->path);
    options.cuda_library = node_.env.HostPath(runtime_.cuda_driver->path);
    std::vector<std::string> argv = nccl_worker::WorkerArgv(node_.worker_path, options);
    w.thread = std::thread([this, &w, argv = std::move(argv)] { Work(w, argv); });
  }

  void Work(Worker& w, const std::vector<std::string>& argv) {
    ProcessOptions options;
    options.timeout = std::max(deadline_ - absl::Now(), absl::ZeroDuration());
    options.env = plan_.env;
    options.max_output_bytes = 1 << 20;
    options.cancelled = [this] { return Stopping(); };
    options.stdout_line = [this, &w](absl::string_view line) { OnLine(w, line); };
    options.stderr_line = [this, &w](absl::string_view line) { OnLog(w, line); };
    absl::StatusOr<ProcessResult> result = node_.runner.Run(argv, options);
    absl::MutexLock lock(&mu_);
    w.result = std::move(result);
    if (w.local == 0) first_ended_ = true;
    absl::Status status = StatusOf(w);
    // The first worker to fail decides; the others are then killed (abort_), since they
    // would wait for it until the deadline.
    if (!status.ok() && !abort_.load() && !cancelled_() && first_failure_.ok()) {
      first_failure_ = status;
      abort_ = true;
    }
  }

  void OnLine(Worker& w, absl::string_view text) {
    WorkerLine line;
    std::string error;
    absl::MutexLock lock(&mu_);
    if (!nccl_worker::ParseWorkerLine(std::string(text), &line, &error)) {
      if (w.bad_line.empty()) w.bad_line = error;
      return;
    }
    v1::CollectiveEvent event;
    event.set_rank(static_cast<uint32_t>(w.rank));
    switch (line.kind) {
      case WorkerLine::Kind::kVersion:
        if (nccl_version_.empty()) nccl_version_ = line.version.nccl_version;
        return;
      case WorkerLine::Kind::kUniqueId:
        if (w.local == 0 && plan_.unique_id.empty()) unique_id_ = line.unique_id;
        return;
      case WorkerLine::Kind::kRow:
        *event.mutable_row() = RowFromLine(line.row);
        break;
      case WorkerLine::Kind::kSummary:
        w.summary = true;
        *event.mutable_summary() =
            SummaryFromLine(line.summary, plan_.nranks,
                            nccl_version_.empty() ? runtime_.nccl_version : nccl_version_);
        break;
      case WorkerLine::Kind::kError:
        w.error = line.text;
        return;
      case WorkerLine::Kind::kOther:
        LogLocked(w, text);
        return;
      default:  // DEVICE, READY: progress the coordinator does not need
        return;
    }
    EmitLocked(std::move(event));
  }

  // Emits `event`, or holds it until CollectiveStarted has gone out first.
  void EmitLocked(v1::CollectiveEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (started_) {
      emit_(std::move(event));
    } else {
      held_.push_back(std::move(event));
    }
  }

  void OnLog(Worker& w, absl::string_view text) {
    absl::MutexLock lock(&mu_);
    LogLocked(w, text);
  }

  void LogLocked(Worker& w, absl::string_view text) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (++w.log_lines > kMaxLogLinesPerWorker + 1) return;
    v1::CollectiveEvent event;
    event.set_rank(static_cast<uint32_t>(w.rank));
    event.set_log_line(w.log_lines > kMaxLogLinesPerWorker
                           ? "(more output not relayed)"
                           : std::string(text.substr(0, kMaxLogLineBytes)));
    EmitLocked(std::move(event));
  }

  absl::Status StatusOf(const Worker& w) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::string who = absl::StrCat("rank ", w.rank, " (GPU ", w.local, ") on ", node_.node_name);
    if (!w.result.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot start ", kWorkerName, " for ", who,
                                                        ": ", w.result.status().message()));
    }
    const ProcessResult& r = *w.result;
    if (r.timed_out) {
      return absl::DeadlineExceededError(absl::StrCat(
          who, " did not finish within ", absl::FormatDuration(plan_.timeout),
          " and was killed; a peer rank may have failed or be unreachable (see the other "
          "nodes' errors; check NCCL_SOCKET_IFNAME)",
          Tail(r.stderr_text)));
    }
    if (r.cancelled) return absl::CancelledError(absl::StrCat(who, " was stopped"));
    if (!w.error.empty()) return absl::AbortedError(absl::StrCat(who, ": ", w.error));
    if (!w.bad_line.empty()) return absl::InternalError(absl::StrCat(who, ": ", w.bad_line));
    if (!r.ok()) {
      return absl::InternalError(
          absl::StrCat(kWorkerName, " ", who, " ended with ", r.Describe(), Tail(r.stderr_text)));
    }
    if (!w.summary) {
      return absl::InternalError(
          absl::StrCat(kWorkerName, " ", who, " exited without its SUMMARY line"));
    }
    return absl::OkStatus();
  }

  absl::Status Outcome() {
    absl::MutexLock lock(&mu_);
    if (!first_failure_.ok()) return first_failure_;
    if (cancelled_()) {
      return absl::CancelledError(absl::StrCat("RunCollective on ", node_.node_name,
                                               " was cancelled; its workers were killed"));
    }
    if (unique_id_.empty() && plan_.unique_id.empty()) {
      if (absl::Now() >= deadline_) {
        return absl::DeadlineExceededError(absl::StrCat("rank 0 on ", node_.node_name,
                                                        " printed no unique id within ",
                                                        absl::FormatDuration(plan_.timeout)));
      }
      return absl::InternalError(absl::StrCat(kWorkerName, " rank 0 on ", node_.node_name,
                                              " ended without printing its unique id"));
    }
    for (const auto& w : workers_) {
      if (absl::Status s = StatusOf(*w); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  const CollectiveNode& node_;
  const CollectivePlan& plan_;
  const NcclRuntime& runtime_;
  const v1::ProbeReply& probe_;
  const CollectiveEmit& emit_;
  const std::function<bool()>& cancelled_;
  const absl::Time deadline_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> abort_{false};
  mutable absl::Mutex mu_;
  std::string unique_id_ ABSL_GUARDED_BY(mu_);
  bool first_ended_ ABSL_GUARDED_BY(mu_) = false;
  std::string nccl_version_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<v1::CollectiveEvent> held_ ABSL_GUARDED_BY(mu_);  // came before `started`
  absl::Status first_failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string FindNcclWorker(const std::string& configured, const ProcessRunner& runner) {
  if (!configured.empty()) return access(configured.c_str(), X_OK) == 0 ? configured : "";
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.find_last_of('/'));
    std::string candidate = absl::StrCat(dir, "/", kWorkerName);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  absl::StatusOr<std::string> found = runner.Find(kWorkerName);
  return found.ok() ? *found : "";
}

absl::Status RunCollectiveOnNode(const CollectiveNode& node,
                                 const v1::RunCollectiveRequest& request,
                                 const v1::ProbeReply& probe, const CollectiveEmit& emit,
                                 const std::function<bool()>& cancelled) {
  if (probe.gpus_size() == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("no NVIDIA GPU on ", node.node_name, " (probe found none)"));
  }
  absl::StatusOr<CollectivePlan> plan = PlanCollective(request, probe.gpus_size());
  if (!plan.ok()) return plan.status();
  NcclRuntime runtime = node.locator.Find();
  absl::Status ready = CheckNcclRuntime(runtime, node.node_name);
  if (node.worker_path.empty()) {
    std::string missing =
        absl::StrCat(kWorkerName,
                     " not found next to spark-agent or on PATH; reinstall sparkfleet or set "
                     "nccl_worker in agent.yaml");
    ready = absl::FailedPreconditionError(
        ready.ok() ? absl::StrCat("cannot run NCCL on ", node.node_name, ": ", missing)
                   : absl::StrCat(ready.message(), "; ", missing));
  }
  if (!ready.ok()) return ready;
  if (request.dry_run()) {
    v1::CollectiveEvent event;
    event.set_rank(static_cast<uint32_t>(plan->first_rank));
    event.mutable_started()->set_local_ranks(static_cast<uint32_t>(plan->local_ranks));
    for (int i = 0; i < plan->local_ranks; ++i) {
      event.mutable_started()->add_gpu_uuids(probe.gpus(i).uuid());
    }
    event.mutable_started()->set_nccl_version(runtime.nccl_version);
    emit(std::move(event));
    return absl::OkStatus();
  }
  WorkerGroup group(node, *plan, runtime, probe, emit, cancelled);
  return group.Run();
}

}  // namespace sparkfleet
