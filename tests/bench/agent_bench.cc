// Benchmark: what spark-agent costs a node, from start to idle.
//
// Starts the real spark-agent binary several times (mTLS, port 0 with --port-file, --root a
// copy of the DGX Spark fixture tree) and for each start measures
//   port file   exec to the port file naming the bound port (written once the server serves);
//   serving     exec to the first grpc.health.v1 Check answering SERVING, on a new mTLS channel;
//   RSS         VmRSS of the agent once serving, and again after N GetInfo calls on one channel;
//   GetInfo     p50 of those calls;
//   stop        SIGTERM to exit.
// Prints one line per start, then p50 and max over the starts.
//
//   agent_bench [--starts 5] [--calls 100]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/cluster_config.h"
#include "common/process_setup.h"
#include "common/tls.h"
#include "coordinator/bootstrap_health.h"
#include "coordinator/pki.h"
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "tests/integration/harness.h"

namespace sparkfleet {
namespace {

using testing::ChildProcess;
using testing::ClusterHarness;
using testing::TempDir;

constexpr char kNode[] = "spark-001";
constexpr absl::Duration kStartTimeout = absl::Seconds(20);

struct StartFigures {
  double port_file_ms = 0;
  double serving_ms = 0;
  double rss_serving_kib = 0;
  double rss_after_calls_kib = 0;
  double get_info_p50_ms = 0;
  double stop_ms = 0;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(p * (values.size() - 1) + 0.5)];
}

// VmRSS of `pid` in KiB, 0 when unreadable.
double RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    double kib = 0;
    if (absl::ConsumePrefix(&rest, "VmRSS:") &&
        absl::SimpleAtod(absl::StripSuffix(absl::StripAsciiWhitespace(rest), " kB"), &kib)) {
      return kib;
    }
  }
  return 0;
}

// Polls `port_file` every millisecond until it names a port; 0 when the agent exited or
// the wait ran out.
int WaitForPort(const std::string& port_file, ChildProcess& agent) {
  absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    int port = 0;
    std::string text = ClusterHarness::ReadFile(port_file);
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) return port;
    if (agent.WaitExit(absl::ZeroDuration()).has_value()) return 0;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return 0;
}

// `calls` GetInfo calls on one channel; returns their p50 in ms, or -1 on a failed call.
double GetInfoCalls(const std::shared_ptr<grpc::ChannelCredentials>& credentials, int port,
                    int calls) {
  auto stub =
      v1::NodeAgent::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), credentials));
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::NodeInfo info;
    absl::Time start = absl::Now();
    grpc::Status status = stub->GetInfo(&context, v1::GetInfoRequest(), &info);
    if (!status.ok()) {
      std::fprintf(stderr, "bench: GetInfo: %s\n", status.error_message().c_str());
      return -1;
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  return Percentile(ms, 0.5);
}

// One start of the agent, measured; false (and a message) when it did not get to idle.
bool MeasureStart(const std::string& dir, const std::string& root,
                  const std::shared_ptr<grpc::ChannelCredentials>& credentials, int calls,
                  StartFigures& figures) {
  std::string pki = dir + "/pki";
  std::string port_file = dir + "/agent.port";
  std::string log = dir + "/agent.log";
  std::filesystem::remove(port_file);
  std::vector<std::string> argv = {SPARK_AGENT_PATH,
                                   "--listen=127.0.0.1:0",
                                   "--root=" + root,
                                   std::string("--node-name=") + kNode,
                                   absl::StrCat("--tls-cert=", pki, "/", kNode, ".crt"),
                                   absl::StrCat("--tls-key=", pki, "/", kNode, ".key"),
                                   "--tls-ca=" + pki + "/ca.crt",
                                   "--port-file=" + port_file};
  absl::Time start = absl::Now();
  ChildProcess agent(argv, log);  // stopped by PID on every path (SIGKILL in its destructor)
  int port = WaitForPort(port_file, agent);
  if (port == 0) {
    std::fprintf(stderr, "bench: the agent did not start: %s\n",
                 ClusterHarness::ReadFile(log).c_str());
    return false;
  }
  figures.port_file_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  ClusterNode node{kNode, "127.0.0.1", "root", static_cast<uint16_t>(port)};
  absl::Status serving =
      WaitUntilServing(NewGrpcHealthCheck(credentials), node, kStartTimeout, absl::Milliseconds(1));
  if (!serving.ok()) {
    std::fprintf(stderr, "bench: %s\n", std::string(serving.message()).c_str());
    return false;
  }
  figures.serving_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  figures.rss_serving_kib = RssKib(agent.pid());
  figures.get_info_p50_ms = GetInfoCalls(credentials, port, calls);
  if (figures.get_info_p50_ms < 0) return false;
  figures.rss_after_calls_kib = RssKib(agent.pid());
  absl::Time stop = absl::Now();
  agent.Signal(SIGTERM);
  if (!agent.WaitExit(absl::Seconds(5)).has_value()) {
    std::fprintf(stderr, "bench: the agent did not stop within 5 s of SIGTERM\n");
    return false;
  }
  figures.stop_ms = absl::ToDoubleMilliseconds(absl::Now() - stop);
  return true;
}

