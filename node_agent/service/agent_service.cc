#include "node_agent/service/agent_service.h"

#include <sys/utsname.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/server_stream.h"
#include "common/service_support.h"
#include "node_agent/info/doctor_facts.h"
#include "node_agent/nccl/collective_run.h"
#include "node_agent/netcheck/ping.h"
#include "node_agent/netcheck/rdma_bandwidth.h"
#include "node_agent/ops/hosts_file.h"
#include "node_agent/ops/nccl_conf.h"
#include "node_agent/ops/nccl_conf_reader.h"
#include "node_agent/ops/nccl_install.h"
#include "node_agent/ops/netplan_link.h"
#include "node_agent/ops/nfs_share.h"
#include "node_agent/ops/ssh_keys.h"
#include "node_agent/ops/ssh_trust.h"
#include "node_agent/ops/tailscale_install.h"
#include "node_agent/ops/tailscale_up.h"
#include "node_agent/probe/probe.h"

namespace sparkfleet {
namespace {

constexpr char kServicePrefix[] = "/sparkfleet.v1.NodeAgent/";

// Releases an admission slot when the call's work is done.
class Slot {
 public:
  explicit Slot(std::atomic<int>& counter) : counter_(counter) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() { counter_.fetch_sub(1); }

 private:
  std::atomic<int>& counter_;
};

// A unary call whose operation runs on a thread of its own, joined when gRPC is done
// with the call; its admission slot is given back then. gRPC calls no reaction before
// the service method has returned the reactor, so thread_ is set before OnDone runs.
class ThreadedUnary final : public grpc::ServerUnaryReactor {
 public:
  ThreadedUnary(std::function<absl::Status()> operation, std::atomic<int>& slots) : slots_(slots) {
    thread_ = std::thread(
        [this, operation = std::move(operation)] { Finish(ToGrpcStatus(operation())); });
  }
  ThreadedUnary(const ThreadedUnary&) = delete;
  ThreadedUnary& operator=(const ThreadedUnary&) = delete;

  void OnDone() override {
    // gRPC runs OnDone off the finishing thread for a reactor like this one; never join
    // ourselves if that ever changes.
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
    slots_.fetch_sub(1);
    delete this;
  }

