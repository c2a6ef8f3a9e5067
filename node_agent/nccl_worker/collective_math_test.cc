#include "node_agent/nccl_worker/collective_math.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet::nccl_worker {
namespace {

using ::testing::ElementsAre;

TEST(BusBandwidth, FactorsFollowNcclTests) {
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(Collective::kAllReduce, 2), 1.0);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(Collective::kAllReduce, 8), 1.75);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(Collective::kAllGather, 2), 0.5);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(Collective::kReduceScatter, 4), 0.75);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(Collective::kBroadcast, 8), 1.0);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(Collective::kAllReduce, 1), 0.0);
}

TEST(SizeSweep, DoublesFromMinToMaxInclusive) {
  EXPECT_THAT(SizeSweep(8, 128, 2), ElementsAre(8, 16, 32, 64, 128));
  EXPECT_THAT(SizeSweep(8, 100, 4), ElementsAre(8, 32));
  EXPECT_EQ(SizeSweep(8, 128ull << 20, 2).size(), 25u);
  EXPECT_THAT(SizeSweep(64, 64, 2), ElementsAre(64));
  EXPECT_TRUE(SizeSweep(8, 128, 1).empty());
}

TEST(RowShape, GatherAndScatterCountPerRankAndSizeTheWholeBuffer) {
  RowShape gather = ShapeFor(Collective::kAllGather, nccl_api::kFloat32, 2, 1024);
  EXPECT_EQ(gather.size_bytes, 1024u);
  EXPECT_EQ(gather.count, 128u);
  EXPECT_EQ(gather.send_elements, 128u);
  EXPECT_EQ(gather.recv_elements, 256u);
  RowShape scatter = ShapeFor(Collective::kReduceScatter, nccl_api::kFloat32, 2, 1024);
  EXPECT_EQ(scatter.send_elements, 256u);
  EXPECT_EQ(scatter.recv_elements, 128u);
  RowShape reduce = ShapeFor(Collective::kAllReduce, nccl_api::kBfloat16, 8, 10);
  EXPECT_EQ(reduce.count, 5u);
  EXPECT_EQ(reduce.size_bytes, 10u);
}

TEST(MemoryCap, LeavesThreeQuartersOfUnifiedMemoryFree) {
  const size_t free_bytes = 100ull << 30;  // a Spark with 100 GiB free
  EXPECT_DOUBLE_EQ(DefaultMemoryFraction(true), 0.25);
  EXPECT_DOUBLE_EQ(DefaultMemoryFraction(false), 0.5);
  // Two device buffers and one host buffer of the largest size fit in a quarter.
  size_t cap = MemoryCapBytes(free_bytes, DefaultMemoryFraction(true));
  EXPECT_LE(3 * cap, free_bytes / 4);
  EXPECT_GT(3 * (cap + 1), free_bytes / 4);
  EXPECT_EQ(MemoryCapBytes(free_bytes, 0), 0u);
}

TEST(DataPattern, SumsAreExactInEveryType) {
  for (nccl_api::DataType type :
       {nccl_api::kInt8, nccl_api::kUint8, nccl_api::kInt32, nccl_api::kFloat16,
        nccl_api::kBfloat16, nccl_api::kFloat32, nccl_api::kFloat64, nccl_api::kUint64}) {
    for (size_t i = 0; i < 16; ++i) {
      double expected = ExpectedValue(Collective::kAllReduce, nccl_api::kSum, 0, 0, 31, 16, i);
      unsigned char bytes[8];
      EncodeValue(type, expected, bytes);
      EXPECT_EQ(DecodeValue(type, bytes), expected) << DataTypeName(type) << " " << i;
    }
  }
}

TEST(DataPattern, ExpectedValuesFollowEachCollective) {
  // Two ranks: rank r holds 1 + (r + i) % 4.
  EXPECT_EQ(InputValue(nccl_api::kSum, 1, 2, 0), 2);
  EXPECT_EQ(ExpectedValue(Collective::kAllReduce, nccl_api::kSum, 0, 0, 2, 4, 0), 3);
  EXPECT_EQ(ExpectedValue(Collective::kAllReduce, nccl_api::kMax, 0, 1, 2, 4, 3), 4);
  EXPECT_EQ(ExpectedValue(Collective::kAllReduce, nccl_api::kProd, 0, 0, 2, 4, 1), 2);
  EXPECT_EQ(ExpectedValue(Collective::kAllReduce, nccl_api::kAvg, 0, 0, 2, 4, 2), 3);
  // All-gather output block q is rank q's input.
  EXPECT_EQ(ExpectedValue(Collective::kAllGather, nccl_api::kSum, 0, 0, 2, 4, 5),
            InputValue(nccl_api::kSum, 1, 2, 1));
  // Reduce-scatter: rank 1 gets the reduction of global elements [4, 8).
  EXPECT_EQ(ExpectedValue(Collective::kReduceScatter, nccl_api::kSum, 0, 1, 2, 4, 0),
            InputValue(nccl_api::kSum, 0, 2, 4) + InputValue(nccl_api::kSum, 1, 2, 4));
  EXPECT_EQ(ExpectedValue(Collective::kBroadcast, nccl_api::kSum, 1, 0, 2, 4, 0),
            InputValue(nccl_api::kSum, 1, 2, 0));
}

TEST(DataPattern, HalfAndBfloat16RoundToNearest) {
  unsigned char bytes[2];
  EncodeValue(nccl_api::kFloat16, 0.1, bytes);
  EXPECT_NEAR(DecodeValue(nccl_api::kFloat16, bytes), 0.1, 1e-4);
  EncodeValue(nccl_api::kBfloat16, 257, bytes);  // 8-bit mantissa: 256 or 258
  EXPECT_EQ(DecodeValue(nccl_api::kBfloat16, bytes), 256);
  EncodeValue(nccl_api::kFloat16, 65504, bytes);
  EXPECT_EQ(DecodeValue(nccl_api::kFloat16, bytes), 65504);
  EXPECT_EQ(Tolerance(nccl_api::kAvg, nccl_api::kFloat32, 4), 0.04);
  EXPECT_EQ(Tolerance(nccl_api::kSum, nccl_api::kFloat32, 4), 0);
}

TEST(Names, MatchNcclTestsColumns) {
  nccl_api::DataType type;
  ASSERT_TRUE(ParseDataType("bfloat16", &type));
  EXPECT_EQ(type, nccl_api::kBfloat16);
  EXPECT_STREQ(DataTypeName(nccl_api::kFloat16), "half");
  Collective collective;
  EXPECT_TRUE(ParseCollective("reduce_scatter", &collective));
  EXPECT_FALSE(ParseCollective("alltoall", &collective));
  EXPECT_STREQ(RedOpName(nccl_api::kAvg), "avg");
}

}  // namespace
}  // namespace sparkfleet::nccl_worker
