#include "node_agent/nccl/collective_request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/nccl_config.h"

namespace sparkfleet {
namespace {

constexpr uint32_t kMaxIterations = 100000;
constexpr absl::Duration kMaxTimeout = absl::Hours(24);

struct EnumName {
  int value;
  const char* name;
};

constexpr EnumName kOps[] = {{v1::COLLECTIVE_OP_ALL_REDUCE, "all_reduce"},
                             {v1::COLLECTIVE_OP_ALL_GATHER, "all_gather"},
                             {v1::COLLECTIVE_OP_REDUCE_SCATTER, "reduce_scatter"},
                             {v1::COLLECTIVE_OP_BROADCAST, "broadcast"}};
constexpr EnumName kTypes[] = {
    {v1::NCCL_DATA_TYPE_INT8, "int8"},     {v1::NCCL_DATA_TYPE_UINT8, "uint8"},
    {v1::NCCL_DATA_TYPE_INT32, "int32"},   {v1::NCCL_DATA_TYPE_UINT32, "uint32"},
    {v1::NCCL_DATA_TYPE_INT64, "int64"},   {v1::NCCL_DATA_TYPE_UINT64, "uint64"},
    {v1::NCCL_DATA_TYPE_HALF, "half"},     {v1::NCCL_DATA_TYPE_FLOAT, "float"},
    {v1::NCCL_DATA_TYPE_DOUBLE, "double"}, {v1::NCCL_DATA_TYPE_BFLOAT16, "bfloat16"}};
constexpr EnumName kRedOps[] = {{v1::REDUCE_OP_SUM, "sum"},
                                {v1::REDUCE_OP_PROD, "prod"},
                                {v1::REDUCE_OP_MAX, "max"},
                                {v1::REDUCE_OP_MIN, "min"},
                                {v1::REDUCE_OP_AVG, "avg"}};

template <size_t N>
std::string NameOf(const EnumName (&table)[N], int value) {
  for (const EnumName& e : table) {
    if (e.value == value) return e.name;
  }
  return "";
}

template <size_t N>
int ValueOf(const EnumName (&table)[N], const std::string& name) {
  for (const EnumName& e : table) {
    if (name == e.name) return e.value;
  }
  return 0;
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("RunCollectiveRequest: ", what));
}

absl::Status CheckEnv(const google::protobuf::Map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) {
    bool key_ok = key.size() > 5 && key.rfind("NCCL_", 0) == 0;
    for (char c : key) {
      key_ok = key_ok && (absl::ascii_isupper(static_cast<unsigned char>(c)) ||
                          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_');
    }
    if (!key_ok) {
      return Invalid(
          absl::StrCat("nccl_env key \"", absl::CHexEscape(key), "\" is not NCCL_[A-Z0-9_]+"));
    }
    // The same values as nccl.conf takes (the proto promises it): no whitespace, no
    // shell text, at most what NCCL reads.
    if (absl::Status value_ok = ValidateNcclValue(value); !value_ok.ok()) {
      return Invalid(absl::StrCat("nccl_env ", key, " value ", value_ok.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEnums(const v1::RunCollectiveRequest& r) {
  if (!v1::CollectiveOp_IsValid(r.op())) return Invalid(absl::StrCat("unknown op ", r.op()));
  if (!v1::NcclDataType_IsValid(r.type())) {
    return Invalid(absl::StrCat("unknown type ", r.type()));
  }
  if (!v1::ReduceOp_IsValid(r.redop())) return Invalid(absl::StrCat("unknown redop ", r.redop()));
  return absl::OkStatus();
}

absl::Status CheckRanks(const v1::RunCollectiveRequest& r, int gpus, CollectivePlan& plan) {
  if (r.local_ranks() > static_cast<uint32_t>(gpus)) {
    return Invalid(absl::StrCat("local_ranks ", r.local_ranks(), " but this node has ", gpus,
                                " GPU", gpus == 1 ? "" : "s"));
  }
  plan.local_ranks = r.local_ranks() > 0 ? static_cast<int>(r.local_ranks()) : gpus;
  plan.nranks = r.nranks() > 0 ? static_cast<int>(r.nranks()) : plan.local_ranks;
  plan.first_rank = static_cast<int>(r.first_rank());
  if (r.nranks() > 1u << 20 || r.first_rank() > 1u << 20 ||
      plan.first_rank + plan.local_ranks > plan.nranks) {
    return Invalid(absl::StrCat("ranks ", plan.first_rank, "..",
                                plan.first_rank + plan.local_ranks - 1, " do not fit in nranks ",
                                plan.nranks));
  }
  if (r.root() < 0 || r.root() >= plan.nranks) {
    return Invalid(absl::StrCat("root ", r.root(), " is not a rank of ", plan.nranks));
  }
  if (!r.unique_id().empty() && r.unique_id().size() != 128) {
    return Invalid(
        absl::StrCat("unique_id has ", r.unique_id().size(), " bytes; ncclUniqueId has 128"));
  }
  if (r.unique_id().empty() && plan.first_rank != 0) {
    return Invalid(absl::StrCat("unique_id is required on a node without rank 0 (first_rank ",
                                plan.first_rank, "): relay rank 0's from its first event"));
  }
  plan.unique_id = r.unique_id();
  return absl::OkStatus();
}

absl::Status CheckSizes(const v1::RunCollectiveRequest& r, nccl_worker::WorkerOptions& w) {
  w.min_bytes = r.min_bytes() > 0 ? r.min_bytes() : kDefaultMinBytes;
  w.max_bytes = r.max_bytes() > 0 ? r.max_bytes() : kDefaultMaxBytes;
  if (r.min_bytes() < 0 || r.max_bytes() < 0 || w.min_bytes > w.max_bytes) {
    return Invalid(absl::StrCat("sizes -b ", r.min_bytes(), " -e ", r.max_bytes(),
                                ": need 0 < min_bytes <= max_bytes"));
  }
  if (r.step_factor() == 1) return Invalid("step_factor 1 would never reach max_bytes");
  w.step_factor = r.step_factor() > 0 ? r.step_factor() : 2;
  if (r.iters() > kMaxIterations || r.warmup_iters() > kMaxIterations) {
    return Invalid(absl::StrCat("iters and warmup_iters must be at most ", kMaxIterations));
  }
  w.iters = r.iters() > 0 ? r.iters() : 20;
  w.warmup_iters = r.warmup_iters() > 0 ? r.warmup_iters() : 5;
  return absl::OkStatus();
}

}  // namespace

std::string CollectiveOpName(v1::CollectiveOp op) {
  std::string name = NameOf(kOps, op);
  return name.empty() ? "all_reduce" : name;
}
std::string DataTypeName(v1::NcclDataType type) {
  std::string name = NameOf(kTypes, type);
  return name.empty() ? "float" : name;
}
std::string ReduceOpName(v1::ReduceOp op) {
  std::string name = NameOf(kRedOps, op);
  return name.empty() ? "sum" : name;
}

absl::StatusOr<CollectivePlan> PlanCollective(const v1::RunCollectiveRequest& request, int gpus) {
  CollectivePlan plan;
  if (absl::Status s = CheckEnums(request); !s.ok()) return s;
  if (absl::Status s = CheckRanks(request, gpus, plan); !s.ok()) return s;
  if (absl::Status s = CheckSizes(request, plan.worker); !s.ok()) return s;
  if (absl::Status s = CheckEnv(request.nccl_env()); !s.ok()) return s;
  plan.timeout = request.timeout_ms() > 0 ? absl::Milliseconds(request.timeout_ms())
                                          : kDefaultCollectiveTimeout;
  if (plan.timeout > kMaxTimeout) return Invalid("timeout_ms is more than a day");
  plan.worker.nranks = plan.nranks;
  plan.worker.op = CollectiveOpName(request.op());
  plan.worker.dtype = DataTypeName(request.type());
  plan.worker.redop = ReduceOpName(request.redop());
  plan.worker.root = request.root();
  plan.worker.check = !request.skip_check();
  // CUDA ordinals in PCI order, as NVML and the probe number the GPUs.
  plan.env.emplace_back("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
  for (const auto& [key, value] : request.nccl_env()) plan.env.emplace_back(key, value);
  return plan;
}

nccl_worker::WorkerOptions WorkerOptionsFor(const CollectivePlan& plan, int local,
                                            const std::string& unique_id_hex) {
  nccl_worker::WorkerOptions options = plan.worker;
  options.rank = plan.first_rank + local;
  options.device = local;
  options.unique_id_hex = unique_id_hex;
  return options;
}

v1::CollectiveRow RowFromLine(const nccl_worker::RowLine& line) {
  v1::CollectiveRow row;
  row.set_size_bytes(line.size_bytes);
  row.set_count(line.count);
  row.set_type(static_cast<v1::NcclDataType>(ValueOf(kTypes, line.type)));
  row.set_redop(static_cast<v1::ReduceOp>(ValueOf(kRedOps, line.redop)));
  row.set_root(line.root);
  auto copy = [](const nccl_worker::Timings& from, v1::CollectiveTimings* to) {
    to->set_time_us(from.time_us);
    to->set_algbw_gbps(from.algbw_gbps);
    to->set_busbw_gbps(from.busbw_gbps);
    to->set_wrong(from.wrong);
  };
  copy(line.out_of_place, row.mutable_out_of_place());
  copy(line.in_place, row.mutable_in_place());
  return row;
}

v1::CollectiveSummary SummaryFromLine(const nccl_worker::SummaryLine& line, int nranks,
                                      const std::string& nccl_version) {
  v1::CollectiveSummary summary;
  summary.set_wrong_total(line.wrong_total);
  summary.set_ok(line.wrong_total == 0);
  summary.set_avg_busbw_gbps(line.avg_busbw_gbps);
  summary.set_nranks(static_cast<uint32_t>(nranks));
  summary.set_rows(static_cast<uint32_t>(line.rows));
  summary.set_max_size_bytes(line.max_size_bytes);
  summary.set_duration_ms(line.duration_ms);
  summary.set_nccl_version(nccl_version);
  summary.set_size_cap_bytes(line.size_cap_bytes);
  return summary;
}

}  // namespace sparkfleet
