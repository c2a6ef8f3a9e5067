#include "node_agent/service/audit_log.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"

namespace sparkfleet {
namespace {

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string Rotated(const std::string& path, int n) { return absl::StrCat(path, ".", n); }

// `text` as a JSON string literal, escaped by protobuf's JSON printer.
std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(value, &out).ok()) return "\"\"";
  return out;
}

}  // namespace

std::string AuditLine(const AuditRecord& record) {
  std::string files;
  for (const std::string& file : record.files) {
    absl::StrAppend(&files, files.empty() ? "" : ",", JsonString(file));
  }
  std::string line = absl::StrCat(
      "{\"time\":",
      JsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", record.time, absl::UTCTimeZone())),
      ",\"node\":", JsonString(record.node), ",\"caller\":", JsonString(record.caller),
      ",\"role\":", JsonString(record.role), ",\"method\":", JsonString(record.method),
      ",\"outcome\":", JsonString(StatusCodeName(record.outcome.code())));
  if (!record.outcome.ok()) {
    absl::StrAppend(&line, ",\"error\":", JsonString(record.outcome.message()));
  }
  absl::StrAppend(&line, ",\"changed\":", record.changed ? "true" : "false", ",\"files\":[", files,
                  "],\"duration_ms\":", absl::ToInt64Milliseconds(record.duration), "}");
  return line;
}

AuditLog::AuditLog(Env& env, Options options) : env_(env), options_(std::move(options)) {}

absl::Status AuditLog::Rotate() {
  // Oldest first, so nothing is overwritten before it has moved on: .<keep-1> -> .<keep>,
  // ..., the log -> .1. Each copy is atomic; a crash in between leaves a duplicate, never
  // a loss.
  for (int n = options_.keep; n >= 1; --n) {
    std::string from = n == 1 ? options_.path : Rotated(options_.path, n - 1);
    absl::StatusOr<std::string> text = env_.ReadFile(from);
    if (absl::IsNotFound(text.status())) continue;
    if (!text.ok()) return text.status();
    WriteOptions write;
    write.mode = 0640;
    write.backup = false;
    absl::StatusOr<std::string> written =
        env_.WriteFileAtomic(Rotated(options_.path, n), *text, write);
    if (!written.ok()) return written.status();
  }
  WriteOptions write;
  write.mode = 0640;
  write.backup = false;  // the rotated files are the history
  return env_.WriteFileAtomic(options_.path, "", write).status();
}

absl::Status AuditLog::Append(const AuditRecord& record) {
  std::string line = AuditLine(record) + "\n";
  absl::MutexLock lock(&mu_);
  if (absl::Status made = env_.MakeDirs(ParentDir(options_.path), 0750); !made.ok()) {
    return absl::Status(made.code(),
                        absl::StrCat("audit log ", options_.path, ": ", made.message()));
  }
  absl::StatusOr<std::string> text = env_.ReadFile(options_.path);
  if (!text.ok() && !absl::IsNotFound(text.status())) return text.status();
  std::string content = text.ok() ? *std::move(text) : "";
  if (!content.empty() && content.size() + line.size() > options_.max_bytes && options_.keep > 0) {
    if (absl::Status rotated = Rotate(); !rotated.ok()) return rotated;
    content.clear();
  }
  WriteOptions write;
  write.mode = 0640;
  write.backup = false;  // the rotated files are the history
  absl::StatusOr<std::string> written = env_.WriteFileAtomic(options_.path, content + line, write);
  if (!written.ok()) {
    return absl::Status(written.status().code(), absl::StrCat("audit log ", options_.path, ": ",
                                                              written.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
