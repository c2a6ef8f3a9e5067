// Benchmark: `sparkctl status` over N agents on this machine.
//
// One process hosts N NodeAgent endpoints (the real NodeAgentService, one gRPC server
// listening on N loopback ports, mTLS with one certificate naming every node), and the
// real sparkctl binary is run against a cluster.yaml of N nodes, so each run pays for N
// TCP connections, N TLS handshakes and N GetInfo calls, as on a real cluster.
// Prints total wall time per run and p50/p99 of the per-node call times sparkctl reports.
//
//   status_bench [--nodes 10,100,1000] [--runs 5] [--parallel 256] [--insecure]
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "common/process_setup.h"
#include "common/tls.h"
#include "coordinator/pki.h"
#include "node_agent/service/agent_service.h"
#include "tests/integration/harness.h"

namespace sparkfleet {
namespace {

std::string NodeName(int i) { return absl::StrFormat("spark-%04d", i + 1); }

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * (values.size() - 1) + 0.5);
  return values[index];
}

int RunBench(int nodes, int runs, const std::string& parallel, bool insecure) {
  testing::TempDir dir;
  std::string pki = dir.path() + "/pki";
  std::vector<std::string> names;
  for (int i = 0; i < nodes; ++i) names.push_back(NodeName(i));
  if (!InitCa(pki).ok() || !IssueClientCertificate(pki, "admin", Role::kAdmin).ok() ||
      !IssueNodeCertificate(pki, "bench-agent", {"127.0.0.1"}, 30, names).ok()) {
    std::fprintf(stderr, "bench: PKI set-up failed\n");
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      insecure ? grpc::InsecureServerCredentials()
               : MakeServerCredentials(
                     {pki + "/ca.crt", pki + "/bench-agent.crt", pki + "/bench-agent.key"});
  if (!credentials.ok()) return 1;

  std::unique_ptr<Env> env = NewRootedEnv(dir.path());
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  NodeAgentService service({*env, *runner, "bench-agent", insecure, 1 << 20});
  grpc::ServerBuilder builder;
  std::vector<int> ports(nodes);
  for (int i = 0; i < nodes; ++i) builder.AddListeningPort("127.0.0.1:0", *credentials, &ports[i]);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "bench: cannot start %d listeners\n", nodes);
    return 1;
  }
  std::string yaml = "cluster_name: bench\nnodes:\n";
  for (int i = 0; i < nodes; ++i) {
    absl::StrAppend(&yaml, "  - {hostname: ", names[i],
                    ", ip: 127.0.0.1, user: root, port: ", ports[i], "}\n");
  }
  absl::StrAppend(&yaml, insecure ? "agent:\n  insecure: true\n"
                                  : "agent:\n  tls: {ca: pki/ca.crt, cert: pki/admin.crt, "
                                    "key: pki/admin.key}\n");
  std::string yaml_path = dir.path() + "/cluster.yaml";
  std::ofstream(yaml_path) << yaml;

  std::vector<double> walls_ms, calls_ms, cpu_ms;
  std::regex duration(R"("duration_ms":(\d+))");
  for (int run = 0; run < runs; ++run) {
    ProcessOptions options;
    options.timeout = absl::Seconds(120);
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    absl::Time start = absl::Now();
    absl::StatusOr<ProcessResult> result =
        runner->Run({SPARKCTL_PATH, "-c", yaml_path, "--json", "--timeout", "30", "--parallel",
                     parallel, "status"},
                    options);
    double wall_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!result.ok() || result->exit_code != 0) {
      std::fprintf(stderr, "bench: sparkctl status failed: %s\n",
                   result.ok() ? result->stderr_text.c_str()
                               : std::string(result.status().message()).c_str());
      return 1;
    }
    walls_ms.push_back(wall_ms);
    getrusage(RUSAGE_CHILDREN, &after);
    auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
    cpu_ms.push_back(ms(after.ru_utime) - ms(before.ru_utime) + ms(after.ru_stime) -
                     ms(before.ru_stime));
    for (std::sregex_iterator it(result->stdout_text.begin(), result->stdout_text.end(), duration);
         it != std::sregex_iterator(); ++it) {
      calls_ms.push_back(std::stod((*it)[1]));
    }
  }
  std::printf(
      "nodes=%-5d %s runs=%d  wall p50=%.0f ms (min %.0f, max %.0f)  per-call p50=%.0f ms "
      "p99=%.0f ms  sparkctl cpu p50=%.0f ms\n",
      nodes, insecure ? "plaintext" : "mTLS", runs, Percentile(walls_ms, 0.5),
      Percentile(walls_ms, 0.0), Percentile(walls_ms, 1.0), Percentile(calls_ms, 0.5),
      Percentile(calls_ms, 0.99), Percentile(cpu_ms, 0.5));
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  return 0;
}

}  // namespace
}  // namespace sparkfleet

int main(int argc, char** argv) {
  std::vector<int> sizes = {10, 100, 1000};
  int runs = 5;
  std::string parallel = "256";
  bool insecure = false;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--insecure") {
      insecure = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) break;
    if (flag == "--nodes") {
      sizes.clear();
      for (absl::string_view n : absl::StrSplit(argv[i + 1], ',')) {
        int value = 0;
        if (absl::SimpleAtoi(n, &value) && value > 0) sizes.push_back(value);
      }
    } else if (flag == "--parallel") {
      parallel = argv[i + 1];
    } else if (flag == "--runs") {
      absl::SimpleAtoi(argv[i + 1], &runs);
    }
  }
  sparkfleet::SetUpProcess();
  std::printf("sparkctl status over N agents (one process hosting N mTLS endpoints on loopback)\n");
  for (int n : sizes) {
    if (int rc = sparkfleet::RunBench(n, runs, parallel, insecure); rc != 0) return rc;
  }
  return 0;
}
