// How sparkctl prints results: aligned tables for people, JSON for programs.
//
// The JSON of a fan-out is the same for every command:
//   {"nodes":[{"node":"spark-001","ok":true,"duration_ms":3,"result":{...}},
//             {"node":"spark-002","ok":false,"duration_ms":10001,
//              "error":{"code":"DEADLINE_EXCEEDED","message":"..."}}],
//    "summary":{"ok":1,"failed":1}}
// where "result" is protobuf's JSON of the node's reply with proto field names.
#ifndef SPARKFLEET_COORDINATOR_RENDER_H_
#define SPARKFLEET_COORDINATOR_RENDER_H_

#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/commands/command.h"
#include "coordinator/fanout.h"

namespace sparkfleet {

// A JSON string literal, quotes included, with every control character escaped.
std::string JsonQuote(absl::string_view text);

// Protobuf's JSON of `message`: proto field names, default values printed.
// `pretty` adds newlines and two-space indentation.
std::string MessageJson(const google::protobuf::Message& message, bool pretty = false);

// One node's entry of the fan-out JSON.
std::string NodeEntryJson(const std::string& node, const absl::Status& status,
                          absl::Duration duration, const google::protobuf::Message* result);

// The whole fan-out document from per-node entries.
std::string FanOutJson(const std::vector<std::string>& entries, int ok, int failed);

template <typename Reply>
std::string FanOutJson(const std::vector<NodeResult<Reply>>& results) {
  std::vector<std::string> entries;
  int ok = 0;
  for (const NodeResult<Reply>& r : results) {
    ok += r.status.ok();
    entries.push_back(
        NodeEntryJson(r.node, r.status, r.duration, r.status.ok() ? &r.reply : nullptr));
  }
  return FanOutJson(entries, ok, static_cast<int>(results.size()) - ok);
}

// 0 when every node answered OK, else kExitNodeFailed.
template <typename Reply>
int FanOutExitCode(const std::vector<NodeResult<Reply>>& results) {
  for (const NodeResult<Reply>& r : results) {
    if (!r.status.ok()) return kExitNodeFailed;
  }
  return kExitOk;
}

// Columns padded to their widest cell, two spaces apart; the header row first.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "12 ms", "1.2 s".
std::string HumanDuration(absl::Duration duration);
// "3d 4h", "5h 2m", "42s".
std::string FormatUptime(int64_t seconds);
// "UNAVAILABLE: agent at 10.0.0.2:50151: failed to connect ..." on one line.
std::string OneLineError(const absl::Status& status);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_RENDER_H_
