#include "coordinator/validate/report.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

bool Pairwise(v1::ValidateTest test) { return test != v1::VALIDATE_TEST_GPU; }

std::string Cell(const v1::CheckResult& check) {
  const bool pass = check.verdict() == v1::CHECK_VERDICT_PASS;
  const bool skipped = check.verdict() == v1::CHECK_VERDICT_SKIPPED;
  std::string figure;
  switch (check.test()) {
    case v1::VALIDATE_TEST_PING:
      if (check.has_ping() && check.ping().reachable()) {
        figure = absl::StrFormat("%.3f", check.ping().avg_rtt_us() / 1000);
        if (check.ping().loss_percent() > 0) {
          absl::StrAppendFormat(&figure, " (%.0f%% loss)", check.ping().loss_percent());
        }
      }
      break;
    case v1::VALIDATE_TEST_BANDWIDTH:
    case v1::VALIDATE_TEST_RDMA:
      if (check.has_bandwidth()) {
        figure = absl::StrFormat("%.2f", check.bandwidth().received_bps() / 1e9);
      }
      break;
    case v1::VALIDATE_TEST_SSH:
      if (check.has_ssh()) figure = SshOutcomeName(check.ssh().outcome());
      break;
    default:
      break;
  }
  if (pass) return figure;
  const char* word = skipped ? "skip" : "FAIL";
  return figure.empty() ? word : absl::StrCat(word, " ", figure);
}

std::string MatrixTitle(v1::ValidateTest test, const ValidationReport& report) {
  std::string on =
      report.interface.empty() ? "cluster addresses" : absl::StrCat("interface ", report.interface);
  switch (test) {
    case v1::VALIDATE_TEST_PING:
      return absl::StrCat("Latency: average ICMP RTT, ms, on ", on);
    case v1::VALIDATE_TEST_BANDWIDTH:
      return absl::StrCat("Bandwidth: iperf3 TCP, Gb/s received, ", report.bandwidth_duration_s,
                          " s, ", report.parallel_streams,
                          report.parallel_streams == 1 ? " stream" : " streams", ", on ", on);
    case v1::VALIDATE_TEST_SSH:
      return "SSH: non-interactive login as the cluster user";
    case v1::VALIDATE_TEST_RDMA:
      return absl::StrCat(
          "RDMA: ib_write_bw, Gb/s summed over the cabled devices (both halves "
          "of a Spark port), ",
          std::max<uint32_t>(report.bandwidth_duration_s, 5), " s");
    default:
      return TestName(test);
  }
}

std::string Matrix(v1::ValidateTest test, const ValidationReport& report) {
  std::map<std::pair<std::string, std::string>, const v1::CheckResult*> cells;
  for (const v1::CheckResult& check : report.checks) {
    if (check.test() == test) cells[{check.source(), check.target()}] = &check;
  }
  std::vector<std::string> header = {"FROM \\ TO"};
  header.insert(header.end(), report.nodes.begin(), report.nodes.end());
  Table table(header);
  for (const std::string& from : report.nodes) {
    std::vector<std::string> row = {from};
    for (const std::string& to : report.nodes) {
      auto it = cells.find({from, to});
      row.push_back(from == to ? "-" : it == cells.end() ? "." : Cell(*it->second));
    }
    table.AddRow(row);
  }
  return absl::StrCat(MatrixTitle(test, report), "\n", table.Render());
}

// Each device pair of every RDMA check that measured; empty when none did.
std::string RdmaLaneTable(const ValidationReport& report) {
  Table table({"FROM", "TO", "DEVICE", "PEER DEVICE", "Gb/s"});
  bool any = false;
  for (const v1::CheckResult& check : report.checks) {
    if (check.test() != v1::VALIDATE_TEST_RDMA) continue;
    for (const v1::BandwidthLane& lane : check.bandwidth().lanes()) {
      table.AddRow({check.source(), check.target(), lane.local_rdma_device(),
                    lane.remote_rdma_device(),
                    absl::StrFormat("%.2f", lane.bandwidth_bps() / 1e9)});
      any = true;
    }
  }
  return any ? absl::StrCat("RDMA per device\n", table.Render(), "\n") : "";
}

std::string GpuTable(const ValidationReport& report) {
  Table table({"NODE", "GPU", "DETAIL"});
  for (const v1::CheckResult& check : report.checks) {
    if (check.test() != v1::VALIDATE_TEST_GPU) continue;
    std::vector<std::string> names;
    for (const v1::Gpu& gpu : check.gpu().gpus()) names.push_back(gpu.name());
    std::string detail = check.verdict() == v1::CHECK_VERDICT_PASS
                             ? absl::StrCat(names.size(), " x ", absl::StrJoin(names, ", "))
                             : check.reason();
    table.AddRow({check.source(), Cell(check).empty() ? "ok" : Cell(check), detail});
  }
  return absl::StrCat("GPUs\n", table.Render());
}

