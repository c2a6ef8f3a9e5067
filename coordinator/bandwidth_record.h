// BandwidthRecord: the last bandwidth each ordered pair of nodes measured (`sparkctl
// validate`, deploy's validate step), kept beside cluster.yaml so that `sparkctl doctor`
// can tell a link stuck in the stale 8–25 Gb/s range without measuring again.
//
// The record is .sparkfleet/last-bandwidth.jsonl: one v1::CheckResult (protobuf's JSON)
// per line, the newest per (test, source, target). A missing or unreadable record means
// "nothing measured yet".
#ifndef SPARKFLEET_COORDINATOR_BANDWIDTH_RECORD_H_
#define SPARKFLEET_COORDINATOR_BANDWIDTH_RECORD_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// "<directory of config_path>/.sparkfleet/last-bandwidth.jsonl", absolute.
std::string BandwidthRecordPath(const std::string& config_path);

// Every recorded check, in file order; unparsable lines are skipped.
std::vector<v1::CheckResult> LoadBandwidthRecord(const std::string& config_path);

// Merges the bandwidth and RDMA checks of `checks` that measured something into the
// record (atomically, no backup), replacing older ones of the same pair. Errors name the
// file.
[[nodiscard]] absl::Status SaveBandwidthRecord(const std::string& config_path,
                                               const std::vector<v1::CheckResult>& checks);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_BANDWIDTH_RECORD_H_
