// JsonValue: a small, strict reader for the JSON that programs the agent runs print
// (iperf3 --json), read into a tree of values.
//
// Protobuf's JsonStringToMessage into google.protobuf.Struct would be the obvious tool,
// but it refuses iperf3 3.12's output: "start" repeats the keys sock_bufsize,
// sndbuf_actual and rcvbuf_actual, and Struct rejects a repeated map key. This reader
// keeps every member; Find returns the last one with a given key, as cJSON's readers
// of that output do.
//
//   absl::StatusOr<JsonValue> doc = JsonValue::Parse(text);
//   if (!doc.ok()) return doc.status();
//   std::optional<double> bps = doc->NumberAt({"end", "sum_sent", "bits_per_second"});
//
// Thread-safety: a parsed value is immutable.
#ifndef SPARKFLEET_NODE_AGENT_NETCHECK_JSON_READER_H_
#define SPARKFLEET_NODE_AGENT_NETCHECK_JSON_READER_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  // Parses one JSON document (RFC 8259; surrounding whitespace allowed). Fails with
  // INVALID_ARGUMENT naming the byte offset of the first error; nesting deeper than 64
  // levels is an error too.
  [[nodiscard]] static absl::StatusOr<JsonValue> Parse(absl::string_view text);

  Kind kind() const { return kind_; }

  // The member `key` of an object (the last one when repeated); nullptr when this is
  // not an object or has no such member.
  const JsonValue* Find(absl::string_view key) const;
  // Find applied key after key; nullptr as soon as one is missing.
  const JsonValue* FindPath(std::initializer_list<absl::string_view> keys) const;

  // The value when it has that kind, else nullopt.
  std::optional<double> AsNumber() const;
  std::optional<std::string> AsString() const;
  std::optional<bool> AsBool() const;
  // FindPath then AsNumber / AsString.
  std::optional<double> NumberAt(std::initializer_list<absl::string_view> keys) const;
  std::optional<std::string> StringAt(std::initializer_list<absl::string_view> keys) const;

  // Items of an array (empty for other kinds).
  const std::vector<JsonValue>& items() const { return items_; }
  // Members of an object as (key, value), in document order (empty for other kinds).
  std::vector<std::pair<absl::string_view, const JsonValue*>> members() const {
    std::vector<std::pair<absl::string_view, const JsonValue*>> out;
    for (size_t i = 0; i < keys_.size(); ++i) out.emplace_back(keys_[i], &member_values_[i]);
    return out;
  }

 private:
  friend class JsonParser;

  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;          // array items
  std::vector<std::string> keys_;         // object member keys, in document order
  std::vector<JsonValue> member_values_;  // object member values, parallel to keys_
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_NETCHECK_JSON_READER_H_
