#include "coordinator/commands/validate_command.h"

#include <memory>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "common/validate.h"
#include "coordinator/bandwidth_record.h"
#include "coordinator/cluster_session.h"
#include "coordinator/validate/report.h"
#include "coordinator/validate/validation_run.h"

namespace sparkfleet {
namespace {

struct TestFlag {
  const char* name;
  v1::ValidateTest test;
};
constexpr TestFlag kTests[] = {{"ssh", v1::VALIDATE_TEST_SSH},
                               {"ping", v1::VALIDATE_TEST_PING},
                               {"bandwidth", v1::VALIDATE_TEST_BANDWIDTH},
                               {"gpu", v1::VALIDATE_TEST_GPU},
                               {"rdma", v1::VALIDATE_TEST_RDMA}};

absl::Status ParsePairs(const std::string& text, v1::ValidateRequest& request) {
  if (text == "all") {
    request.set_pairs(v1::PAIR_SELECTION_ALL);
  } else if (text == "ring") {
    request.set_pairs(v1::PAIR_SELECTION_RING);
  } else if (absl::StartsWith(text, "sample:")) {
    uint32_t k = 0;
    if (!absl::SimpleAtoi(text.substr(7), &k) || k == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--pairs \"", text, "\": K in sample:K must be a positive number"));
    }
    request.set_pairs(v1::PAIR_SELECTION_SAMPLE);
    request.set_sample_k(k);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--pairs \"", text, "\": expected all, ring or sample:K"));
  }
  return absl::OkStatus();
}

absl::Status WriteOutput(const std::string& path, const std::string& json) {
  std::unique_ptr<Env> host = NewRootedEnv("/");
  WriteOptions options;
  options.backup = false;
  absl::StatusOr<std::string> written = host->WriteFileAtomic(AbsolutePath(path), json, options);
  if (!written.ok()) {
    return absl::Status(written.status().code(),
                        absl::StrCat("--output ", path, ": ", written.status().message()));
  }
  return absl::OkStatus();
}

int RunValidate(CommandContext& context, const ValidateFlags& flags) {
  absl::StatusOr<v1::ValidateRequest> request = ValidateRequestFromFlags(flags);
  if (!request.ok()) return UsageError(context, request.status());
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  if (session->nodes.size() < 2) {
    *context.err << "sparkctl validate: only " << session->nodes.size()
                 << " node selected; pair checks need two or more\n";
  }
  ValidationSetup setup;
  setup.nodes = session->nodes;
  setup.request = *request;
  setup.thresholds = MergeThresholds(session->config.validation, request->thresholds(),
                                     ClusterSshKeyExists(session->config));
  setup.timeout = session->fanout.timeout;
  setup.parallel = session->fanout.parallel;
  setup.seed = std::random_device()();
  ValidationReport report = RunValidation(*session->channels, setup, nullptr);
  if (absl::Status s = SaveBandwidthRecord(context.globals.config_path, report.checks); !s.ok()) {
    *context.err << "sparkctl: warning: " << s.message() << "\n";
  }
  std::string json = RenderValidationJson(report);
  if (!flags.output.empty()) {
    if (absl::Status written = WriteOutput(flags.output, json); !written.ok()) {
      *context.err << "sparkctl: " << written.message() << "\n";
      return kExitUsageError;
    }
  }
  *context.out << (context.globals.json ? json : RenderValidationText(report));
  return report.summary.ok() ? kExitOk : kExitNodeFailed;
}

}  // namespace

absl::StatusOr<v1::ValidateRequest> ValidateRequestFromFlags(const ValidateFlags& flags) {
  v1::ValidateRequest request;
  for (const std::string& name : flags.tests) {
    const TestFlag* found = nullptr;
    for (const TestFlag& t : kTests) {
      if (name == t.name) found = &t;
    }
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tests: unknown test \"", name, "\"; choose from ssh, ping, bandwidth, gpu, rdma"));
    }
    request.add_tests(found->test);
  }
  if (!flags.interface.empty()) {
    if (absl::Status s = ValidateInterfaceName(flags.interface); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--interface: ", s.message()));
    }
    request.set_interface(flags.interface);
  }
  if (absl::Status s = ParsePairs(flags.pairs, request); !s.ok()) return s;
  if (flags.duration_s > 300) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration ", flags.duration_s, ": at most 300 seconds per test"));
  }
  request.set_bandwidth_duration_s(flags.duration_s);
  if (flags.parallel_streams > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("--parallel-streams ", flags.parallel_streams, ": at most 128"));
  }
  request.set_parallel_streams(flags.parallel_streams);
  if (flags.min_bandwidth_gbps) {
    request.mutable_thresholds()->set_min_bandwidth_gbps(*flags.min_bandwidth_gbps);
  }
  if (flags.max_latency_ms) request.mutable_thresholds()->set_max_latency_ms(*flags.max_latency_ms);
  if (flags.require_ssh) request.mutable_thresholds()->set_require_ssh(true);
  if (absl::Status s = CheckValidateRequest(request); !s.ok()) return s;
  return request;
}

void RegisterValidateCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ValidateFlags>();
  CLI::App* validate = app.add_subcommand(
      "validate",
      "latency, bandwidth, SSH, GPU and RDMA checks between every pair of nodes, measured by "
      "the agents; exit 2 on any FAIL");
  validate->add_option("--tests", flags->tests,
                       "ssh ping bandwidth gpu rdma (default: ping bandwidth, and ssh once "
                       "the cluster key exists)");
  validate->add_option("--interface", flags->interface,
                       "test over this interface's address on each node (e.g. the CX-7 link) "
                       "instead of the cluster address");
  validate->add_option("--output", flags->output, "also write the JSON report to FILE");
  validate->add_option("--pairs", flags->pairs, "all (default), ring or sample:K");
  validate->add_option("--duration", flags->duration_s,
                       "seconds of each bandwidth test (default 5)");
  validate->add_option("--parallel-streams", flags->parallel_streams,
                       "iperf3 parallel streams (default 1)");
  validate
      ->add_option("--min-bandwidth-gbps", flags->min_bandwidth_gbps,
                   "fail bandwidth below this (overrides validation.min_bandwidth_gbps)")
      ->check(CLI::PositiveNumber);
  validate
      ->add_option("--max-latency-ms", flags->max_latency_ms,
                   "fail average RTT above this (overrides validation.max_latency_ms)")
      ->check(CLI::PositiveNumber);
  validate->add_flag("--require-ssh", flags->require_ssh,
                     "fail SSH refusals even before the cluster key exists");
  validate->callback([&context, flags] { context.exit_code = RunValidate(context, *flags); });
}

}  // namespace sparkfleet
