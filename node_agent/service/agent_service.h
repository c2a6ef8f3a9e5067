// NodeAgentService: the gRPC face of spark-agent. Thin by design: admit the call
// (concurrency cap), check the caller's role against the per-method allow-list,
// run the operation, convert the result. Operations live in info/, probe/, ops/, ...
// and know nothing about gRPC.
#ifndef SPARKFLEET_NODE_AGENT_SERVICE_AGENT_SERVICE_H_
#define SPARKFLEET_NODE_AGENT_SERVICE_AGENT_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "common/roles.h"
#include "common/server_stream.h"
#include "node_agent/info/node_info.h"
#include "node_agent/nccl/nccl_locator.h"
#include "node_agent/netcheck/bandwidth.h"
#include "node_agent/netcheck/ssh_check.h"
#include "node_agent/service/audit_log.h"
#include "sparkfleet/v1/agent.grpc.pb.h"

namespace sparkfleet {

class NodeAgentService final : public v1::NodeAgent::CallbackService {
 public:
  struct Options {
    Env& env;
    ProcessRunner& runner;
    std::string node_name;
    // Plaintext on loopback: there is no certificate, every caller is admin.
    bool insecure = false;
    int max_concurrent_calls = 256;
    // spark-nccl-worker for RunCollective; empty: next to spark-agent, else on PATH.
    std::string nccl_worker = "";
    // Replaces the default search for libnccl.so.2 / libcuda.so.1 (nccl_locator.h).
    std::vector<std::string> nccl_search_path = {};
  };

