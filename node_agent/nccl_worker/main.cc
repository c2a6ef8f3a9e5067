// spark-nccl-worker: one NCCL rank on one GPU, started by spark-agent (one per local GPU)
// or by hand. Needs only libc, libstdc++ (linked statically) and dlopen; libnccl.so.2 and
// libcuda.so.1 are opened at run time. Arguments and output: line_protocol.h.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "node_agent/nccl_worker/collective_bench.h"
#include "node_agent/nccl_worker/libraries.h"
#include "node_agent/nccl_worker/line_protocol.h"

namespace {

using sparkfleet::nccl_worker::FormatError;

// Protocol lines go to the original stdout; fd 1 then points at stderr, so whatever the
// libraries print (NCCL_DEBUG=INFO writes to stdout) cannot be mistaken for a line.
FILE* TakeProtocolStream() {
  int protocol_fd = dup(STDOUT_FILENO);
  if (protocol_fd < 0) return stdout;
  fflush(stdout);
  dup2(STDERR_FILENO, STDOUT_FILENO);
  FILE* stream = fdopen(protocol_fd, "w");
  return stream != nullptr ? stream : stdout;
}

}  // namespace

int main(int argc, char** argv) {
  FILE* protocol = TakeProtocolStream();
  auto emit = [protocol](const std::string& line) {
    std::fputs(line.c_str(), protocol);
    std::fputc('\n', protocol);
    std::fflush(protocol);
  };
  std::vector<std::string> args(argv, argv + argc);
  if (argc == 2 && (args[1] == "--help" || args[1] == "-h")) {
    std::fprintf(stderr,
                 "usage: spark-nccl-worker --rank R --nranks N [--device D] [--op all_reduce]\n"
                 "  [--dtype float] [--redop sum] [--root 0] [-b 8] [-e 128M] [-f 2] [-n 20]\n"
                 "  [-w 5] [--no-check] [--unique-id HEX] [--nccl PATH] [--cuda PATH]\n"
                 "  [--memory-fraction F]\n");
    return 0;
  }
  sparkfleet::nccl_worker::WorkerOptions options;
  std::string error;
  if (!sparkfleet::nccl_worker::ParseWorkerArgs(args, &options, &error)) {
    emit(FormatError("usage: " + error));
    return 2;
  }
  sparkfleet::nccl_worker::CudaDriver cuda;
  sparkfleet::nccl_worker::NcclLibrary nccl;
  if (!sparkfleet::nccl_worker::LoadCudaDriver(options.cuda_library, &cuda, &error) ||
      !sparkfleet::nccl_worker::LoadNccl(options.nccl_library, &nccl, &error)) {
    emit(FormatError(error));
    return 1;
  }
  return sparkfleet::nccl_worker::RunCollectiveBench(options, nccl, cuda, emit);
}
