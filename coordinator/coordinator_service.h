// CoordinatorService: sparkfleet.v1.Coordinator, served by `sparkctl serve`, so that
// downstream tools read the cluster's facts and drive it over gRPC. Callers' roles are
// checked here too: a reader can never get nodes changed through the coordinator.
#ifndef SPARKFLEET_COORDINATOR_COORDINATOR_SERVICE_H_
#define SPARKFLEET_COORDINATOR_COORDINATOR_SERVICE_H_

#include <atomic>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "coordinator/cluster_session.h"
#include "sparkfleet/v1/coordinator.grpc.pb.h"

namespace sparkfleet {

class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  // `session` (config, nodes and agent channels) must outlive the service.
  // `insecure`: plaintext on loopback, every caller is admin.
  CoordinatorService(ClusterSession& session, bool insecure);
  CoordinatorService(const CoordinatorService&) = delete;
  CoordinatorService& operator=(const CoordinatorService&) = delete;

  grpc::ServerUnaryReactor* GetClusterConfig(grpc::CallbackServerContext* context,
                                             const v1::GetClusterConfigRequest* request,
                                             v1::ClusterConfig* reply) override;
  grpc::ServerUnaryReactor* GetConnectionInfo(grpc::CallbackServerContext* context,
                                              const v1::GetConnectionInfoRequest* request,
                                              v1::GetConnectionInfoReply* reply) override;
  grpc::ServerUnaryReactor* GetEndpoints(grpc::CallbackServerContext* context,
                                         const v1::GetEndpointsRequest* request,
                                         v1::GetEndpointsReply* reply) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::StatusRequest* request,
                                   v1::StatusReply* reply) override;
  grpc::ServerWriteReactor<v1::ValidateEvent>* Validate(
      grpc::CallbackServerContext* context, const v1::ValidateRequest* request) override;
  grpc::ServerWriteReactor<v1::DeployEvent>* Deploy(grpc::CallbackServerContext* context,
                                                    const v1::DeployRequest* request) override;
  grpc::ServerWriteReactor<v1::NcclTestEvent>* RunNcclTest(
      grpc::CallbackServerContext* context, const v1::RunNcclTestRequest* request) override;

 private:
  absl::Status Admit(grpc::CallbackServerContext* context, absl::string_view method);
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, absl::string_view method,
                                   const std::function<absl::Status()>& operation);

  ClusterSession& session_;
  const bool insecure_;
  std::atomic<bool> deploying_{false};  // a Deploy stream is running
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_COORDINATOR_SERVICE_H_
