#include "coordinator/nccl/nccl_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

v1::CollectiveRow Row(int64_t size, double time_us, double busbw, int64_t wrong = 0) {
  v1::CollectiveRow row;
  row.set_size_bytes(size);
  row.set_count(size / 4);
  row.set_type(v1::NCCL_DATA_TYPE_FLOAT);
  row.set_redop(v1::REDUCE_OP_SUM);
  row.set_root(-1);
  for (v1::CollectiveTimings* t : {row.mutable_out_of_place(), row.mutable_in_place()}) {
    t->set_time_us(time_us);
    t->set_algbw_gbps(busbw);  // 2 ranks: all-reduce's factor 2(n-1)/n is 1
    t->set_busbw_gbps(busbw);
    t->set_wrong(wrong);
  }
  return row;
}

TEST(NcclTestTable, ColumnsLineUpLikeAllReducePerf) {
  std::string header = RenderNcclTestHeader();
  std::string row = RenderNcclTestRow(Row(134217728, 5123.25, 26.2));
  EXPECT_EQ(row,
            "   134217728      33554432     float     sum      -1  5123.25   26.20   26.20       0"
            "  5123.25   26.20   26.20       0\n");
  EXPECT_THAT(header, HasSubstr("#       size         count      type   redop    root     time"
                                "   algbw   busbw  #wrong     time   algbw   busbw  #wrong\n"));
  EXPECT_THAT(header, HasSubstr("#        (B)    (elements)                               (us)"
                                "  (GB/s)  (GB/s)             (us)  (GB/s)  (GB/s)\n"));
  // "out-of-place" and "in-place" sit over their columns.
  size_t first = header.find("out-of-place");
  size_t second = header.find("in-place");
  EXPECT_EQ(first, 64u);
  EXPECT_EQ(second, 99u);
  EXPECT_EQ(header.find(" \n"), std::string::npos) << "no trailing blanks";
}

TEST(NcclTestTable, UncheckedRowsShowNotApplicableAndLongTimesFit) {
  v1::CollectiveRow row = Row(1 << 30, 123456.7, 8.7, -1);
  row.set_redop(v1::REDUCE_OP_UNSPECIFIED);  // all-gather
  EXPECT_EQ(RenderNcclTestRow(row),
            "  1073741824     268435456     float    none      -1   123457    8.70    8.70     N/A"
            "   123457    8.70    8.70     N/A\n");
}

TEST(NcclTestTable, FooterSaysOkOrFailedAndTheAverage) {
  v1::CollectiveSummary summary;
  summary.set_ok(true);
  summary.set_avg_busbw_gbps(21.9466);
  EXPECT_EQ(RenderNcclTestFooter(summary, 1 << 20),
            "# Out of bounds values : 0 OK\n# Avg bus bandwidth : 21.9466\n#\n");
  summary.set_ok(false);
  summary.set_wrong_total(12);
  summary.set_max_size_bytes(64 << 20);
  summary.set_size_cap_bytes(80 << 20);
  EXPECT_THAT(RenderNcclTestFooter(summary, 128 << 20),
              HasSubstr("# Out of bounds values : 12 FAILED\n"));
  EXPECT_THAT(RenderNcclTestFooter(summary, 128 << 20),
              HasSubstr("# Sizes above 83886080 bytes were not run: free GPU memory caps them"));
}

TEST(NcclTestTable, PreambleListsEveryRank) {
  v1::RunNcclTestRequest request;
  v1::NcclTestStarted started;
  started.set_nranks(3);
  started.set_nccl_version("2.27.7");
  for (auto [rank, node, uuid] :
       {std::tuple{0, "spark-001", "GPU-a"}, std::tuple{1, "spark-002", "GPU-b"},
        std::tuple{2, "spark-002", ""}}) {
    v1::RankPlacement* p = started.add_ranks();
    p->set_rank(rank);
    p->set_node(node);
    p->set_gpu_uuid(uuid);
  }
  std::string text = RenderNcclTestPreamble(request, started);
  EXPECT_THAT(text, HasSubstr("# nccl-test all_reduce float sum: 3 ranks on 2 nodes, NCCL 2.27.7"));
  EXPECT_THAT(text,
              HasSubstr("#  Rank  1 on spark-002 GPU 0 GPU-b\n#  Rank  2 on spark-002 GPU 1\n"));
}

TEST(NcclRowMerger, ARowIsCompleteOnceEveryRankReportedItWithRankZerosTimings) {
  NcclRowMerger merger(2);
  EXPECT_TRUE(merger.Add(1, Row(8, 30, 0.5, 3)).empty());
  EXPECT_TRUE(merger.Add(1, Row(16, 31, 0.6)).empty());
  std::vector<v1::CollectiveRow> done = merger.Add(0, Row(8, 20, 0.4, 1));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].out_of_place().time_us(), 20);  // rank 0's
  EXPECT_EQ(done[0].out_of_place().wrong(), 4);     // summed over ranks
  done = merger.Add(0, Row(16, 21, 0.8));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].size_bytes(), 16);

  v1::CollectiveSummary part;
  part.set_size_cap_bytes(1 << 30);
  merger.AddSummary(0, part);
  part.set_size_cap_bytes(1 << 20);
  merger.AddSummary(1, part);
  v1::CollectiveSummary summary = merger.Summary();
  EXPECT_EQ(summary.rows(), 2u);
  EXPECT_EQ(summary.wrong_total(), 8);  // 4 out-of-place + 4 in-place
  EXPECT_FALSE(summary.ok());
  EXPECT_DOUBLE_EQ(summary.avg_busbw_gbps(), 0.6);
  EXPECT_EQ(summary.max_size_bytes(), 16);
  EXPECT_EQ(summary.size_cap_bytes(), 1 << 20);  // the smallest over ranks
}

TEST(NcclRowMerger, UncheckedStaysUncheckedAndMissingSummariesAreNotOk) {
  NcclRowMerger merger(2);
  merger.Add(0, Row(8, 20, 1, -1));
  std::vector<v1::CollectiveRow> done = merger.Add(1, Row(8, 20, 1, -1));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].in_place().wrong(), -1);
  merger.AddSummary(0, v1::CollectiveSummary());
  EXPECT_FALSE(merger.Summary().ok());  // rank 1 never said it finished
  merger.AddSummary(1, v1::CollectiveSummary());
  EXPECT_TRUE(merger.Summary().ok());
}

}  // namespace
}  // namespace sparkfleet
