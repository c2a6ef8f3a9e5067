#include "node_agent/nccl_worker/line_protocol.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace sparkfleet::nccl_worker {
namespace {

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool ToInt64(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

bool ToInt(const std::string& text, int* out) {
  int64_t v = 0;
  if (!ToInt64(text, &v) || v < std::numeric_limits<int>::min() ||
      v > std::numeric_limits<int>::max()) {
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool ToDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  *out = v;
  return true;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Join(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) {
    if (!out.empty()) out += ' ';
    out += f;
  }
  return out;
}

bool ParseTimings(const std::vector<std::string>& f, size_t at, Timings* out) {
  return ToDouble(f[at], &out->time_us) && ToDouble(f[at + 1], &out->algbw_gbps) &&
         ToDouble(f[at + 2], &out->busbw_gbps) && ToInt64(f[at + 3], &out->wrong);
}

// Reads the value of option `name` at args[*i + 1].
bool TakeValue(const std::vector<std::string>& args, size_t* i, std::string* value,
               std::string* error) {
  if (*i + 1 >= args.size()) {
    *error = args[*i] + " needs a value";
    return false;
  }
  *value = args[++*i];
  return true;
}

bool CheckOptions(const WorkerOptions& o, std::string* error) {
  if (o.nranks < 1)
    *error = "--nranks must be at least 1";
  else if (o.rank < 0 || o.rank >= o.nranks)
    *error = "--rank must be in [0, nranks)";
  else if (o.device < 0)
    *error = "--device must be >= 0";
  else if (o.min_bytes < 1 || o.max_bytes < o.min_bytes)
    *error = "need 1 <= -b <= -e";
  else if (o.step_factor < 2)
    *error = "-f must be at least 2";
  else if (o.iters < 1 || o.iters > 100000)
    *error = "-n must be in [1, 100000]";
  else if (o.warmup_iters < 0 || o.warmup_iters > 100000)
    *error = "-w must be in [0, 100000]";
  else if (o.root < 0 || o.root >= o.nranks)
    *error = "--root must be in [0, nranks)";
  else if (o.memory_fraction < 0 || o.memory_fraction > 1)
    *error = "--memory-fraction in [0, 1]";
  else if (!o.unique_id_hex.empty() && o.unique_id_hex.size() != 256) {
    *error = "--unique-id must be 256 hex digits";
  } else if (o.rank != 0 && o.unique_id_hex.empty()) {
    *error = "rank " + std::to_string(o.rank) + " needs --unique-id (rank 0 makes it)";
  } else {
    return true;
  }
  return false;
}

}  // namespace

bool ParseByteSize(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  std::string digits = text;
  int64_t scale = 1;
  switch (text.back()) {
    case 'K':
    case 'k':
      scale = 1ll << 10;
      break;
    case 'M':
    case 'm':
      scale = 1ll << 20;
      break;
    case 'G':
    case 'g':
      scale = 1ll << 30;
      break;
    default:
      break;
  }
  if (scale != 1) digits.pop_back();
  if (digits.empty() || digits[0] == '-' || digits[0] == '+') return false;
  int64_t v = 0;
  if (!ToInt64(digits, &v) || v > std::numeric_limits<int64_t>::max() / scale) return false;
  *out = v * scale;
  return true;
}

bool ParseWorkerArgs(const std::vector<std::string>& args, WorkerOptions* out, std::string* error) {
  WorkerOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    bool ok = true;
    if (a == "--no-check") {
      o.check = false;
      continue;
    }
    if (!TakeValue(args, &i, &v, error)) return false;
    if (a == "--rank")
      ok = ToInt(v, &o.rank);
    else if (a == "--nranks")
      ok = ToInt(v, &o.nranks);
    else if (a == "--device")
      ok = ToInt(v, &o.device);
    else if (a == "--op")
      o.op = v;
    else if (a == "--dtype")
      o.dtype = v;
    else if (a == "--redop")
      o.redop = v;
    else if (a == "--root")
      ok = ToInt(v, &o.root);
    else if (a == "-b")
      ok = ParseByteSize(v, &o.min_bytes);
    else if (a == "-e")
      ok = ParseByteSize(v, &o.max_bytes);
    else if (a == "-f")
      ok = ToInt64(v, &o.step_factor);
    else if (a == "-n")
      ok = ToInt64(v, &o.iters);
    else if (a == "-w")
      ok = ToInt64(v, &o.warmup_iters);
    else if (a == "--unique-id")
      o.unique_id_hex = v;
    else if (a == "--nccl")
      o.nccl_library = v;
    else if (a == "--cuda")
      o.cuda_library = v;
    else if (a == "--memory-fraction")
      ok = ToDouble(v, &o.memory_fraction);
    else {
      *error = "unknown argument " + a;
      return false;
    }
    if (!ok) {
      *error = a + " " + v + ": not a valid value";
      return false;
    }
  }
  if (!CheckOptions(o, error)) return false;
  *out = o;
  return true;
}

std::vector<std::string> WorkerArgv(const std::string& program, const WorkerOptions& o) {
  std::vector<std::string> argv = {program,
                                   "--rank",
                                   std::to_string(o.rank),
                                   "--nranks",
                                   std::to_string(o.nranks),
                                   "--device",
                                   std::to_string(o.device),
                                   "--op",
                                   o.op,
                                   "--dtype",
                                   o.dtype,
                                   "--redop",
                                   o.redop,
                                   "--root",
                                   std::to_string(o.root),
                                   "-b",
                                   std::to_string(o.min_bytes),
                                   "-e",
                                   std::to_string(o.max_bytes),
                                   "-f",
                                   std::to_string(o.step_factor),
                                   "-n",
                                   std::to_string(o.iters),
                                   "-w",
                                   std::to_string(o.warmup_iters)};
  if (!o.check) argv.push_back("--no-check");
  auto add = [&](const char* flag, const std::string& value) {
    if (value.empty()) return;
    argv.push_back(flag);
    argv.push_back(value);
  };
  add("--unique-id", o.unique_id_hex);
  add("--nccl", o.nccl_library);
  add("--cuda", o.cuda_library);
  if (o.memory_fraction > 0) add("--memory-fraction", Num(o.memory_fraction));
  return argv;
}

std::string FormatVersion(const VersionLine& l) {
  return Join({"VERSION", l.nccl_version, std::to_string(l.nccl_code),
               std::to_string(l.cuda_driver_version)});
}

std::string FormatDevice(const DeviceLine& l) {
  std::string name;
  for (char c : l.name) name += (c == '\n' || c == '\r') ? ' ' : c;
  return Join({"DEVICE", std::to_string(l.ordinal), l.uuid.empty() ? "-" : l.uuid,
               std::to_string(l.free_bytes), std::to_string(l.total_bytes),
               l.integrated ? "1" : "0", name});
}

std::string FormatUniqueId(const std::string& unique_id) {
  return "UNIQUE_ID " + BytesToHex(unique_id);
}

std::string FormatReady(int nranks) { return "READY " + std::to_string(nranks); }

std::string FormatRow(const RowLine& r) {
  auto timings = [](const Timings& t) {
    return Join({Num(t.time_us), Num(t.algbw_gbps), Num(t.busbw_gbps), std::to_string(t.wrong)});
  };
  return Join({"ROW", std::to_string(r.size_bytes), std::to_string(r.count), r.type, r.redop,
               std::to_string(r.root), timings(r.out_of_place), timings(r.in_place)});
}

std::string FormatSummary(const SummaryLine& s) {
  return Join({"SUMMARY", std::to_string(s.wrong_total), Num(s.avg_busbw_gbps),
               std::to_string(s.rows), std::to_string(s.max_size_bytes),
               std::to_string(s.size_cap_bytes), std::to_string(s.duration_ms)});
}

std::string FormatError(const std::string& message) {
  std::string out = "ERROR ";
  for (char c : message) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

bool ParseWorkerLine(const std::string& line, WorkerLine* out, std::string* error) {
  WorkerLine parsed;
  std::vector<std::string> f = Fields(line);
  const std::string keyword = f.empty() ? "" : f[0];
  auto bad = [&](const char* what) {
    *error = std::string("malformed ") + what + " line from spark-nccl-worker: \"" +
             line.substr(0, 200) + "\"";
    return false;
  };
  if (keyword == "VERSION") {
    parsed.kind = WorkerLine::Kind::kVersion;
    if (f.size() != 4 || !ToInt(f[2], &parsed.version.nccl_code) ||
        !ToInt(f[3], &parsed.version.cuda_driver_version)) {
      return bad("VERSION");
    }
    parsed.version.nccl_version = f[1];
  } else if (keyword == "DEVICE") {
    parsed.kind = WorkerLine::Kind::kDevice;
    DeviceLine& d = parsed.device;
    if (f.size() < 6 || !ToInt(f[1], &d.ordinal) || !ToInt64(f[3], &d.free_bytes) ||
        !ToInt64(f[4], &d.total_bytes) || (f[5] != "0" && f[5] != "1")) {
      return bad("DEVICE");
    }
    d.uuid = f[2] == "-" ? "" : f[2];
    d.integrated = f[5] == "1";
    for (size_t i = 6; i < f.size(); ++i) d.name += (i > 6 ? " " : "") + f[i];
  } else if (keyword == "UNIQUE_ID") {
    parsed.kind = WorkerLine::Kind::kUniqueId;
    if (f.size() != 2 || f[1].size() != 256 || !HexToBytes(f[1], &parsed.unique_id)) {
      return bad("UNIQUE_ID");
    }
  } else if (keyword == "READY") {
    parsed.kind = WorkerLine::Kind::kReady;
    if (f.size() != 2 || !ToInt(f[1], &parsed.ready_nranks)) return bad("READY");
  } else if (keyword == "ROW") {
    parsed.kind = WorkerLine::Kind::kRow;
    RowLine& r = parsed.row;
    if (f.size() != 14 || !ToInt64(f[1], &r.size_bytes) || !ToInt64(f[2], &r.count) ||
        !ToInt(f[5], &r.root) || !ParseTimings(f, 6, &r.out_of_place) ||
        !ParseTimings(f, 10, &r.in_place)) {
      return bad("ROW");
    }
    r.type = f[3];
    r.redop = f[4];
  } else if (keyword == "SUMMARY") {
    parsed.kind = WorkerLine::Kind::kSummary;
    SummaryLine& s = parsed.summary;
    if (f.size() != 7 || !ToInt64(f[1], &s.wrong_total) || !ToDouble(f[2], &s.avg_busbw_gbps) ||
        !ToInt64(f[3], &s.rows) || !ToInt64(f[4], &s.max_size_bytes) ||
        !ToInt64(f[5], &s.size_cap_bytes) || !ToInt64(f[6], &s.duration_ms)) {
      return bad("SUMMARY");
    }
  } else if (keyword == "ERROR") {
    parsed.kind = WorkerLine::Kind::kError;
    parsed.text = line.size() > 6 ? line.substr(6) : "spark-nccl-worker failed";
  } else {
    parsed.kind = WorkerLine::Kind::kOther;
    parsed.text = line;
  }
  *out = std::move(parsed);
  return true;
}

std::string NcclVersionText(int code) {
  int major = code >= 10000 ? code / 10000 : code / 1000;
  int minor = code >= 10000 ? (code % 10000) / 100 : (code % 1000) / 100;
  int patch = code % 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string BytesToHex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool HexToBytes(const std::string& hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes += static_cast<char>(hi << 4 | lo);
  }
  *out = std::move(bytes);
  return true;
}

}  // namespace sparkfleet::nccl_worker
