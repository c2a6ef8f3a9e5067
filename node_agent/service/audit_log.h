// AuditLog: what was done to this node, by whom — one JSON line per mutating call that
// actually ran (not a dry run; not a call refused before it ran, which the agent log
// records), in /var/log/sparkfleet/audit.jsonl under the node's root:
//
//   {"time":"2026-12-01T14:30:00.123Z","node":"spark-001","caller":"admin",
//    "role":"admin","method":"WriteNcclConf","outcome":"OK","changed":true,
//    "files":["/etc/nccl.conf"],"duration_ms":12}
//
// Never a request's content: no key, no auth key, no file body, only the paths changed
// and the outcome (error messages of the operations never hold secrets). Each append
// replaces the file atomically (Env::WriteFileAtomic), so a crash never leaves a torn
// line. Past `max_bytes` the file is rotated: audit.jsonl.1 (newest) .. .<keep>.
// Thread-safe.
#ifndef SPARKFLEET_NODE_AGENT_SERVICE_AUDIT_LOG_H_
#define SPARKFLEET_NODE_AGENT_SERVICE_AUDIT_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/env.h"

namespace sparkfleet {

inline constexpr char kAuditLogPath[] = "/var/log/sparkfleet/audit.jsonl";

struct AuditRecord {
  absl::Time time;
  std::string node;
  std::string caller;  // the client certificate's name (PeerIdentity)
  std::string role;    // "admin", "reader", "none"
  std::string method;  // "WriteNcclConf"
  absl::Status outcome;
  bool changed = false;
  std::vector<std::string> files;  // node paths that changed
  absl::Duration duration;
};

// The record as one JSON object, without the newline. Pure.
std::string AuditLine(const AuditRecord& record);

class AuditLog {
 public:
  struct Options {
    std::string path = kAuditLogPath;
    uint64_t max_bytes = 1 << 20;  // rotate before the file would grow past this
    int keep = 5;                  // rotated files kept: path.1 .. path.<keep>
  };

  AuditLog(Env& env, Options options);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends the record's line, rotating first when the file is full. An error says
  // which file could not be written; the caller logs it (an audit failure never fails
  // the call that was audited: its change is already made).
  [[nodiscard]] absl::Status Append(const AuditRecord& record);

 private:
  absl::Status Rotate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env& env_;
  const Options options_;
  absl::Mutex mu_;
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_SERVICE_AUDIT_LOG_H_
