// The nccl-tests table: what `sparkctl nccl-test` prints, column for column as
// all_reduce_perf does (so users compare the numbers directly), and the merge of every
// rank's rows into it.
//
//   #                                                              out-of-place in-place # size
//   count      type   redop    root     time   algbw   busbw  #wrong     time   algbw   busbw
//   #wrong #        (B)    (elements)                               (us)  (GB/s)  (GB/s) (us)
//   (GB/s)  (GB/s)
//              8             2     float     sum      -1    18.92    0.00    0.00       0    18.50
//              0.00    0.00       0
//   # Out of bounds values : 0 OK
//   # Avg bus bandwidth : 21.9466
//
// GB is 10^9 bytes; busbw is algbw times 2(n-1)/n for all-reduce, (n-1)/n for all-gather
// and reduce-scatter, 1 for broadcast (the workers compute it); #wrong is N/A when
// checking was off.
#ifndef SPARKFLEET_COORDINATOR_NCCL_NCCL_TABLE_H_
#define SPARKFLEET_COORDINATOR_NCCL_NCCL_TABLE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// "# nccl-test all_reduce float sum: 2 ranks on 2 nodes, NCCL 2.27.7" and a line per rank
// ("#  Rank  0 on spark-001 GPU 0 GPU-...").
std::string RenderNcclTestPreamble(const v1::RunNcclTestRequest& request,
                                   const v1::NcclTestStarted& started);
// The three header lines.
std::string RenderNcclTestHeader();
// One row, newline-terminated.
std::string RenderNcclTestRow(const v1::CollectiveRow& row);
// The footer lines; the size cap when it cut the sweep short of `requested_max_bytes`.
std::string RenderNcclTestFooter(const v1::CollectiveSummary& summary, int64_t requested_max_bytes);

// Merges the rows every rank streams: a size's row is complete once every rank reported
// it; it then carries rank 0's timings (as nccl-tests prints them) and #wrong summed over
// every rank (-1 when checking was off).
class NcclRowMerger {
 public:
  explicit NcclRowMerger(uint32_t nranks) : nranks_(nranks) {}

  // Adds `rank`'s row; returns the rows now complete, smallest size first.
  std::vector<v1::CollectiveRow> Add(uint32_t rank, const v1::CollectiveRow& row);
  void AddSummary(uint32_t rank, const v1::CollectiveSummary& summary);

  // The footer figures over the complete rows. ok needs every rank's summary, at least
  // one row and no wrong element.
  v1::CollectiveSummary Summary() const;

 private:
  struct Pending {
    v1::CollectiveRow row;  // rank 0's, wrong counts summed
    bool have_rank0 = false;
    uint32_t ranks = 0;
  };
  const uint32_t nranks_;
  std::map<int64_t, Pending> pending_;
  std::vector<v1::CollectiveRow> complete_;
  std::map<uint32_t, v1::CollectiveSummary> summaries_;
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_NCCL_NCCL_TABLE_H_
