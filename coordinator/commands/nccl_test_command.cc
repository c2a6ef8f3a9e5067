#include "coordinator/commands/nccl_test_command.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/cluster_session.h"
#include "coordinator/nccl/nccl_table.h"
#include "coordinator/nccl/nccl_test_run.h"
#include "coordinator/render.h"
#include "node_agent/nccl_worker/line_protocol.h"

namespace sparkfleet {
namespace {

struct NcclTestFlags {
  std::string min_bytes = "8";
  std::string max_bytes = "128M";
  unsigned step_factor = 2;
  unsigned iters = 20;
  unsigned warmup_iters = 5;
  std::string op = "all_reduce";
  std::string dtype = "float";
  std::string redop = "sum";
  int root = 0;
  bool no_check = false;
  unsigned gpus_per_node = 0;
  std::optional<double> min_busbw;
  double run_timeout_s = 300;
  std::vector<std::string> nccl_env;
};

template <typename Enum, size_t N>
absl::Status Lookup(const std::pair<const char*, Enum> (&table)[N], const std::string& name,
                    absl::string_view flag, Enum* out) {
  std::vector<std::string> known;
  for (const auto& [text, value] : table) {
    if (name == text) {
      *out = value;
      return absl::OkStatus();
    }
    known.push_back(text);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " ", name, " is not one of ", absl::StrJoin(known, ", ")));
}

constexpr std::pair<const char*, v1::CollectiveOp> kOps[] = {
    {"all_reduce", v1::COLLECTIVE_OP_ALL_REDUCE},
    {"all_gather", v1::COLLECTIVE_OP_ALL_GATHER},
    {"reduce_scatter", v1::COLLECTIVE_OP_REDUCE_SCATTER},
    {"broadcast", v1::COLLECTIVE_OP_BROADCAST}};
constexpr std::pair<const char*, v1::NcclDataType> kTypes[] = {
    {"float", v1::NCCL_DATA_TYPE_FLOAT},       {"half", v1::NCCL_DATA_TYPE_HALF},
    {"bfloat16", v1::NCCL_DATA_TYPE_BFLOAT16}, {"double", v1::NCCL_DATA_TYPE_DOUBLE},
    {"int8", v1::NCCL_DATA_TYPE_INT8},         {"uint8", v1::NCCL_DATA_TYPE_UINT8},
    {"int32", v1::NCCL_DATA_TYPE_INT32},       {"uint32", v1::NCCL_DATA_TYPE_UINT32},
    {"int64", v1::NCCL_DATA_TYPE_INT64},       {"uint64", v1::NCCL_DATA_TYPE_UINT64}};
constexpr std::pair<const char*, v1::ReduceOp> kRedOps[] = {{"sum", v1::REDUCE_OP_SUM},
                                                            {"prod", v1::REDUCE_OP_PROD},
                                                            {"max", v1::REDUCE_OP_MAX},
                                                            {"min", v1::REDUCE_OP_MIN},
                                                            {"avg", v1::REDUCE_OP_AVG}};

absl::StatusOr<v1::RunNcclTestRequest> RequestFromFlags(const NcclTestFlags& f,
                                                        const GlobalOptions& globals) {
  v1::RunNcclTestRequest r;
  for (const std::string& node : globals.limit) r.add_limit(node);
  int64_t min_bytes = 0, max_bytes = 0;
  if (!nccl_worker::ParseByteSize(f.min_bytes, &min_bytes) || min_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("-b ", f.min_bytes, " is not a size (8, 1K, 128M)"));
  }
  if (!nccl_worker::ParseByteSize(f.max_bytes, &max_bytes) || max_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("-e ", f.max_bytes, " is not a size (8, 1K, 128M)"));
  }
  r.set_min_bytes(min_bytes);
  r.set_max_bytes(max_bytes);
  v1::CollectiveOp op = v1::COLLECTIVE_OP_UNSPECIFIED;
  v1::NcclDataType type = v1::NCCL_DATA_TYPE_UNSPECIFIED;
  v1::ReduceOp redop = v1::REDUCE_OP_UNSPECIFIED;
  if (absl::Status s = Lookup(kOps, f.op, "--op", &op); !s.ok()) return s;
  if (absl::Status s = Lookup(kTypes, f.dtype, "--dtype", &type); !s.ok()) return s;
  if (absl::Status s = Lookup(kRedOps, f.redop, "--redop", &redop); !s.ok()) return s;
  r.set_op(op);
  r.set_type(type);
  r.set_redop(redop);
  r.set_root(f.root);
  r.set_step_factor(f.step_factor);
  r.set_iters(f.iters);
  r.set_warmup_iters(f.warmup_iters);
  r.set_skip_check(f.no_check);
  r.set_gpus_per_node(f.gpus_per_node);
  if (f.min_busbw.has_value()) r.set_min_busbw_gbps(*f.min_busbw);
  if (f.run_timeout_s <= 0 || f.run_timeout_s > 86400) {
    return absl::InvalidArgumentError("--run-timeout must be between 0 and 86400 seconds");
  }
  r.set_run_timeout_ms(static_cast<uint32_t>(f.run_timeout_s * 1000));
  r.set_timeout_ms(static_cast<uint32_t>(globals.timeout_s * 1000));
  for (const std::string& entry : f.nccl_env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--nccl-env ", entry, " is not KEY=VALUE (NCCL_DEBUG=INFO)"));
    }
    (*r.mutable_nccl_env())[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return r;
}