void PrintSummary(const std::vector<StartFigures>& all, int calls) {
  auto column = [&](double StartFigures::*field) {
    std::vector<double> values;
    for (const StartFigures& f : all) values.push_back(f.*field);
    return std::make_pair(Percentile(values, 0.5), Percentile(values, 1.0));
  };
  auto print = [&](const char* what, double StartFigures::*field, const char* unit, double scale) {
    auto [p50, max] = column(field);
    std::printf("  %-28s p50 %7.1f %s   max %7.1f %s\n", what, p50 * scale, unit, max * scale,
                unit);
  };
  std::printf("over %zu starts:\n", all.size());
  print("exec to port file", &StartFigures::port_file_ms, "ms", 1);
  print("exec to health SERVING", &StartFigures::serving_ms, "ms", 1);
  print("VmRSS once serving", &StartFigures::rss_serving_kib, "MiB", 1.0 / 1024);
  std::string after = absl::StrCat("VmRSS after ", calls, " GetInfo");
  print(after.c_str(), &StartFigures::rss_after_calls_kib, "MiB", 1.0 / 1024);
  print("GetInfo call p50", &StartFigures::get_info_p50_ms, "ms", 1);
  print("SIGTERM to exit", &StartFigures::stop_ms, "ms", 1);
}

int RunBench(int starts, int calls) {
  TempDir dir;
  std::string pki = dir.path() + "/pki";
  if (!InitCa(pki).ok() || !IssueClientCertificate(pki, "admin", Role::kAdmin).ok() ||
      !IssueNodeCertificate(pki, kNode, {"127.0.0.1"}).ok()) {
    std::fprintf(stderr, "bench: PKI set-up failed\n");
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeClientCredentials({pki + "/ca.crt", pki + "/admin.crt", pki + "/admin.key"});
  if (!credentials.ok()) return 1;
  std::string root = dir.path() + "/root";
  std::error_code error;
  std::filesystem::copy(
      SPARKFLEET_SOURCE_DIR "/tests/testdata/sysfs/dgx-spark", root,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks,
      error);
  if (error) {
    std::fprintf(stderr, "bench: copying the fixture tree: %s\n", error.message().c_str());
    return 1;
  }
  std::printf("spark-agent start to idle (mTLS, --root a copy of the DGX Spark fixture tree)\n");
  std::vector<StartFigures> all;
  for (int i = 0; i < starts; ++i) {
    StartFigures f;
    if (!MeasureStart(dir.path(), root, *credentials, calls, f)) return 1;
    std::printf(
        "start %d: port file %.1f ms, SERVING %.1f ms, VmRSS %.1f MiB serving, %.1f MiB after "
        "%d GetInfo (p50 %.2f ms), stop %.1f ms\n",
        i + 1, f.port_file_ms, f.serving_ms, f.rss_serving_kib / 1024, f.rss_after_calls_kib / 1024,
        calls, f.get_info_p50_ms, f.stop_ms);
    all.push_back(f);
  }
  PrintSummary(all, calls);
  return 0;
}

}  // namespace
}  // namespace sparkfleet

int main(int argc, char** argv) {
  int starts = 5;
  int calls = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--starts") absl::SimpleAtoi(argv[i + 1], &starts);
    if (flag == "--calls") absl::SimpleAtoi(argv[i + 1], &calls);
  }
  if (starts < 1 || calls < 1) {
    std::fprintf(stderr, "usage: agent_bench [--starts 5] [--calls 100]\n");
    return 2;
  }
  sparkfleet::SetUpProcess();
  return sparkfleet::RunBench(starts, calls);
}
