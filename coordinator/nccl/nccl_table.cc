#include "coordinator/nccl/nccl_table.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sparkfleet {
namespace {

std::string TypeName(v1::NcclDataType type) {
  switch (type) {
    case v1::NCCL_DATA_TYPE_INT8:
      return "int8";
    case v1::NCCL_DATA_TYPE_UINT8:
      return "uint8";
    case v1::NCCL_DATA_TYPE_INT32:
      return "int32";
    case v1::NCCL_DATA_TYPE_UINT32:
      return "uint32";
    case v1::NCCL_DATA_TYPE_INT64:
      return "int64";
    case v1::NCCL_DATA_TYPE_UINT64:
      return "uint64";
    case v1::NCCL_DATA_TYPE_HALF:
      return "half";
    case v1::NCCL_DATA_TYPE_DOUBLE:
      return "double";
    case v1::NCCL_DATA_TYPE_BFLOAT16:
      return "bfloat16";
    default:
      return "float";
  }
}

std::string RedOpName(v1::ReduceOp op) {
  switch (op) {
    case v1::REDUCE_OP_SUM:
      return "sum";
    case v1::REDUCE_OP_PROD:
      return "prod";
    case v1::REDUCE_OP_MAX:
      return "max";
    case v1::REDUCE_OP_MIN:
      return "min";
    case v1::REDUCE_OP_AVG:
      return "avg";
    default:
      return "none";
  }
}

std::string OpName(v1::CollectiveOp op) {
  switch (op) {
    case v1::COLLECTIVE_OP_ALL_GATHER:
      return "all_gather";
    case v1::COLLECTIVE_OP_REDUCE_SCATTER:
      return "reduce_scatter";
    case v1::COLLECTIVE_OP_BROADCAST:
      return "broadcast";
    default:
      return "all_reduce";
  }
}

// nccl-tests prints time in 7 characters with as many decimals as fit.
std::string TimeText(double us) {
  if (us < 1e4) return absl::StrFormat("%.2f", us);
  if (us < 1e5) return absl::StrFormat("%.1f", us);
  return absl::StrFormat("%.0f", us);
}

std::string WrongText(int64_t wrong) { return wrong < 0 ? "N/A" : absl::StrCat(wrong); }

// Lines without trailing blanks, each newline-terminated.
std::string Trimmed(const std::string& text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

void AddWrong(int64_t add, v1::CollectiveTimings* into) {
  if (add < 0 || into->wrong() < 0) {
    into->set_wrong(-1);
  } else {
    into->set_wrong(into->wrong() + add);
  }
}

}  // namespace

std::string RenderNcclTestPreamble(const v1::RunNcclTestRequest& request,
                                   const v1::NcclTestStarted& started) {
  std::set<std::string> nodes;
  for (const v1::RankPlacement& p : started.ranks()) nodes.insert(p.node());
  bool reduces = request.op() == v1::COLLECTIVE_OP_UNSPECIFIED ||
                 request.op() == v1::COLLECTIVE_OP_ALL_REDUCE ||
                 request.op() == v1::COLLECTIVE_OP_REDUCE_SCATTER;
  std::string out = absl::StrCat(
      "# nccl-test ", OpName(request.op()), " ", TypeName(request.type()),
      reduces ? absl::StrCat(
                    " ", RedOpName(request.redop() == v1::REDUCE_OP_UNSPECIFIED ? v1::REDUCE_OP_SUM
                                                                                : request.redop()))
              : "",
      ": ", started.nranks(), " rank", started.nranks() == 1 ? "" : "s", " on ", nodes.size(),
      " node", nodes.size() == 1 ? "" : "s",
      started.nccl_version().empty() ? "" : ", NCCL " + started.nccl_version(), "\n#\n");
  // Ranks on one node are numbered from 0 there, in the GPUs' PCI order.
  std::string last_node;
  int local = 0;
  for (const v1::RankPlacement& p : started.ranks()) {
    local = p.node() == last_node ? local + 1 : 0;
    last_node = p.node();
    absl::StrAppend(&out, absl::StrFormat("#  Rank %2d on %s GPU %d%s\n", p.rank(), p.node(), local,
                                          p.gpu_uuid().empty() ? "" : " " + p.gpu_uuid()));
  }
  return out + "#\n";
}

std::string RenderNcclTestHeader() {
  return Trimmed(absl::StrCat(
      absl::StrFormat("#%63s%s%23s%s\n", "", "out-of-place", "", "in-place"),
      absl::StrFormat("#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s\n",
                      "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong",
                      "time", "algbw", "busbw", "#wrong"),
      absl::StrFormat("#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s\n", "(B)",
                      "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)",
                      "(GB/s)", "")));
}

std::string RenderNcclTestRow(const v1::CollectiveRow& row) {
  const v1::CollectiveTimings& o = row.out_of_place();
  const v1::CollectiveTimings& i = row.in_place();
  return absl::StrFormat(
      "%12d  %12d  %8s  %6s  %6d  %7s  %6.2f  %6.2f  %6s  %7s  %6.2f  %6.2f  %6s\n",
      row.size_bytes(), row.count(), TypeName(row.type()), RedOpName(row.redop()), row.root(),
      TimeText(o.time_us()), o.algbw_gbps(), o.busbw_gbps(), WrongText(o.wrong()),
      TimeText(i.time_us()), i.algbw_gbps(), i.busbw_gbps(), WrongText(i.wrong()));
}

std::string RenderNcclTestFooter(const v1::CollectiveSummary& summary,
                                 int64_t requested_max_bytes) {
  std::string out = absl::StrCat(
      "# Out of bounds values : ", summary.wrong_total(), " ", summary.ok() ? "OK" : "FAILED", "\n",
      absl::StrFormat("# Avg bus bandwidth : %g\n", summary.avg_busbw_gbps()));
  if (summary.size_cap_bytes() > 0 && summary.max_size_bytes() < requested_max_bytes &&
      summary.size_cap_bytes() < requested_max_bytes) {
    absl::StrAppend(&out, "# Sizes above ", summary.size_cap_bytes(),
                    " bytes were not run: free GPU memory caps them (requested up to ",
                    requested_max_bytes, ")\n");
  }
  return out + "#\n";
}

std::vector<v1::CollectiveRow> NcclRowMerger::Add(uint32_t rank, const v1::CollectiveRow& row) {
  Pending& p = pending_[row.size_bytes()];
  if (p.ranks == 0) {
    p.row = row;
    p.row.mutable_out_of_place()->set_wrong(0);
    p.row.mutable_in_place()->set_wrong(0);
  }
  if (rank == 0) {
    v1::CollectiveTimings out = p.row.out_of_place(), in = p.row.in_place();
    p.row = row;
    p.row.mutable_out_of_place()->set_wrong(out.wrong());
    p.row.mutable_in_place()->set_wrong(in.wrong());
    p.have_rank0 = true;
  }
  AddWrong(row.out_of_place().wrong(), p.row.mutable_out_of_place());
  AddWrong(row.in_place().wrong(), p.row.mutable_in_place());
  ++p.ranks;
  std::vector<v1::CollectiveRow> done;
  while (!pending_.empty() && pending_.begin()->second.ranks >= nranks_ &&
         pending_.begin()->second.have_rank0) {
    done.push_back(pending_.begin()->second.row);
    complete_.push_back(done.back());
    pending_.erase(pending_.begin());
  }
  return done;
}

void NcclRowMerger::AddSummary(uint32_t rank, const v1::CollectiveSummary& summary) {
  summaries_[rank] = summary;
}

v1::CollectiveSummary NcclRowMerger::Summary() const {
  v1::CollectiveSummary out;
  double busbw = 0;
  int64_t wrong = 0;
  for (const v1::CollectiveRow& row : complete_) {
    busbw += row.out_of_place().busbw_gbps() + row.in_place().busbw_gbps();
    wrong += std::max<int64_t>(row.out_of_place().wrong(), 0);
    wrong += std::max<int64_t>(row.in_place().wrong(), 0);
    out.set_max_size_bytes(row.size_bytes());
  }
  out.set_rows(static_cast<uint32_t>(complete_.size()));
  out.set_avg_busbw_gbps(complete_.empty() ? 0 : busbw / (2.0 * complete_.size()));
  out.set_wrong_total(wrong);
  out.set_nranks(nranks_);
  for (const auto& [rank, summary] : summaries_) {
    out.set_duration_ms(std::max(out.duration_ms(), summary.duration_ms()));
    if (out.size_cap_bytes() == 0 || summary.size_cap_bytes() < out.size_cap_bytes()) {
      out.set_size_cap_bytes(summary.size_cap_bytes());
    }
    if (rank == 0) out.set_nccl_version(summary.nccl_version());
  }
  out.set_ok(wrong == 0 && !complete_.empty() && summaries_.size() == nranks_);
  return out;
}

}  // namespace sparkfleet
