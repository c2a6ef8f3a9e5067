// The checks of `sparkctl doctor`: the known ways a Spark cluster silently underperforms
// (SPARK-FACTS.md), each found from facts the agents report, on one node or across nodes.
// Pure: facts in, findings out, so every check is tested on fixture trees without a
// network.
//
//   DoctorInput input = ...;                 // from DoctorGather, or a test
//   std::vector<Finding> findings = RunDoctorChecks(input);
#ifndef SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_CHECKS_H_
#define SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_CHECKS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/cluster_config.h"
#include "sparkfleet/v1/agent.pb.h"
#include "sparkfleet/v1/coordinator.pb.h"

namespace sparkfleet {

// A do-not-fragment ping of (MTU - 28) bytes from one node to a peer over the link.
struct MtuProbe {
  std::string peer;        // hostname of the peer pinged
  std::string interface;   // the link interface the MTU is from ("enp1s0f1np1")
  std::string address;     // the peer's address pinged
  uint32_t mtu_bytes = 0;  // the interface's MTU
  bool passed = false;     // every echo came back
  std::string detail;      // ping's words when it did not pass
};

// Everything doctor knows about one node. A fact that was not answered is nullopt, with
// the reason in `unknown` (by RPC name): checks that need it report it as unknown (info),
// never as an error.
struct DoctorNodeFacts {
  std::string node;                                // hostname in cluster.yaml
  std::optional<v1::NodeInfo> info;                // GetInfo
  std::optional<v1::ProbeReply> probe;             // Probe
  std::optional<v1::ReadNcclConfReply> nccl_conf;  // ReadNcclConf for the cluster user
  std::optional<v1::GetDoctorFactsReply> facts;    // GetDoctorFacts
  // The coordinator's clock when GetDoctorFacts was sent and answered (skew allowance).
  absl::Time facts_sent;
  absl::Time facts_received;
  std::vector<MtuProbe> mtu_probes;            // empty when not run (no link, or a single node)
  std::map<std::string, std::string> unknown;  // RPC -> why it was not answered
};

struct DoctorInput {
  ClusterConfig config;
  std::vector<DoctorNodeFacts> nodes;  // cluster.yaml order (selected nodes)
  // The last bandwidth checks `sparkctl validate` (or deploy) recorded beside cluster.yaml
  // (.sparkfleet/last-bandwidth.jsonl); empty when none.
  std::vector<v1::CheckResult> last_bandwidth;
};

enum class Severity { kError, kWarning, kInfo };

// "error", "warning", "info".
const char* SeverityName(Severity severity);

struct Finding {
  std::string id;  // stable, kebab-case: "pcie-link-degraded"
  Severity severity = Severity::kInfo;
  std::vector<std::string> nodes;  // the nodes affected, cluster.yaml order
  std::string seen;  // what was seen, with the figures: "enp1s0f1np1 at PCIe x2 (max x4)"
  std::string why;   // why it matters, one sentence
  std::string fix;   // the fix, one line
};

// Every check on every node and across nodes; errors first, then warnings, then info,
// each in a stable order.
std::vector<Finding> RunDoctorChecks(const DoctorInput& input);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_CHECKS_H_
