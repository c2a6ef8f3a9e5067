// Benchmark: one full NodeAgent.Probe (NICs, RDMA, GPUs, topology) of the DGX Spark
// fixture tree and of this machine, as the agent runs it (no gRPC).
//
//   probe_bench [--iterations 2000]
#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/env.h"
#include "common/process_setup.h"
#include "node_agent/probe/probe.h"

namespace {

void Measure(const char* label, sparkfleet::Env& env, int iterations) {
  std::vector<double> us;
  sparkfleet::v1::ProbeReply reply;
  for (int i = 0; i < iterations; ++i) {
    absl::Time start = absl::Now();
    reply = sparkfleet::ProbeHardware(env, sparkfleet::v1::ProbeRequest());
    us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  std::sort(us.begin(), us.end());
  std::printf(
      "%-28s iterations=%d  p50=%.0f us  p99=%.0f us  (nics=%d rdma=%d gpus=%d warnings=%d)\n",
      label, iterations, us[us.size() / 2], us[us.size() * 99 / 100], reply.nics_size(),
      reply.rdma_devices_size(), reply.gpus_size(), reply.warnings_size());
}

}  // namespace

int main(int argc, char** argv) {
  sparkfleet::SetUpProcess();
  int iterations = 2000;
  if (argc == 3 && std::string(argv[1]) == "--iterations") {
    absl::SimpleAtoi(argv[2], &iterations);
  }
  std::unique_ptr<sparkfleet::Env> spark =
      sparkfleet::NewRootedEnv(SPARKFLEET_SOURCE_DIR "/tests/testdata/sysfs/dgx-spark");
  Measure("DGX Spark fixture tree", *spark, iterations);
  std::unique_ptr<sparkfleet::Env> h100 =
      sparkfleet::NewRootedEnv(SPARKFLEET_SOURCE_DIR "/tests/testdata/sysfs/dgx-h100");
  Measure("8-GPU server fixture tree", *h100, iterations / 4);
  std::unique_ptr<sparkfleet::Env> live = sparkfleet::NewRootedEnv("/");
  Measure("this machine (live /sys)", *live, iterations);
  return 0;
}
