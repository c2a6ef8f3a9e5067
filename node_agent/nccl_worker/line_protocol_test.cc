#include "node_agent/nccl_worker/line_protocol.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet::nccl_worker {
namespace {

using ::testing::HasSubstr;

TEST(WorkerLineProtocol, RowRoundTripsEveryField) {
  RowLine row;
  row.size_bytes = 134217728;
  row.count = 33554432;
  row.type = "float";
  row.redop = "sum";
  row.root = -1;
  row.out_of_place = {5123.25, 26.198, 26.198, 0};
  row.in_place = {5100.5, 26.3149, 26.3149, -1};
  std::string line = FormatRow(row);
  EXPECT_EQ(line.rfind("ROW 134217728 33554432 float sum -1 ", 0), 0u) << line;
  WorkerLine parsed;
  std::string error;
  ASSERT_TRUE(ParseWorkerLine(line, &parsed, &error)) << error;
  ASSERT_EQ(parsed.kind, WorkerLine::Kind::kRow);
  EXPECT_EQ(parsed.row.size_bytes, row.size_bytes);
  EXPECT_EQ(parsed.row.count, row.count);
  EXPECT_EQ(parsed.row.type, "float");
  EXPECT_EQ(parsed.row.redop, "sum");
  EXPECT_EQ(parsed.row.root, -1);
  EXPECT_DOUBLE_EQ(parsed.row.out_of_place.time_us, 5123.25);
  EXPECT_DOUBLE_EQ(parsed.row.out_of_place.busbw_gbps, 26.198);
  EXPECT_EQ(parsed.row.in_place.wrong, -1);
}

TEST(WorkerLineProtocol, UniqueIdIs256HexDigitsAndBack) {
  std::string id(128, '\0');
  for (int i = 0; i < 128; ++i) id[i] = static_cast<char>(i * 7);
  std::string line = FormatUniqueId(id);
  EXPECT_EQ(line.size(), std::string("UNIQUE_ID ").size() + 256);
  WorkerLine parsed;
  std::string error;
  ASSERT_TRUE(ParseWorkerLine(line, &parsed, &error)) << error;
  EXPECT_EQ(parsed.kind, WorkerLine::Kind::kUniqueId);
  EXPECT_EQ(parsed.unique_id, id);
}

TEST(WorkerLineProtocol, SummaryVersionDeviceAndError) {
  WorkerLine parsed;
  std::string error;
  ASSERT_TRUE(
      ParseWorkerLine(FormatSummary({3, 21.5, 25, 134217728, 8589934592, 4200}), &parsed, &error));
  EXPECT_EQ(parsed.summary.wrong_total, 3);
  EXPECT_EQ(parsed.summary.size_cap_bytes, 8589934592);
  ASSERT_TRUE(ParseWorkerLine(FormatVersion({"2.27.7", 22707, 13000}), &parsed, &error));
  EXPECT_EQ(parsed.version.nccl_version, "2.27.7");
  ASSERT_TRUE(ParseWorkerLine(FormatDevice({0, "GPU-1234", 100, 200, true, "NVIDIA GB10"}), &parsed,
                              &error));
  EXPECT_EQ(parsed.device.name, "NVIDIA GB10");
  EXPECT_TRUE(parsed.device.integrated);
  ASSERT_TRUE(ParseWorkerLine(FormatError("ncclCommInitRank: remote\nerror"), &parsed, &error));
  EXPECT_EQ(parsed.kind, WorkerLine::Kind::kError);
  EXPECT_EQ(parsed.text, "ncclCommInitRank: remote error");
}

TEST(WorkerLineProtocol, MalformedKnownLineIsAnErrorOtherLinesAreText) {
  WorkerLine parsed;
  std::string error;
  EXPECT_FALSE(ParseWorkerLine("ROW 8 2 float", &parsed, &error));
  EXPECT_THAT(error, HasSubstr("malformed ROW line"));
  EXPECT_FALSE(ParseWorkerLine("UNIQUE_ID abc", &parsed, &error));
  ASSERT_TRUE(ParseWorkerLine("spark-001:42:42 [0] NCCL INFO Bootstrap", &parsed, &error));
  EXPECT_EQ(parsed.kind, WorkerLine::Kind::kOther);
}

TEST(WorkerArgs, ArgvRoundTripsAndSizesTakeSuffixes) {
  WorkerOptions options;
  options.rank = 1;
  options.nranks = 2;
  options.device = 1;
  options.op = "all_gather";
  options.max_bytes = 1 << 20;
  options.check = false;
  options.unique_id_hex = std::string(256, 'a');
  options.nccl_library = "/opt/nccl/lib/libnccl.so.2";
  WorkerOptions parsed;
  std::string error;
  ASSERT_TRUE(ParseWorkerArgs(WorkerArgv("spark-nccl-worker", options), &parsed, &error)) << error;
  EXPECT_EQ(parsed.rank, 1);
  EXPECT_EQ(parsed.op, "all_gather");
  EXPECT_FALSE(parsed.check);
  EXPECT_EQ(parsed.unique_id_hex, options.unique_id_hex);
  EXPECT_EQ(parsed.nccl_library, options.nccl_library);
  int64_t bytes = 0;
  EXPECT_TRUE(ParseByteSize("128M", &bytes));
  EXPECT_EQ(bytes, 134217728);
  EXPECT_TRUE(ParseByteSize("8", &bytes));
  EXPECT_EQ(bytes, 8);
  EXPECT_FALSE(ParseByteSize("-8", &bytes));
  EXPECT_FALSE(ParseByteSize("12X", &bytes));
}

TEST(WorkerArgs, NonZeroRankWithoutUniqueIdIsRefused) {
  WorkerOptions parsed;
  std::string error;
  EXPECT_FALSE(ParseWorkerArgs({"w", "--rank", "1", "--nranks", "2"}, &parsed, &error));
  EXPECT_THAT(error, HasSubstr("needs --unique-id"));
  EXPECT_FALSE(ParseWorkerArgs({"w", "--rank", "2", "--nranks", "2"}, &parsed, &error));
  EXPECT_FALSE(ParseWorkerArgs({"w", "--rank", "0", "--nranks", "1", "-f", "1"}, &parsed, &error));
  EXPECT_THAT(error, HasSubstr("-f"));
}

}  // namespace
}  // namespace sparkfleet::nccl_worker