std::string Problems(const ValidationReport& report) {
  std::string failed;
  // Skips often share their reason (no RDMA device anywhere): print each reason once.
  std::vector<std::pair<std::string, int>> skipped;
  for (const v1::CheckResult& check : report.checks) {
    if (check.verdict() == v1::CHECK_VERDICT_FAIL ||
        check.verdict() == v1::CHECK_VERDICT_UNSPECIFIED) {
      absl::StrAppend(&failed, "  FAIL ", TestName(check.test()), " ", check.source(),
                      check.target().empty() ? "" : " -> " + check.target(), ": ", check.reason(),
                      "\n");
    } else if (check.verdict() == v1::CHECK_VERDICT_SKIPPED &&
               check.test() != v1::VALIDATE_TEST_GPU) {  // the GPU table shows its reasons
      std::string line = absl::StrCat(TestName(check.test()), ": ", check.reason());
      auto it = std::find_if(skipped.begin(), skipped.end(),
                             [&](const auto& s) { return s.first == line; });
      if (it == skipped.end()) {
        skipped.emplace_back(line, 1);
      } else {
        ++it->second;
      }
    }
  }
  std::string out;
  if (!failed.empty()) absl::StrAppend(&out, "Failures\n", failed, "\n");
  if (!skipped.empty()) {
    absl::StrAppend(&out, "Skipped\n");
    for (const auto& [line, count] : skipped) {
      absl::StrAppend(&out, "  skip ", line, count > 1 ? absl::StrCat(" (", count, " checks)") : "",
                      "\n");
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string ThresholdText(const Thresholds& t) {
  std::vector<std::string> parts;
  if (t.max_latency_ms) parts.push_back(absl::StrFormat("max_latency_ms %g", *t.max_latency_ms));
  if (t.min_bandwidth_gbps) {
    parts.push_back(absl::StrFormat("min_bandwidth_gbps %g", *t.min_bandwidth_gbps));
  }
  if (t.require_ssh) parts.push_back("require_ssh");
  return parts.empty() ? "none (only unreachability fails)" : absl::StrJoin(parts, ", ");
}

}  // namespace

std::string RenderValidationText(const ValidationReport& report) {
  std::string out;
  for (v1::ValidateTest test : report.tests) {
    absl::StrAppend(&out, Pairwise(test) ? Matrix(test, report) : GpuTable(report), "\n");
    if (test == v1::VALIDATE_TEST_RDMA) absl::StrAppend(&out, RdmaLaneTable(report));
  }
  absl::StrAppend(&out, Problems(report));
  std::vector<std::string> names;
  for (v1::ValidateTest test : report.tests) names.push_back(TestName(test));
  const v1::ValidateSummary& s = report.summary;
  absl::StrAppend(&out, s.ok() ? "PASS" : "FAIL", ": ", s.passed(), " passed, ", s.failed(),
                  " failed, ", s.skipped(), " skipped (", absl::StrJoin(names, ", "), ") in ",
                  HumanDuration(absl::Milliseconds(s.duration_ms())),
                  "; thresholds: ", ThresholdText(report.thresholds), "\n");
  return out;
}

std::string RenderValidationJson(const ValidationReport& report) {
  std::vector<std::string> nodes, tests, checks;
  for (const std::string& node : report.nodes) nodes.push_back(JsonQuote(node));
  for (v1::ValidateTest test : report.tests) tests.push_back(JsonQuote(TestName(test)));
  for (const v1::CheckResult& check : report.checks) checks.push_back(MessageJson(check));
  v1::ValidateThresholds thresholds;
  if (report.thresholds.min_bandwidth_gbps) {
    thresholds.set_min_bandwidth_gbps(*report.thresholds.min_bandwidth_gbps);
  }
  if (report.thresholds.max_latency_ms) {
    thresholds.set_max_latency_ms(*report.thresholds.max_latency_ms);
  }
  thresholds.set_require_ssh(report.thresholds.require_ssh);
  return absl::StrCat(
      "{\"nodes\":[", absl::StrJoin(nodes, ","), "],\"tests\":[", absl::StrJoin(tests, ","),
      "],\"interface\":", JsonQuote(report.interface),
      ",\"ssh_trust_set_up\":", report.thresholds.ssh_trust_set_up ? "true" : "false",
      ",\"thresholds\":", MessageJson(thresholds), ",\"checks\":[", absl::StrJoin(checks, ","),
      "],\"summary\":", MessageJson(report.summary), "}\n");
}

}  // namespace sparkfleet
