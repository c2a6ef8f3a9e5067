#include "coordinator/render.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coordinator/commands/command.h"
#include "coordinator/fanout.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Parses `json` as a JSON object, failing the test when it is not valid JSON.
google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok()) << json;
  return out;
}

v1::OsRelease Noble() {
  v1::OsRelease os;
  os.set_id("ubuntu");
  os.set_version_id("24.04");
  return os;
}

TEST(JsonQuote, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(JsonQuote(R"(say "hi" C:\spark)"), R"("say \"hi\" C:\\spark")");
  EXPECT_EQ(JsonQuote(""), R"("")");
}

TEST(JsonQuote, EscapesEveryControlCharacter) {
  EXPECT_EQ(JsonQuote("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(JsonQuote(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(JsonQuote("\b\f"), R"("\u0008\u000c")");
}

TEST(JsonQuote, PassesUtf8Through) { EXPECT_EQ(JsonQuote("Grüße ✓"), "\"Grüße ✓\""); }

TEST(JsonQuote, OutputParsesBackToTheInput) {
  std::string nasty = "quote\" back\\ nl\n tab\t bell\x07 nul";
  nasty.push_back('\0');
  google::protobuf::Struct parsed = ParseJson("{\"v\":" + JsonQuote(nasty) + "}");
  EXPECT_EQ(parsed.fields().at("v").string_value(), nasty);
}

TEST(NodeEntryJson, OkEntryCarriesTheResultAndNoError) {
  v1::OsRelease os = Noble();

  std::string entry = NodeEntryJson("spark-001", absl::OkStatus(), absl::Milliseconds(3), &os);

  EXPECT_EQ(
      entry,
      R"({"node":"spark-001","ok":true,"duration_ms":3,"result":{"id":"ubuntu",)"
      R"("version_id":"24.04","pretty_name":"","version_codename":"","ubuntu_codename":""}})");
}

TEST(NodeEntryJson, FailedEntryCarriesTheCodeNameAndMessage) {
  absl::Status status =
      absl::DeadlineExceededError("agent at 10.0.0.2:50151: no answer in \"10s\"");

  std::string entry = NodeEntryJson("spark-002", status, absl::Milliseconds(10001), nullptr);

  EXPECT_EQ(
      entry,
      R"({"node":"spark-002","ok":false,"duration_ms":10001,"error":)"
      R"({"code":"DEADLINE_EXCEEDED","message":"agent at 10.0.0.2:50151: no answer in \"10s\""}})");
  EXPECT_THAT(entry, Not(HasSubstr("result")));
}

TEST(FanOutJson, WrapsEntriesWithASummary) {
  std::vector<std::string> entries = {R"({"node":"a"})", R"({"node":"b"})"};

  EXPECT_EQ(FanOutJson(entries, 1, 1),
            R"({"nodes":[{"node":"a"},{"node":"b"}],"summary":{"ok":1,"failed":1}})"
            "\n");
  EXPECT_EQ(FanOutJson(std::vector<std::string>{}, 0, 0),
            R"({"nodes":[],"summary":{"ok":0,"failed":0}})"
            "\n");
}

TEST(FanOutJson, FromResultsLeavesTheReplyOfFailedNodesOut) {
  std::vector<NodeResult<v1::OsRelease>> results(2);
  results[0].node = "spark-001";
  results[0].status = absl::OkStatus();
  results[0].duration = absl::Milliseconds(4);
  results[0].reply = Noble();
  results[1].node = "spark-002";
  results[1].status = absl::UnavailableError("agent at 10.0.0.2:50151: connection refused");
  results[1].duration = absl::Milliseconds(12);
  results[1].reply.set_id("stale-should-not-appear");

  std::string json = FanOutJson(results);

  EXPECT_THAT(json, Not(HasSubstr("stale-should-not-appear")));
  google::protobuf::Struct doc = ParseJson(json);
  const auto& nodes = doc.fields().at("nodes").list_value().values();
  ASSERT_EQ(nodes.size(), 2);
  const auto& ok = nodes[0].struct_value().fields();
  EXPECT_EQ(ok.at("node").string_value(), "spark-001");
  EXPECT_TRUE(ok.at("ok").bool_value());
  EXPECT_EQ(ok.at("duration_ms").number_value(), 4);
  EXPECT_EQ(ok.at("result").struct_value().fields().at("id").string_value(), "ubuntu");
  EXPECT_EQ(ok.count("error"), 0u);
  const auto& failed = nodes[1].struct_value().fields();
  EXPECT_EQ(failed.at("node").string_value(), "spark-002");
  EXPECT_FALSE(failed.at("ok").bool_value());
  EXPECT_EQ(failed.at("error").struct_value().fields().at("code").string_value(), "UNAVAILABLE");
  EXPECT_EQ(failed.count("result"), 0u);
  const auto& summary = doc.fields().at("summary").struct_value().fields();
  EXPECT_EQ(summary.at("ok").number_value(), 1);
  EXPECT_EQ(summary.at("failed").number_value(), 1);
  EXPECT_EQ(FanOutExitCode(results), kExitNodeFailed);
}

TEST(FanOutExitCode, ZeroWhenEveryNodeAnswered) {
  std::vector<NodeResult<v1::OsRelease>> results(3);
  EXPECT_EQ(FanOutExitCode(results), kExitOk);
}

TEST(Table, PadsColumnsToTheWidestCellTwoSpacesApart) {
  Table table({"NODE", "STATUS", "UPTIME"});
  table.AddRow({"spark-001", "ok", "3d 4h"});
  table.AddRow({"s2", "unreachable", "-"});

  EXPECT_EQ(table.Render(),
            "NODE       STATUS       UPTIME\n"
            "spark-001  ok           3d 4h\n"
            "s2         unreachable  -\n");
}

TEST(Table, LastColumnHasNoTrailingSpaces) {
  Table table({"NODE", "DETAIL"});
  table.AddRow({"spark-001", "a much longer detail than the header"});

  EXPECT_THAT(table.Render(), Not(HasSubstr(" \n")));
}

TEST(Table, HeaderOnlyRendersOneLine) { EXPECT_EQ(Table({"NODE", "OK"}).Render(), "NODE  OK\n"); }

TEST(HumanDuration, MillisecondsBelowASecondThenTenthsOfSeconds) {
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "0 ms");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(12)), "12 ms");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(999)), "999 ms");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(1000)), "1.0 s");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(1234)), "1.2 s");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(10001)), "10.0 s");
}

TEST(FormatUptime, ShowsTheTwoLargestUnits) {
  EXPECT_EQ(FormatUptime(0), "0s");
  EXPECT_EQ(FormatUptime(42), "42s");
  EXPECT_EQ(FormatUptime(125), "2m 5s");
  EXPECT_EQ(FormatUptime(5 * 3600 + 2 * 60 + 9), "5h 2m");
  EXPECT_EQ(FormatUptime(3 * 86400 + 4 * 3600 + 59 * 60), "3d 4h");
  EXPECT_EQ(FormatUptime(86400), "1d 0h");
  EXPECT_EQ(FormatUptime(12345), "3h 25m");
}

TEST(OneLineError, PutsCodeNameFirstAndJoinsLines) {
  EXPECT_EQ(OneLineError(absl::UnavailableError("agent at 10.0.0.2:50151:\nfailed to connect")),
            "UNAVAILABLE: agent at 10.0.0.2:50151: failed to connect");
}

}  // namespace
}  // namespace sparkfleet
