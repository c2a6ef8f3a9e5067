#include "coordinator/coordinator_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/roles.h"
#include "common/server_stream.h"
#include "common/service_support.h"
#include "coordinator/cluster_views.h"
#include "coordinator/commands/status_command.h"
#include "coordinator/deploy/deploy_run.h"
#include "coordinator/nccl/nccl_test_run.h"
#include "coordinator/tailscale_record.h"
#include "coordinator/validate/validation_run.h"

namespace sparkfleet {
namespace {

constexpr char kServicePrefix[] = "/sparkfleet.v1.Coordinator/";

std::vector<std::string> LimitOf(const google::protobuf::RepeatedPtrField<std::string>& limit) {
  return std::vector<std::string>(limit.begin(), limit.end());
}

}  // namespace

CoordinatorService::CoordinatorService(ClusterSession& session, bool insecure)
    : session_(session), insecure_(insecure) {}

absl::Status CoordinatorService::Admit(grpc::CallbackServerContext* context,
                                       absl::string_view method) {
  return AuthorizeCall(*context, CoordinatorPolicy(), absl::StrCat(kServicePrefix, method),
                       insecure_);
}

grpc::ServerUnaryReactor* CoordinatorService::Answer(
    grpc::CallbackServerContext* context, absl::string_view method,
    const std::function<absl::Status()>& operation) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = Admit(context, method);
  if (status.ok()) status = operation();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* CoordinatorService::GetClusterConfig(grpc::CallbackServerContext* context,
                                                               const v1::GetClusterConfigRequest*,
                                                               v1::ClusterConfig* reply) {
  return Answer(context, "GetClusterConfig", [&] {
    *reply = ClusterConfigView(session_.config);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CoordinatorService::GetConnectionInfo(
    grpc::CallbackServerContext* context, const v1::GetConnectionInfoRequest* request,
    v1::GetConnectionInfoReply* reply) {
  return Answer(context, "GetConnectionInfo", [&]() -> absl::Status {
    absl::StatusOr<std::vector<ClusterNode>> nodes =
        SelectNodes(session_.config, LimitOf(request->limit()));
    if (!nodes.ok()) return nodes.status();
    *reply = ConnectionView(session_.config, *nodes, request->use_tailscale(),
                            LoadTailscaleAddresses(session_.config_path, session_.config));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CoordinatorService::GetEndpoints(grpc::CallbackServerContext* context,
                                                           const v1::GetEndpointsRequest* request,
                                                           v1::GetEndpointsReply* reply) {
  return Answer(context, "GetEndpoints", [&]() -> absl::Status {
    absl::StatusOr<std::vector<ClusterNode>> nodes =
        SelectNodes(session_.config, LimitOf(request->limit()));
    if (!nodes.ok()) return nodes.status();
    *reply = EndpointsView(*nodes, LoadTailscaleAddresses(session_.config_path, session_.config));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CoordinatorService::Status(grpc::CallbackServerContext* context,
                                                     const v1::StatusRequest* request,
                                                     v1::StatusReply* reply) {
  return Answer(context, "Status", [&]() -> absl::Status {
    absl::StatusOr<std::vector<ClusterNode>> nodes =
        SelectNodes(session_.config, LimitOf(request->limit()));
    if (!nodes.ok()) return nodes.status();
    FanOutOptions options = session_.fanout;
    if (request->timeout_ms() > 0) options.timeout = absl::Milliseconds(request->timeout_ms());
    std::vector<NodeResult<v1::NodeInfo>> results =
        FetchNodeInfo(*session_.channels, *nodes, options);
    uint32_t ok = 0;
    for (const NodeResult<v1::NodeInfo>& r : results) {
      v1::NodeStatus* out = reply->add_nodes();
      out->mutable_result()->set_node(r.node);
      out->mutable_result()->set_ok(r.status.ok());
      out->mutable_result()->set_duration_ms(absl::ToInt64Milliseconds(r.duration));
      if (r.status.ok()) {
        ++ok;
        *out->mutable_info() = r.reply;
      } else {
        out->mutable_result()->set_error_code(std::string(StatusCodeName(r.status.code())));
        out->mutable_result()->set_error_message(std::string(r.status.message()));
      }
    }
    reply->mutable_summary()->set_ok(ok);
    reply->mutable_summary()->set_failed(static_cast<uint32_t>(results.size()) - ok);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::ValidateEvent>* CoordinatorService::Validate(
    grpc::CallbackServerContext* context, const v1::ValidateRequest* request) {
  absl::Status status = Admit(context, "Validate");
  if (status.ok()) status = CheckValidateRequest(*request);
  absl::StatusOr<std::vector<ClusterNode>> nodes =
      status.ok() ? SelectNodes(session_.config, LimitOf(request->limit()))
                  : absl::StatusOr<std::vector<ClusterNode>>(status);
  if (!nodes.ok()) return new FinishedStream<v1::ValidateEvent>(nodes.status());
  ValidationSetup setup;
  setup.nodes = *std::move(nodes);
  setup.request = *request;
  setup.thresholds = MergeThresholds(session_.config.validation, request->thresholds(),
                                     ClusterSshKeyExists(session_.config));
  setup.timeout = request->timeout_ms() > 0 ? absl::Milliseconds(request->timeout_ms())
                                            : session_.fanout.timeout;
  setup.parallel = session_.fanout.parallel;
  setup.seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  return ThreadedServerStream<v1::ValidateEvent>::Start(
      [this, setup = std::move(setup)](const auto& emit, const auto& cancelled) -> absl::Status {
        ValidationSetup run = setup;
        run.cancelled = cancelled;
        ValidationReport report =
            RunValidation(*session_.channels, run, [&emit](const v1::CheckResult& check) {
              v1::ValidateEvent event;
              *event.mutable_check() = check;
              emit(std::move(event));
            });
        v1::ValidateEvent last;
        *last.mutable_summary() = report.summary;
        emit(std::move(last));
        return absl::OkStatus();  // failed checks are results, not an RPC error
      });
}

grpc::ServerWriteReactor<v1::DeployEvent>* CoordinatorService::Deploy(
    grpc::CallbackServerContext* context, const v1::DeployRequest* request) {
  absl::Status status = Admit(context, "Deploy");
  absl::StatusOr<std::vector<ClusterNode>> nodes =
      status.ok() ? SelectNodes(session_.config, LimitOf(request->limit()))
                  : absl::StatusOr<std::vector<ClusterNode>>(status);
  if (!nodes.ok()) return new FinishedStream<v1::DeployEvent>(nodes.status());
  std::vector<std::string> warnings;
  absl::StatusOr<DeploySettings> settings = DeploySettingsFor(session_.config, *request, &warnings);
  if (!settings.ok()) return new FinishedStream<v1::DeployEvent>(settings.status());
  for (const std::string& warning : warnings) LogWarning("sparkctl serve: Deploy: ", warning);
  // One deploy at a time: two would race on the same nodes' files and keys.
  if (deploying_.exchange(true)) {
    return new FinishedStream<v1::DeployEvent>(absl::AbortedError(
        "another Deploy is running on this coordinator; wait for its recap and call again"));
  }
  ClusterSession run = session_.WithNodes(*std::move(nodes));
  if (request->timeout_ms() > 0) run.fanout.timeout = absl::Milliseconds(request->timeout_ms());
  run.fanout.progress_label.clear();
  LogInfo("sparkctl serve: Deploy by ", PeerIdentity(*context->auth_context()),
          request->dry_run() ? " (check)" : "", " on ", run.nodes.size(), " nodes");
  return ThreadedServerStream<v1::DeployEvent>::Start(
      [this, run = std::move(run), settings = *std::move(settings)](
          const auto& emit, const auto& cancelled) mutable -> absl::Status {
        settings.cancelled = cancelled;
        RunDeploy(run, settings, emit);
        deploying_ = false;
        return absl::OkStatus();  // failed nodes are in the recap, not an RPC error
      });
}

grpc::ServerWriteReactor<v1::NcclTestEvent>* CoordinatorService::RunNcclTest(
    grpc::CallbackServerContext* context, const v1::RunNcclTestRequest* request) {
  absl::Status status = Admit(context, "RunNcclTest");
  if (status.ok()) status = ValidateRunNcclTestRequest(*request);
  absl::StatusOr<std::vector<ClusterNode>> nodes =
      status.ok() ? SelectNodes(session_.config, LimitOf(request->limit()))
                  : absl::StatusOr<std::vector<ClusterNode>>(status);
  if (!nodes.ok()) return new FinishedStream<v1::NcclTestEvent>(nodes.status());
  absl::Duration timeout = request->timeout_ms() > 0 ? absl::Milliseconds(request->timeout_ms())
                                                     : session_.fanout.timeout;
  return ThreadedServerStream<v1::NcclTestEvent>::Start(
      [this, request = *request, nodes = *std::move(nodes), timeout](
          const auto& emit, const auto& cancelled) -> absl::Status {
        absl::StatusOr<v1::NcclTestResult> result =
            sparkfleet::RunNcclTest(*session_.channels, nodes, timeout, request, emit, cancelled);
        return result.status();  // a failed test is a result event, not an RPC error
      });
}

}  // namespace sparkfleet
