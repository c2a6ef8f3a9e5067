// The line protocol between spark-agent and spark-nccl-worker, and the worker's argv.
//
// The agent starts one worker per local GPU with argv only (no shell):
//
//   spark-nccl-worker --rank R --nranks N [--device D] [--op all_reduce] [--dtype float]
//       [--redop sum] [--root 0] [-b 8] [-e 134217728] [-f 2] [-n 20] [-w 5] [--no-check]
//       [--unique-id HEX] [--nccl PATH] [--cuda PATH] [--memory-fraction F]
//
// Sizes accept K, M and G suffixes (powers of 1024, as nccl-tests). --unique-id is the
// 128-byte ncclUniqueId as 256 lowercase hex digits; rank 0 without one makes a new id.
// --nccl / --cuda name the libraries to dlopen; without them the worker searches
// (WorkerLibrarySearchPath in library_search.h).
//
// The worker answers on stdout, one line per event, each flushed as it happens, fields
// separated by one space. Anything NCCL itself prints (NCCL_DEBUG) goes to stderr, so
// stdout carries only these lines:
//
//   VERSION <nccl "2.27.7"> <nccl code 22707> <cuda driver version 13000>
//   DEVICE <ordinal> <uuid "GPU-..."|-> <free bytes> <total bytes> <integrated 0|1> <name...>
//   UNIQUE_ID <256 hex digits>                    rank 0 only, before ncclCommInitRank
//   READY <nranks>                                the communicator is up
//   ROW <size> <count> <type> <redop> <root> <time us> <algbw> <busbw> <wrong>
//       <time us> <algbw> <busbw> <wrong>         out-of-place, then in-place (one line)
//   SUMMARY <wrong total> <avg busbw> <rows> <max size> <size cap> <duration ms>
//   ERROR <message>                               last line of a failed run
//
// GB/s is 10^9 bytes per second; `wrong` is -1 when checking was off; `redop` is "none"
// and `root` -1 where they do not apply; `size cap` is the largest size free GPU memory
// allowed. Exit status: 0 after SUMMARY, 1 after ERROR, 2 for a usage error (ERROR too).
//
// This file needs only the C++ standard library: the worker links nothing else, and the
// agent parses with the same code.
#ifndef SPARKFLEET_NODE_AGENT_NCCL_WORKER_LINE_PROTOCOL_H_
#define SPARKFLEET_NODE_AGENT_NCCL_WORKER_LINE_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <vector>

namespace sparkfleet::nccl_worker {

// What the agent asks a worker to do (its argv).
struct WorkerOptions {
  int rank = -1;
  int nranks = 0;
  int device = 0;  // CUDA ordinal
  std::string op = "all_reduce";
  std::string dtype = "float";
  std::string redop = "sum";
  int root = 0;
  int64_t min_bytes = 8;
  int64_t max_bytes = 128ll << 20;
  int64_t step_factor = 2;
  int64_t iters = 20;
  int64_t warmup_iters = 5;
  bool check = true;
  std::string unique_id_hex;   // empty: rank 0 makes one
  std::string nccl_library;    // empty: search
  std::string cuda_library;    // empty: search
  double memory_fraction = 0;  // 0: DefaultMemoryFraction
};

// Parses argv (argv[0] is the program). On failure returns false with a message naming
// the bad argument. Checks ranges too (0 <= rank < nranks, sizes, iterations).
bool ParseWorkerArgs(const std::vector<std::string>& args, WorkerOptions* out, std::string* error);
// The argv for `options` (argv[0] = `program`); ParseWorkerArgs reads it back.
std::vector<std::string> WorkerArgv(const std::string& program, const WorkerOptions& options);

// "128M" -> 134217728; plain digits, K, M, G (1024-based). False on junk or overflow.
bool ParseByteSize(const std::string& text, int64_t* out);

struct Timings {
  double time_us = 0;
  double algbw_gbps = 0;
  double busbw_gbps = 0;
  int64_t wrong = 0;  // -1: not checked
};

struct RowLine {
  int64_t size_bytes = 0;
  int64_t count = 0;
  std::string type;   // "float"
  std::string redop;  // "sum" or "none"
  int root = -1;
  Timings out_of_place;
  Timings in_place;
};

struct SummaryLine {
  int64_t wrong_total = 0;
  double avg_busbw_gbps = 0;
  int64_t rows = 0;
  int64_t max_size_bytes = 0;
  int64_t size_cap_bytes = 0;
  int64_t duration_ms = 0;
};

struct VersionLine {
  std::string nccl_version;
  int nccl_code = 0;
  int cuda_driver_version = 0;
};

struct DeviceLine {
  int ordinal = 0;
  std::string uuid;  // "" when unknown ("-" on the wire)
  int64_t free_bytes = 0;
  int64_t total_bytes = 0;
  bool integrated = false;
  std::string name;
};

// One line of worker stdout, parsed.
struct WorkerLine {
  enum class Kind { kVersion, kDevice, kUniqueId, kReady, kRow, kSummary, kError, kOther };
  Kind kind = Kind::kOther;
  VersionLine version;
  DeviceLine device;
  std::string unique_id;  // 128 raw bytes
  int ready_nranks = 0;
  RowLine row;
  SummaryLine summary;
  std::string text;  // ERROR's message; the whole line for kOther
};

std::string FormatVersion(const VersionLine& line);
std::string FormatDevice(const DeviceLine& line);
std::string FormatUniqueId(const std::string& unique_id);  // 128 raw bytes
std::string FormatReady(int nranks);
std::string FormatRow(const RowLine& row);
std::string FormatSummary(const SummaryLine& summary);
std::string FormatError(const std::string& message);  // newlines become spaces

// Parses one line (without its newline). A line that starts with a known keyword but is
// malformed returns false with `error` set; any other line is kOther.
bool ParseWorkerLine(const std::string& line, WorkerLine* out, std::string* error);

// "2.27.7" from ncclGetVersion's code (22707, or 2907 before NCCL 2.9's new scheme).
std::string NcclVersionText(int code);

// 128 bytes <-> 256 lowercase hex digits. HexToBytes is false on odd length or non-hex.
std::string BytesToHex(const std::string& bytes);
bool HexToBytes(const std::string& hex, std::string* out);

}  // namespace sparkfleet::nccl_worker

#endif  // SPARKFLEET_NODE_AGENT_NCCL_WORKER_LINE_PROTOCOL_H_
