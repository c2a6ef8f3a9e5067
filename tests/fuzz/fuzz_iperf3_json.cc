// iperf3 --json as BandwidthTest reads it: the JSON reader and the client report.
#include <cstddef>
#include <cstdint>

#include "node_agent/netcheck/bandwidth.h"
#include "node_agent/netcheck/json_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// Visits every value, as readers of the tree do.
void Walk(const sparkfleet::JsonValue& value, int depth) {
  sparkfleet::fuzz::Check(depth <= 66, "JsonValue nested deeper than Parse allows");
  (void)value.AsNumber();
  (void)value.AsString();
  (void)value.AsBool();
  for (const sparkfleet::JsonValue& item : value.items()) Walk(item, depth + 1);
  for (const auto& [key, member] : value.members()) {
    sparkfleet::fuzz::Check(value.Find(key) != nullptr, "JsonValue::Find misses a member");
    Walk(*member, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  absl::string_view text = fuzz::AsText(data, size);
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(text);
  if (doc.ok()) {
    Walk(*doc, 0);
  } else {
    fuzz::CheckError(doc.status(), absl::StatusCode::kInvalidArgument, "JsonValue::Parse");
  }

  BandwidthTestOptions options;
  options.server_address = "192.168.100.11";
  options.server_port = 5201;
  options.parallel_streams = 2;
  absl::StatusOr<v1::BandwidthResult> result = ParseIperf3ClientJson(text, options);
  if (result.ok()) {
    fuzz::Check(result->lanes_size() == 1, "iperf3 result without its one lane");
    fuzz::CheckWireRoundTrip(*result, "ParseIperf3ClientJson");
  } else if (result.status().code() != absl::StatusCode::kFailedPrecondition) {
    fuzz::CheckError(result.status(), absl::StatusCode::kInvalidArgument, "ParseIperf3ClientJson");
  }
  return 0;
}
