// What `sparkctl validate` prints: one matrix per pairwise metric (rows: from, columns:
// to), the GPU check per node, every failure and skip with its reason, and a PASS/FAIL
// line; or, for --json / --output, one JSON document in which every check names its
// source and target. Pure.
#ifndef SPARKFLEET_COORDINATOR_VALIDATE_REPORT_H_
#define SPARKFLEET_COORDINATOR_VALIDATE_REPORT_H_

#include <string>
#include <vector>

#include "coordinator/validate/verdict.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

struct ValidationReport {
  std::vector<std::string> nodes;  // cluster.yaml order: matrix rows and columns
  std::vector<v1::ValidateTest> tests;
  Thresholds thresholds;
  std::string interface;  // empty = cluster addresses
  uint32_t bandwidth_duration_s = 0;
  uint32_t parallel_streams = 0;
  std::vector<v1::CheckResult> checks;
  v1::ValidateSummary summary;
};

// The report for people. Matrix cells: average RTT in ms, bandwidth in Gb/s (received),
// the SSH outcome; FAIL / skip when the check did not pass; "-" on the diagonal, "."
// for a pair not tested.
std::string RenderValidationText(const ValidationReport& report);

// {"nodes": [...], "tests": ["ping", ...], "interface": "...", "thresholds": {...},
//  "checks": [CheckResult...], "summary": ValidateSummary}, protobuf's JSON with proto
// field names for the messages; ends with a newline.
std::string RenderValidationJson(const ValidationReport& report);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_VALIDATE_REPORT_H_