 private:
  std::atomic<int>& slots_;
  std::thread thread_;
};

}  // namespace

NodeAgentService::NodeAgentService(Options options)
    : env_(options.env),
      runner_(options.runner),
      node_name_(std::move(options.node_name)),
      insecure_(options.insecure),
      max_concurrent_calls_(options.max_concurrent_calls),
      policy_(NodeAgentPolicy()),
      nccl_locator_(options.env, NcclSearchOptions::FromEnvironment(options.nccl_search_path)),
      nccl_worker_(FindNcclWorker(options.nccl_worker, options.runner)),
      info_(options.env, node_name_, &nccl_locator_),
      ssh_(options.env, options.runner, CurrentUserName()),
      bandwidth_servers_(options.runner),
      audit_(options.env, AuditLog::Options()) {}

NodeAgentService::Caller NodeAgentService::CallerOf(grpc::CallbackServerContext* context) const {
  if (insecure_) return {"insecure loopback caller", "admin"};
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  return {PeerIdentity(*auth), std::string(RoleName(RoleOfPeer(*auth)))};
}

void NodeAgentService::Audit(const Caller& caller, absl::string_view method, bool dry_run,
                             const absl::Status& outcome,
                             const google::protobuf::RepeatedPtrField<v1::ChangeReport>& changes,
                             absl::Time start) {
  if (dry_run || absl::IsInvalidArgument(outcome) || absl::IsPermissionDenied(outcome) ||
      absl::IsUnauthenticated(outcome)) {
    return;
  }
  AuditRecord record;
  record.time = absl::Now();
  record.node = node_name_;
  record.caller = caller.name;
  record.role = caller.role;
  record.method = std::string(method);
  record.outcome = outcome;
  for (const v1::ChangeReport& change : changes) {
    if (!change.changed()) continue;
    record.changed = true;
    record.files.push_back(change.path());
  }
  record.duration = record.time - start;
  if (absl::Status s = audit_.Append(record); !s.ok()) {
    LogWarning("spark-agent: cannot write the audit log: ", s.message());
  }
}

template <typename Request, typename Reply>
grpc::ServerUnaryReactor* NodeAgentService::Mutate(grpc::CallbackServerContext* context,
                                                   absl::string_view method, const Request& request,
                                                   Reply* reply,
                                                   const std::function<absl::Status()>& operation) {
  return Answer(context, method,
                [this, context, method = std::string(method), request = &request, reply,
                 operation]() -> absl::Status {
                  absl::Time start = absl::Now();
                  absl::Status status = operation();
                  Audit(CallerOf(context), method, request->dry_run(), status, reply->changes(),
                        start);
                  return status;
                });
}

absl::Status NodeAgentService::TakeSlot() {
  if (calls_in_flight_.fetch_add(1) < max_concurrent_calls_) return absl::OkStatus();
  calls_in_flight_.fetch_sub(1);
  return absl::ResourceExhaustedError(absl::StrCat("spark-agent on ", node_name_, " is serving ",
                                                   max_concurrent_calls_,
                                                   " calls already; retry shortly"));
}

template <typename Event>
grpc::ServerWriteReactor<Event>* NodeAgentService::Stream(
    grpc::CallbackServerContext* context, absl::string_view method, absl::Status valid,
    typename ThreadedServerStream<Event>::Operation operation) {
  if (absl::Status taken = TakeSlot(); !taken.ok()) return new FinishedStream<Event>(taken);
  absl::Status status = Admit(context, method);
  if (status.ok()) status = valid;
  if (!status.ok()) {
    calls_in_flight_.fetch_sub(1);
    return new FinishedStream<Event>(status);
  }
  return ThreadedServerStream<Event>::Start(
      [this, operation = std::move(operation)](const auto& emit, const auto& cancelled) {
        Slot slot(calls_in_flight_);
        return operation(emit, cancelled);
      });
}

absl::Status NodeAgentService::Admit(grpc::CallbackServerContext* context,
                                     absl::string_view method) {
  return AuthorizeCall(*context, policy_, absl::StrCat(kServicePrefix, method), insecure_);
}

grpc::ServerUnaryReactor* NodeAgentService::Answer(grpc::CallbackServerContext* context,
                                                   absl::string_view method,
                                                   const std::function<absl::Status()>& operation) {
  if (absl::Status taken = TakeSlot(); !taken.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(taken));
    return reactor;
  }
  return new ThreadedUnary(
      [this, context, method = std::string(method), operation]() {
        absl::Status status = Admit(context, method);
        return status.ok() ? operation() : status;
      },
      calls_in_flight_);
}