// Prints each event as it comes, nccl-tests style.
class TextOutput {
 public:
  TextOutput(std::ostream& out, const v1::RunNcclTestRequest& request)
      : out_(out), request_(request) {}
  void operator()(const v1::NcclTestEvent& event) {
    if (event.has_started()) {
      out_ << RenderNcclTestPreamble(request_, event.started()) << RenderNcclTestHeader();
    } else if (event.has_row()) {
      out_ << RenderNcclTestRow(event.row());
    } else if (event.has_node() && !event.node().ok()) {
      out_ << "# " << event.node().node() << ": " << event.node().error_code() << ": "
           << event.node().error_message() << "\n";
    } else if (event.has_result()) {
      const v1::NcclTestResult& result = event.result();
      if (result.summary().rows() > 0) {
        out_ << RenderNcclTestFooter(result.summary(), request_.max_bytes());
      }
      out_ << (result.passed() ? "# PASSED" : "# FAILED: " + result.reason()) << "\n";
    }
    out_.flush();
  }

 private:
  std::ostream& out_;
  const v1::RunNcclTestRequest& request_;
};

// Collects the events into the command's JSON document.
class JsonOutput {
 public:
  void operator()(const v1::NcclTestEvent& event) {
    if (event.has_started()) started_ = MessageJson(event.started());
    if (event.has_row()) rows_.push_back(MessageJson(event.row()));
    if (event.has_result()) result_ = MessageJson(event.result());
    if (event.has_node()) {
      // The fan-out entry of render.h: {"node","ok","duration_ms"[,"error"]}.
      const v1::NodeResult& n = event.node();
      std::string entry =
          absl::StrCat("{\"node\":", JsonQuote(n.node()), ",\"ok\":", n.ok() ? "true" : "false",
                       ",\"duration_ms\":", n.duration_ms());
      if (!n.ok()) {
        absl::StrAppend(&entry, ",\"error\":{\"code\":", JsonQuote(n.error_code()),
                        ",\"message\":", JsonQuote(n.error_message()), "}");
      }
      nodes_.push_back(entry + "}");
      (n.ok() ? ok_ : failed_)++;
    }
  }
  std::string Document() const {
    return absl::StrCat("{\"nodes\":[", absl::StrJoin(nodes_, ","), "],\"summary\":{\"ok\":", ok_,
                        ",\"failed\":", failed_, "},\"started\":", started_, ",\"rows\":[",
                        absl::StrJoin(rows_, ","), "],\"result\":", result_, "}\n");
  }

 private:
  std::vector<std::string> nodes_;
  std::vector<std::string> rows_;
  std::string started_ = "null";
  std::string result_ = "null";
  int ok_ = 0;
  int failed_ = 0;
};

int RunNcclTestCommand(CommandContext& context, const NcclTestFlags& flags) {
  absl::StatusOr<v1::RunNcclTestRequest> request = RequestFromFlags(flags, context.globals);
  if (!request.ok()) return UsageError(context, request.status());
  if (absl::Status s = ValidateRunNcclTestRequest(*request); !s.ok()) {
    return UsageError(context, s);
  }
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  TextOutput text(*context.out, *request);
  JsonOutput json;
  NcclTestEmit emit = [&](v1::NcclTestEvent event) {
    if (context.globals.json) {
      json(event);
    } else {
      text(event);
    }
  };
  absl::StatusOr<v1::NcclTestResult> result =
      RunNcclTest(*session->channels, session->nodes, session->fanout.timeout, *request, emit,
                  [] { return false; });
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kInvalidArgument) {
      return UsageError(context, result.status());
    }
    *context.err << "sparkctl: nccl-test: " << result.status().message() << "\n";
    return kExitNodeFailed;
  }
  if (context.globals.json) *context.out << json.Document();
  return result->passed() ? kExitOk : kExitNodeFailed;
}

}  // namespace

void RegisterNcclTestCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<NcclTestFlags>();
  CLI::App* cmd = app.add_subcommand(
      "nccl-test", "NCCL collective over every GPU of the cluster, printed like nccl-tests");
  cmd->add_option("-b,--minbytes", flags->min_bytes, "smallest size (8, 1K, 128M; default 8)");
  cmd->add_option("-e,--maxbytes", flags->max_bytes, "largest size (default 128M)");
  cmd->add_option("-f,--stepfactor", flags->step_factor, "size multiplier (default 2)")
      ->check(CLI::Range(2u, 1024u));
  cmd->add_option("-n,--iters", flags->iters, "timed iterations per size (default 20)")
      ->check(CLI::Range(1u, 100000u));
  cmd->add_option("-w,--warmup_iters", flags->warmup_iters, "warm-up iterations (default 5)")
      ->check(CLI::Range(1u, 100000u));
  cmd->add_option("--op", flags->op,
                  "all_reduce (default), all_gather, reduce_scatter or broadcast");
  cmd->add_option("--dtype", flags->dtype,
                  "float (default), half, bfloat16, double, int8, uint8, int32, uint32, int64, "
                  "uint64");
  cmd->add_option("--redop", flags->redop, "sum (default), prod, max, min or avg");
  cmd->add_option("--root", flags->root, "root rank of broadcast (default 0)");
  cmd->add_flag("--no-check", flags->no_check, "do not check results (#wrong shows N/A)");
  cmd->add_option("--gpus-per-node", flags->gpus_per_node, "ranks per node (default: every GPU)");
  cmd->add_option("--min-busbw", flags->min_busbw,
                  "fail (exit 2) when the average bus bandwidth is below this, GB/s");
  cmd->add_option("--run-timeout", flags->run_timeout_s,
                  "seconds a node's run may take before its workers are killed (default 300)");
  cmd->add_option("--nccl-env", flags->nccl_env, "NCCL_KEY=value for every worker (repeatable)");
  cmd->callback([&context, flags] { context.exit_code = RunNcclTestCommand(context, *flags); });
}

}  // namespace sparkfleet
