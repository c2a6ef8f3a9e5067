// agent_call: one NodeAgent call from the command line, for shell tests (the netns
// harness) and by hand; a small grpcurl that knows cluster.yaml's nodes and mTLS.
//
//   agent_call -c DIR/cluster.yaml [--timeout S] NODE METHOD ['{"json": "request"}']
//
// The request is protobuf JSON (proto field names); the reply is printed the same way
// on one line. Exit 0 on success, 2 with "CODE: message" on stderr when the call fails,
// 1 for usage errors. Unary read-only network calls and GetInfo/Probe only.
#include <google/protobuf/util/json_util.h>

#include <functional>
#include <iostream>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "coordinator/cluster_session.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

using Stub = v1::NodeAgent::Stub;
using Caller =
    std::function<absl::StatusOr<std::string>(Stub&, const std::string&, absl::Duration)>;

template <typename Request, typename Reply>
Caller MakeCaller(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Reply*)) {
  return [method](Stub& stub, const std::string& json,
                  absl::Duration timeout) -> absl::StatusOr<std::string> {
    Request request;
    auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("request JSON: ", std::string(parsed.message())));
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    Reply reply;
    grpc::Status status = (stub.*method)(&context, request, &reply);
    if (!status.ok()) return FromGrpcStatus(status);
    return MessageJson(reply);
  };
}

const std::map<std::string, Caller>& Callers() {
  static const auto* callers = new std::map<std::string, Caller>{
      {"GetInfo", MakeCaller(&Stub::GetInfo)},
      {"Probe", MakeCaller(&Stub::Probe)},
      {"Ping", MakeCaller(&Stub::Ping)},
      {"CheckSsh", MakeCaller(&Stub::CheckSsh)},
      {"BandwidthServe", MakeCaller(&Stub::BandwidthServe)},
      {"BandwidthTest", MakeCaller(&Stub::BandwidthTest)},
  };
  return *callers;
}

int Usage(const std::string& why) {
  std::cerr << "agent_call: " << why
            << "\nusage: agent_call -c cluster.yaml [--timeout S] NODE METHOD [JSON]\n"
            << "methods:";
  for (const auto& [name, unused] : Callers()) std::cerr << " " << name;
  std::cerr << "\n";
  return 1;
}

int Main(int argc, char** argv) {
  GlobalOptions globals;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "-c" || arg == "--timeout") && i + 1 < argc) {
      std::string value = argv[++i];
      if (arg == "-c") {
        globals.config_path = value;
      } else if (!absl::SimpleAtod(value, &globals.timeout_s) || globals.timeout_s <= 0) {
        return Usage("--timeout needs a positive number of seconds");
      }
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() < 2 || positional.size() > 3) return Usage("NODE and METHOD expected");
  auto caller = Callers().find(positional[1]);
  if (caller == Callers().end()) return Usage("unknown method " + positional[1]);
  globals.limit = {positional[0]};
  absl::StatusOr<ClusterSession> session = OpenCluster(globals);
  if (!session.ok()) return Usage(std::string(session.status().message()));
  absl::StatusOr<std::string> reply = caller->second(
      session->channels->StubFor(session->nodes.front()),
      positional.size() == 3 ? positional[2] : "{}", absl::Seconds(globals.timeout_s));
  if (!reply.ok()) {
    std::cerr << absl::StatusCodeToString(reply.status().code()) << ": " << reply.status().message()
              << "\n";
    return 2;
  }
  std::cout << *reply << "\n";
  return 0;
}

}  // namespace
}  // namespace sparkfleet

int main(int argc, char** argv) { return sparkfleet::Main(argc, argv); }