grpc::ServerUnaryReactor* NodeAgentService::GetInfo(grpc::CallbackServerContext* context,
                                                    const v1::GetInfoRequest*,
                                                    v1::NodeInfo* reply) {
  return Answer(context, "GetInfo", [=] {
    *reply = info_.Read();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::Probe(grpc::CallbackServerContext* context,
                                                  const v1::ProbeRequest* request,
                                                  v1::ProbeReply* reply) {
  return Answer(context, "Probe", [=] {
    *reply = ProbeHardware(env_, *request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::GetDoctorFacts(grpc::CallbackServerContext* context,
                                                           const v1::GetDoctorFactsRequest* request,
                                                           v1::GetDoctorFactsReply* reply) {
  return Answer(context, "GetDoctorFacts", [=] {
    if (absl::Status valid = ValidateGetDoctorFactsRequest(*request); !valid.ok()) return valid;
    *reply = CollectDoctorFacts(env_, runner_, *request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::GetTailscaleStatus(grpc::CallbackServerContext* context,
                                                               const v1::GetTailscaleStatusRequest*,
                                                               v1::TailscaleStatus* reply) {
  return Answer(context, "GetTailscaleStatus", [=] {
    absl::StatusOr<v1::TailscaleStatus> status = sparkfleet::GetTailscaleStatus(
        {env_, runner_, node_name_}, [context] { return context->IsCancelled(); });
    if (!status.ok()) return status.status();
    *reply = *std::move(status);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ReadNcclConf(grpc::CallbackServerContext* context,
                                                         const v1::ReadNcclConfRequest* request,
                                                         v1::ReadNcclConfReply* reply) {
  return Answer(context, "ReadNcclConf", [=] {
    if (absl::Status valid = ValidateReadNcclConfRequest(*request); !valid.ok()) return valid;
    absl::StatusOr<v1::ReadNcclConfReply> read =
        sparkfleet::ReadNcclConf(env_, *request, CurrentNcclProcessFacts());
    if (!read.ok()) return read.status();
    *reply = *std::move(read);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::Ping(grpc::CallbackServerContext* context,
                                                 const v1::PingRequest* request,
                                                 v1::PingReply* reply) {
  return Answer(context, "Ping", [=] {
    absl::StatusOr<PingOptions> options = PingOptionsFromRequest(*request);
    if (!options.ok()) return options.status();
    std::vector<std::string> targets(request->targets().begin(), request->targets().end());
    *reply = PingTargets(runner_, targets, *options, [context] { return context->IsCancelled(); });
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::CheckSsh(grpc::CallbackServerContext* context,
                                                     const v1::CheckSshRequest* request,
                                                     v1::CheckSshReply* reply) {
  return Answer(context, "CheckSsh", [=] {
    if (absl::Status s = ValidateCheckSshRequest(*request); !s.ok()) return s;
    *reply = ssh_.Check(*request, [context] { return context->IsCancelled(); });
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::BandwidthServe(grpc::CallbackServerContext* context,
                                                           const v1::BandwidthServeRequest* request,
                                                           v1::BandwidthServeReply* reply) {
  return Answer(context, "BandwidthServe", [=] {
    if (request->tool() == v1::BANDWIDTH_TOOL_IB_WRITE_BW) {
      absl::StatusOr<v1::BandwidthServeReply> served =
          ServeIbWriteBw(env_, runner_, node_name_, *request, bandwidth_servers_);
      if (!served.ok()) return served.status();
      *reply = *std::move(served);
      return absl::OkStatus();
    }
    absl::StatusOr<BandwidthServeOptions> options = BandwidthServeOptionsFromRequest(*request);
    if (!options.ok()) return options.status();
    absl::StatusOr<v1::BandwidthServer> server = StartIperf3Server(bandwidth_servers_, *options);
    if (!server.ok()) return server.status();
    *reply->add_servers() = *std::move(server);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::BandwidthTest(grpc::CallbackServerContext* context,
                                                          const v1::BandwidthTestRequest* request,
                                                          v1::BandwidthResult* reply) {
  return Answer(context, "BandwidthTest", [=] {
    if (request->tool() == v1::BANDWIDTH_TOOL_IB_WRITE_BW) {
      absl::StatusOr<v1::BandwidthResult> result = TestIbWriteBw(
          env_, runner_, node_name_, *request, [context] { return context->IsCancelled(); });
      if (!result.ok()) return result.status();
      *reply = *std::move(result);
      return absl::OkStatus();
    }
    absl::StatusOr<BandwidthTestOptions> options = BandwidthTestOptionsFromRequest(*request);
    if (!options.ok()) return options.status();
    absl::StatusOr<v1::BandwidthResult> result =
        RunBandwidthTest(runner_, *options, [context] { return context->IsCancelled(); });
    if (!result.ok()) return result.status();
    *reply = *std::move(result);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureSsh(grpc::CallbackServerContext* context,
                                                         const v1::ConfigureSshRequest* request,
                                                         v1::ConfigureSshReply* reply) {
  return Mutate(context, "ConfigureSsh", *request, reply, [=] {
    if (absl::Status valid = ValidateConfigureSshRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    absl::StatusOr<v1::ConfigureSshReply> configured =
        sparkfleet::ConfigureSsh(env_, runner_, *request, node_name_);
    if (!configured.ok()) return configured.status();
    *reply = *std::move(configured);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::GenerateSshKey(grpc::CallbackServerContext* context,
                                                           const v1::GenerateSshKeyRequest* request,
                                                           v1::GenerateSshKeyReply* reply) {
  return Mutate(context, "GenerateSshKey", *request, reply, [=] {
    if (absl::Status valid = ValidateGenerateSshKeyRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    absl::StatusOr<v1::GenerateSshKeyReply> made =
        sparkfleet::GenerateSshKey(env_, runner_, *request, node_name_);
    if (!made.ok()) return made.status();
    *reply = *std::move(made);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureHosts(grpc::CallbackServerContext* context,
                                                           const v1::ConfigureHostsRequest* request,
                                                           v1::ConfigureHostsReply* reply) {
  return Mutate(context, "ConfigureHosts", *request, reply, [=] {
    if (absl::Status valid = ValidateConfigureHostsRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    absl::StatusOr<v1::ConfigureHostsReply> done = sparkfleet::ConfigureHosts(env_, *request);
    if (!done.ok()) return done.status();
    *reply = *std::move(done);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureLink(grpc::CallbackServerContext* context,
                                                          const v1::ConfigureLinkRequest* request,
                                                          v1::ConfigureLinkReply* reply) {
  return Mutate(context, "ConfigureLink", *request, reply, [=] {
    if (absl::Status valid = ValidateConfigureLinkRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    LinkWait wait;
    // The caller going away, or the agent stopping, ends the wait and rolls back.
    wait.cancelled = [context] { return context->IsCancelled(); };
    absl::StatusOr<v1::ConfigureLinkReply> done =
        sparkfleet::ConfigureLink(env_, runner_, *request, wait);
    if (!done.ok()) return done.status();
    *reply = *std::move(done);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureNfs(grpc::CallbackServerContext* context,
                                                         const v1::ConfigureNfsRequest* request,
                                                         v1::ConfigureNfsReply* reply) {
  return Mutate(context, "ConfigureNfs", *request, reply, [=] {
    if (absl::Status valid = ValidateConfigureNfsRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    absl::StatusOr<v1::ConfigureNfsReply> done = sparkfleet::ConfigureNfs(
        env_, runner_, *request, [context] { return context->IsCancelled(); });
    if (!done.ok()) return done.status();
    *reply = *std::move(done);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::InstallTailscaleEvent>* NodeAgentService::InstallTailscale(
    grpc::CallbackServerContext* context, const v1::InstallTailscaleRequest* request) {
  return Stream<v1::InstallTailscaleEvent>(
      context, "InstallTailscale", ValidateInstallTailscaleRequest(*request),
      [this, request = *request, caller = CallerOf(context)](const auto& emit,
                                                             const auto& cancelled) {
        absl::MutexLock lock(&mutating_mu_);
        absl::Time start = absl::Now();
        google::protobuf::RepeatedPtrField<v1::ChangeReport> changes;
        absl::Status status = sparkfleet::InstallTailscale(
            {env_, runner_, node_name_}, request,
            [&](v1::InstallTailscaleEvent event) {
              if (event.has_result()) changes = event.result().changes();
              emit(std::move(event));
            },
            cancelled);
        Audit(caller, "InstallTailscale", request.dry_run(), status, changes, start);
        return status;
      });
}

grpc::ServerUnaryReactor* NodeAgentService::TailscaleUp(grpc::CallbackServerContext* context,
                                                        const v1::TailscaleUpRequest* request,
                                                        v1::TailscaleUpReply* reply) {
  return Mutate(context, "TailscaleUp", *request, reply, [=] {
    if (absl::Status valid = ValidateTailscaleUpRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    absl::StatusOr<v1::TailscaleUpReply> up = sparkfleet::TailscaleUp(
        {env_, runner_, node_name_}, *request, [context] { return context->IsCancelled(); });
    if (!up.ok()) return up.status();
    *reply = *std::move(up);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::WriteNcclConf(grpc::CallbackServerContext* context,
                                                          const v1::WriteNcclConfRequest* request,
                                                          v1::WriteNcclConfReply* reply) {
  return Mutate(context, "WriteNcclConf", *request, reply, [=] {
    if (absl::Status valid = ValidateWriteNcclConfRequest(*request); !valid.ok()) return valid;
    absl::MutexLock lock(&mutating_mu_);
    v1::ProbeRequest probe_request;
    probe_request.set_skip_nvml(true);  // nccl.conf needs the NICs and RDMA ports only
    v1::ProbeReply probe = ProbeHardware(env_, probe_request);
    absl::StatusOr<v1::WriteNcclConfReply> written = sparkfleet::WriteNcclConf(
        env_, *request, probe, {node_name_, SPARKFLEET_VERSION, absl::Now()});
    if (!written.ok()) return written.status();
    *reply = *std::move(written);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::InstallNcclEvent>* NodeAgentService::InstallNccl(
    grpc::CallbackServerContext* context, const v1::InstallNcclRequest* request) {
  return Stream<v1::InstallNcclEvent>(
      context, "InstallNccl", ValidateInstallNcclRequest(*request),
      [this, request = *request, caller = CallerOf(context)](const auto& emit,
                                                             const auto& cancelled) {
        absl::MutexLock lock(&mutating_mu_);
        absl::Time start = absl::Now();
        v1::ProbeReply probe = ProbeHardware(env_, v1::ProbeRequest());
        struct utsname uts;
        NcclInstallNode node{env_,
                             runner_,
                             nccl_locator_,
                             node_name_,
                             uname(&uts) == 0 ? uts.machine : "",
                             probe.gpus_size() > 0 ? probe.gpus(0).compute_capability() : "",
                             static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
        google::protobuf::RepeatedPtrField<v1::ChangeReport> changes;
        absl::Status status = sparkfleet::InstallNccl(
            node, request,
            [&](v1::InstallNcclEvent event) {
              if (event.has_result()) changes = event.result().changes();
              emit(std::move(event));
            },
            cancelled);
        Audit(caller, "InstallNccl", request.dry_run(), status, changes, start);
        return status;
      });
}

grpc::ServerWriteReactor<v1::CollectiveEvent>* NodeAgentService::RunCollective(
    grpc::CallbackServerContext* context, const v1::RunCollectiveRequest* request) {
  return Stream<v1::CollectiveEvent>(
      context, "RunCollective", absl::OkStatus(),
      [this, request = *request, caller = CallerOf(context)](
          const auto& emit, const auto& cancelled) -> absl::Status {
        const bool exclusive = !request.dry_run();  // the GPUs hold one run at a time
        if (exclusive && collective_running_.exchange(true)) {
          return absl::UnavailableError(absl::StrCat("an NCCL collective is already running on ",
                                                     node_name_, "; retry when it ends"));
        }
        absl::Time start = absl::Now();
        v1::ProbeReply probe = ProbeHardware(env_, v1::ProbeRequest());
        absl::Status run =
            RunCollectiveOnNode({env_, runner_, nccl_locator_, node_name_, nccl_worker_}, request,
                                probe, emit, cancelled);
        if (exclusive) collective_running_ = false;
        Audit(caller, "RunCollective", request.dry_run(), run, {}, start);
        return run;
      });
}

}  // namespace sparkfleet
