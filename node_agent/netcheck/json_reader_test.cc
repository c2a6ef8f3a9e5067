#include "node_agent/netcheck/json_reader.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

TEST(JsonValue, ReadsNestedValuesOfEveryKind) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(
      R"( {"a": {"b": [1, -2.5e3, true, false, null, "x"]}, "s": "q\"\\\/\n\u00e9\ud83d\ude00"} )");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const JsonValue* b = doc->FindPath({"a", "b"});
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->items().size(), 6u);
  EXPECT_EQ(b->items()[0].AsNumber(), 1.0);
  EXPECT_EQ(b->items()[1].AsNumber(), -2500.0);
  EXPECT_EQ(b->items()[2].AsBool(), true);
  EXPECT_EQ(b->items()[3].AsBool(), false);
  EXPECT_EQ(b->items()[4].kind(), JsonValue::Kind::kNull);
  EXPECT_EQ(b->items()[5].AsString(), "x");
  EXPECT_EQ(doc->StringAt({"s"}), "q\"\\/\n\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(JsonValue, RepeatedKeyKeepsTheLastLikeIperf3sReaders) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(R"({"k": 1, "k": 2})");
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->NumberAt({"k"}), 2.0);
}

TEST(JsonValue, MissingOrWrongKindIsNullopt) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(R"({"n": "3", "o": {}})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->NumberAt({"n"}), std::nullopt);
  EXPECT_EQ(doc->NumberAt({"o", "x", "y"}), std::nullopt);
  EXPECT_EQ(doc->FindPath({"n", "deeper"}), nullptr);
}

TEST(JsonValue, ErrorsNameTheByteOffset) {
  for (const char* bad : {"", "{", "{\"a\" 1}", "[1,]", "\"unterminated", "{\"a\":1} x", "01x", "-",
                          "\"\\q\"", "\"\\ud800\"", "tru", "\"a\nb\""}) {
    absl::StatusOr<JsonValue> doc = JsonValue::Parse(bad);
    EXPECT_FALSE(doc.ok()) << bad;
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(JsonValue::Parse("[1, }").status().message(), HasSubstr("JSON at byte 4"));
}

TEST(JsonValue, DeepNestingIsRefusedNotAStackOverflow) {
  std::string deep(100000, '[');
  EXPECT_THAT(JsonValue::Parse(deep).status().message(), HasSubstr("deeper than 64"));
}

TEST(JsonValue, ReadsIperf3sRealOutputWithItsRepeatedKeys) {
  std::ifstream in(std::string(SPARKFLEET_SOURCE_DIR) +
                   "/tests/testdata/netcheck/iperf3-3.12-client-P2.json");
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(text.str());
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->NumberAt({"start", "test_start", "num_streams"}), 2.0);
}

// fuzz_tailscale_json: strings with bytes that are not UTF-8, or a lone low surrogate
// escape, were kept as they were and later broke the proto3 reply they went into.
TEST(JsonValue, FuzzRegressionStringsMustBeUtf8) {
  for (const char* bad : {"\"\xf0\"", "[\"ok\", \"\xb0\"]", "{\"\xff\": 1}", "\"\\udc00\"",
                          "\"\\ud83d\\udc00\\udc00\""}) {
    absl::StatusOr<JsonValue> doc = JsonValue::Parse(bad);
    ASSERT_FALSE(doc.ok()) << bad;
    EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  }
  absl::StatusOr<JsonValue> utf8 = JsonValue::Parse("\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\"");
  ASSERT_TRUE(utf8.ok()) << utf8.status();
  EXPECT_EQ(utf8->AsString(), "caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace sparkfleet