  explicit NodeAgentService(Options options);
  NodeAgentService(const NodeAgentService&) = delete;
  NodeAgentService& operator=(const NodeAgentService&) = delete;

  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const v1::GetInfoRequest* request,
                                    v1::NodeInfo* reply) override;
  grpc::ServerUnaryReactor* Probe(grpc::CallbackServerContext* context,
                                  const v1::ProbeRequest* request, v1::ProbeReply* reply) override;
  grpc::ServerUnaryReactor* GetDoctorFacts(grpc::CallbackServerContext* context,
                                           const v1::GetDoctorFactsRequest* request,
                                           v1::GetDoctorFactsReply* reply) override;
  grpc::ServerUnaryReactor* GetTailscaleStatus(grpc::CallbackServerContext* context,
                                               const v1::GetTailscaleStatusRequest* request,
                                               v1::TailscaleStatus* reply) override;
  grpc::ServerUnaryReactor* ReadNcclConf(grpc::CallbackServerContext* context,
                                         const v1::ReadNcclConfRequest* request,
                                         v1::ReadNcclConfReply* reply) override;
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const v1::PingRequest* request, v1::PingReply* reply) override;
  grpc::ServerUnaryReactor* CheckSsh(grpc::CallbackServerContext* context,
                                     const v1::CheckSshRequest* request,
                                     v1::CheckSshReply* reply) override;
  grpc::ServerUnaryReactor* BandwidthServe(grpc::CallbackServerContext* context,
                                           const v1::BandwidthServeRequest* request,
                                           v1::BandwidthServeReply* reply) override;
  grpc::ServerUnaryReactor* BandwidthTest(grpc::CallbackServerContext* context,
                                          const v1::BandwidthTestRequest* request,
                                          v1::BandwidthResult* reply) override;
  grpc::ServerUnaryReactor* ConfigureSsh(grpc::CallbackServerContext* context,
                                         const v1::ConfigureSshRequest* request,
                                         v1::ConfigureSshReply* reply) override;
  grpc::ServerUnaryReactor* GenerateSshKey(grpc::CallbackServerContext* context,
                                           const v1::GenerateSshKeyRequest* request,
                                           v1::GenerateSshKeyReply* reply) override;
  grpc::ServerUnaryReactor* ConfigureHosts(grpc::CallbackServerContext* context,
                                           const v1::ConfigureHostsRequest* request,
                                           v1::ConfigureHostsReply* reply) override;
  grpc::ServerUnaryReactor* ConfigureLink(grpc::CallbackServerContext* context,
                                          const v1::ConfigureLinkRequest* request,
                                          v1::ConfigureLinkReply* reply) override;
  grpc::ServerUnaryReactor* ConfigureNfs(grpc::CallbackServerContext* context,
                                         const v1::ConfigureNfsRequest* request,
                                         v1::ConfigureNfsReply* reply) override;
  grpc::ServerWriteReactor<v1::InstallTailscaleEvent>* InstallTailscale(
      grpc::CallbackServerContext* context, const v1::InstallTailscaleRequest* request) override;
  grpc::ServerUnaryReactor* TailscaleUp(grpc::CallbackServerContext* context,
                                        const v1::TailscaleUpRequest* request,
                                        v1::TailscaleUpReply* reply) override;
  grpc::ServerUnaryReactor* WriteNcclConf(grpc::CallbackServerContext* context,
                                          const v1::WriteNcclConfRequest* request,
                                          v1::WriteNcclConfReply* reply) override;
  grpc::ServerWriteReactor<v1::InstallNcclEvent>* InstallNccl(
      grpc::CallbackServerContext* context, const v1::InstallNcclRequest* request) override;
  grpc::ServerWriteReactor<v1::CollectiveEvent>* RunCollective(
      grpc::CallbackServerContext* context, const v1::RunCollectiveRequest* request) override;

 private:
  // Admits and authorizes a call to `method` (its short name, "GetInfo"). Refusals are
  // logged with the caller's identity.
  absl::Status Admit(grpc::CallbackServerContext* context, absl::string_view method);

  // Takes one of the max_concurrent_calls slots, or says RESOURCE_EXHAUSTED. Every call,
  // unary or streaming, holds one while its operation runs.
  absl::Status TakeSlot();

  // Runs a streaming call's `operation` on a thread of its own once the call holds a slot,
  // is authorized and `valid` is OK; the slot is given back when the operation returns.
  template <typename Event>
  grpc::ServerWriteReactor<Event>* Stream(
      grpc::CallbackServerContext* context, absl::string_view method, absl::Status valid,
      typename ThreadedServerStream<Event>::Operation operation);

  // Takes a slot, then runs `operation` for an admitted unary call on a thread of its own
  // (gRPC's few callback threads only hand calls over, so a slow call never holds up the
  // rest and the cap, not gRPC's queue, decides who waits) and finishes it.
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, absl::string_view method,
                                   const std::function<absl::Status()>& operation);

  // Who called, as the audit log names them.
  struct Caller {
    std::string name;
    std::string role;
  };
  Caller CallerOf(grpc::CallbackServerContext* context) const;

  // Answer() for a mutating call (the request has dry_run, the reply changes): the call
  // is written to the audit log when it ran for real.
  template <typename Request, typename Reply>
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context, absl::string_view method,
                                   const Request& request, Reply* reply,
                                   const std::function<absl::Status()>& operation);

  // The audit line of a mutating call, unless it was a dry run or was refused before it
  // ran (INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED: the agent log has those).
  void Audit(const Caller& caller, absl::string_view method, bool dry_run,
             const absl::Status& outcome,
             const google::protobuf::RepeatedPtrField<v1::ChangeReport>& changes, absl::Time start);

  Env& env_;
  ProcessRunner& runner_;
  const std::string node_name_;
  const bool insecure_;
  const int max_concurrent_calls_;
  const MethodPolicy policy_;
  std::atomic<int> calls_in_flight_{0};
  // Serializes the mutating RPCs on this node: every one of them (WriteNcclConf,
  // ConfigureHosts, ...) holds it for its whole operation, dry runs included, so two
  // callers never interleave edits of the same files.
  absl::Mutex mutating_mu_;
  NcclLocator nccl_locator_;  // before info_, which reads it
  const std::string nccl_worker_;
  // One collective at a time occupies the GPUs; a second (not a dry run) is refused.
  std::atomic<bool> collective_running_{false};
  NodeInfoReader info_;
  SshChecker ssh_;
  // One-shot iperf3 servers started by BandwidthServe; stopped (killed) with the service.
  BandwidthServers bandwidth_servers_;
  AuditLog audit_;  // /var/log/sparkfleet/audit.jsonl under the root
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_SERVICE_AGENT_SERVICE_H_
