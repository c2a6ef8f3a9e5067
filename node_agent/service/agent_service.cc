#include "node_agent/service/agent_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "node_agent/probe/probe.h"

namespace sparkfleet {
namespace {

constexpr char kServicePrefix[] = "/sparkfleet.v1.NodeAgent/";

// A server stream that ends at once with `status` (a refusal or UNIMPLEMENTED).
template <typename Event>
class FinishedStream final : public grpc::ServerWriteReactor<Event> {
 public:
  explicit FinishedStream(const absl::Status& status) { this->Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// What is not built yet answers UNIMPLEMENTED saying so, never a fake result.
absl::Status NotBuilt(absl::string_view method, absl::string_view capability) {
  return absl::UnimplementedError(absl::StrCat(
      method, " is not implemented in spark-agent ", SPARKFLEET_VERSION, ": ", capability,
      " is not built yet"));
}

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

}  // namespace

NodeAgentService::NodeAgentService(Options options)
    : env_(options.env),
      runner_(options.runner),
      node_name_(std::move(options.node_name)),
      insecure_(options.insecure),
      max_concurrent_calls_(options.max_concurrent_calls),
      policy_(NodeAgentPolicy()),
      info_(options.env, node_name_) {}

absl::Status NodeAgentService::Admit(grpc::CallbackServerContext* context,
                                     absl::string_view method) {
  std::string full_method = absl::StrCat(kServicePrefix, method);
  Role role = Role::kAdmin;
  std::string caller = "loopback (insecure)";
  if (!insecure_) {
    std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
    role = auth ? RoleOfPeer(*auth) : Role::kNone;
    caller = auth ? PeerIdentity(*auth) : "unauthenticated";
  }
  absl::Status allowed = policy_.Authorize(role, full_method);
  if (!allowed.ok()) {
    LogWarning("refused ", full_method, " from ", caller, " (role ", RoleName(role),
               ", peer ", context->peer(), "): ", allowed.message());
  }
  return allowed;
}

grpc::ServerUnaryReactor* NodeAgentService::Answer(
    grpc::CallbackServerContext* context, absl::string_view method,
    const std::function<absl::Status()>& operation) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (calls_in_flight_.fetch_add(1) >= max_concurrent_calls_) {
    calls_in_flight_.fetch_sub(1);
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("spark-agent on ", node_name_, " is serving ", max_concurrent_calls_,
                     " calls already; retry shortly")));
    return reactor;
  }
  Slot slot(calls_in_flight_);
  absl::Status status = Admit(context, method);
  if (status.ok()) status = operation();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* NodeAgentService::GetInfo(grpc::CallbackServerContext* context,
                                                    const v1::GetInfoRequest*,
                                                    v1::NodeInfo* reply) {
  return Answer(context, "GetInfo", [&] {
    *reply = info_.Read();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::Probe(grpc::CallbackServerContext* context,
                                                  const v1::ProbeRequest* request,
                                                  v1::ProbeReply* reply) {
  return Answer(context, "Probe", [&] {
    *reply = ProbeHardware(env_, *request);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* NodeAgentService::GetDoctorFacts(grpc::CallbackServerContext* context,
                                                           const v1::GetDoctorFactsRequest*,
                                                           v1::GetDoctorFactsReply*) {
  return Answer(context, "GetDoctorFacts", [] {
    return NotBuilt("GetDoctorFacts", "collection of doctor facts (CMA, clock sync, users)");
  });
}

grpc::ServerUnaryReactor* NodeAgentService::GetTailscaleStatus(
    grpc::CallbackServerContext* context, const v1::GetTailscaleStatusRequest*,
    v1::TailscaleStatus*) {
  return Answer(context, "GetTailscaleStatus", [] {
    return NotBuilt("GetTailscaleStatus", "reading `tailscale status --json`");
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ReadNcclConf(grpc::CallbackServerContext* context,
                                                         const v1::ReadNcclConfRequest*,
                                                         v1::ReadNcclConfReply*) {
  return Answer(context, "ReadNcclConf",
                [] { return NotBuilt("ReadNcclConf", "the nccl.conf reader and linter"); });
}

grpc::ServerUnaryReactor* NodeAgentService::Ping(grpc::CallbackServerContext* context,
                                                 const v1::PingRequest*, v1::PingReply*) {
  return Answer(context, "Ping", [] { return NotBuilt("Ping", "ICMP latency measurement"); });
}

grpc::ServerUnaryReactor* NodeAgentService::CheckSsh(grpc::CallbackServerContext* context,
                                                     const v1::CheckSshRequest*,
                                                     v1::CheckSshReply*) {
  return Answer(context, "CheckSsh",
                [] { return NotBuilt("CheckSsh", "the node-to-node SSH reachability check"); });
}

grpc::ServerUnaryReactor* NodeAgentService::BandwidthServe(grpc::CallbackServerContext* context,
                                                           const v1::BandwidthServeRequest*,
                                                           v1::BandwidthServeReply*) {
  return Answer(context, "BandwidthServe",
                [] { return NotBuilt("BandwidthServe", "the iperf3 bandwidth server"); });
}

grpc::ServerUnaryReactor* NodeAgentService::BandwidthTest(grpc::CallbackServerContext* context,
                                                          const v1::BandwidthTestRequest*,
                                                          v1::BandwidthResult*) {
  return Answer(context, "BandwidthTest",
                [] { return NotBuilt("BandwidthTest", "the iperf3 bandwidth client"); });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureSsh(grpc::CallbackServerContext* context,
                                                         const v1::ConfigureSshRequest*,
                                                         v1::ConfigureSshReply*) {
  return Answer(context, "ConfigureSsh", [] {
    return NotBuilt("ConfigureSsh", "SSH trust (authorized_keys, known_hosts) and sshd hardening");
  });
}

grpc::ServerUnaryReactor* NodeAgentService::GenerateSshKey(grpc::CallbackServerContext* context,
                                                           const v1::GenerateSshKeyRequest*,
                                                           v1::GenerateSshKeyReply*) {
  return Answer(context, "GenerateSshKey",
                [] { return NotBuilt("GenerateSshKey", "generation of the user's SSH key"); });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureHosts(grpc::CallbackServerContext* context,
                                                           const v1::ConfigureHostsRequest*,
                                                           v1::ConfigureHostsReply*) {
  return Answer(context, "ConfigureHosts",
                [] { return NotBuilt("ConfigureHosts", "the /etc/hosts managed block"); });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureLink(grpc::CallbackServerContext* context,
                                                          const v1::ConfigureLinkRequest*,
                                                          v1::ConfigureLinkReply*) {
  return Answer(context, "ConfigureLink", [] {
    return NotBuilt("ConfigureLink", "the ConnectX-7 direct link (netplan)");
  });
}

grpc::ServerUnaryReactor* NodeAgentService::ConfigureNfs(grpc::CallbackServerContext* context,
                                                         const v1::ConfigureNfsRequest*,
                                                         v1::ConfigureNfsReply*) {
  return Answer(context, "ConfigureNfs",
                [] { return NotBuilt("ConfigureNfs", "NFS export and mount"); });
}

grpc::ServerWriteReactor<v1::InstallTailscaleEvent>* NodeAgentService::InstallTailscale(
    grpc::CallbackServerContext* context, const v1::InstallTailscaleRequest*) {
  absl::Status status = Admit(context, "InstallTailscale");
  if (status.ok()) status = NotBuilt("InstallTailscale", "Tailscale installation");
  return new FinishedStream<v1::InstallTailscaleEvent>(status);
}

grpc::ServerUnaryReactor* NodeAgentService::TailscaleUp(grpc::CallbackServerContext* context,
                                                        const v1::TailscaleUpRequest*,
                                                        v1::TailscaleUpReply*) {
  return Answer(context, "TailscaleUp",
                [] { return NotBuilt("TailscaleUp", "`tailscale up` with an auth key file"); });
}

grpc::ServerUnaryReactor* NodeAgentService::WriteNcclConf(grpc::CallbackServerContext* context,
                                                          const v1::WriteNcclConfRequest*,
                                                          v1::WriteNcclConfReply*) {
  return Answer(context, "WriteNcclConf",
                [] { return NotBuilt("WriteNcclConf", "nccl.conf rendering from the probe"); });
}

grpc::ServerWriteReactor<v1::InstallNcclEvent>* NodeAgentService::InstallNccl(
    grpc::CallbackServerContext* context, const v1::InstallNcclRequest*) {
  absl::Status status = Admit(context, "InstallNccl");
  if (status.ok()) status = NotBuilt("InstallNccl", "NCCL installation");
  return new FinishedStream<v1::InstallNcclEvent>(status);
}

grpc::ServerWriteReactor<v1::CollectiveEvent>* NodeAgentService::RunCollective(
    grpc::CallbackServerContext* context, const v1::RunCollectiveRequest*) {
  absl::Status status = Admit(context, "RunCollective");
  if (status.ok()) status = NotBuilt("RunCollective", "the NCCL collective worker");
  return new FinishedStream<v1::CollectiveEvent>(status);
}

}  // namespace sparkfleet
