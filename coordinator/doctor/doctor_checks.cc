#include "coordinator/doctor/doctor_checks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/doctor/doctor_checks_internal.h"

namespace sparkfleet {
namespace doctor_internal {

void FindingList::Add(std::string id, Severity severity, std::vector<std::string> nodes,
                      std::string seen, std::string why, std::string fix) {
  Finding finding;
  finding.id = std::move(id);
  finding.severity = severity;
  finding.nodes = std::move(nodes);
  finding.seen = std::move(seen);
  finding.why = std::move(why);
  finding.fix = std::move(fix);
  findings_.push_back(std::move(finding));
}

void FindingList::Unknown(const std::string& what, const std::string& node,
                          const std::string& why) {
  auto it = std::find_if(unknown_.begin(), unknown_.end(),
                         [&](const auto& entry) { return entry.first == what; });
  if (it == unknown_.end()) it = unknown_.insert(unknown_.end(), {what, {}});
  it->second.emplace_back(node, why);
}

std::vector<Finding> FindingList::Take() {
  for (const auto& [what, nodes] : unknown_) {
    Add("unknown", Severity::kInfo, NodeNames(nodes), absl::StrCat(what, ": ", PerNode(nodes)),
        absl::StrCat("doctor could not check what needs ", what, " on these nodes"),
        "make the fact readable (see what was seen), then run `sparkctl doctor` again");
  }
  unknown_.clear();
  std::stable_sort(findings_.begin(), findings_.end(), [](const Finding& a, const Finding& b) {
    return static_cast<int>(a.severity) < static_cast<int>(b.severity);
  });
  return std::move(findings_);
}

std::string PerNode(const std::vector<std::pair<std::string, std::string>>& node_texts) {
  return absl::StrJoin(node_texts, "; ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, ": ", entry.second);
  });
}

std::vector<std::string> NodeNames(const std::vector<std::pair<std::string, std::string>>& nodes) {
  std::vector<std::string> names;
  for (const auto& entry : nodes) {
    if (std::find(names.begin(), names.end(), entry.first) == names.end()) {
      names.push_back(entry.first);
    }
  }
  return names;
}

std::vector<std::string> InClusterOrder(const DoctorInput& input,
                                        const std::vector<std::string>& names) {
  std::vector<std::string> ordered;
  auto add = [&](const std::string& name) {
    bool wanted = std::find(names.begin(), names.end(), name) != names.end();
    if (wanted && std::find(ordered.begin(), ordered.end(), name) == ordered.end()) {
      ordered.push_back(name);
    }
  };
  for (const DoctorNodeFacts& node : input.nodes) add(node.node);
  for (const std::string& name : names) add(name);
  return ordered;
}

namespace {

// A reply doctor asked a node for and did not get: one unknown per RPC, with the reason
// the gatherer recorded (or "not gathered").
void ReportMissingReplies(const DoctorNodeFacts& node, FindingList* out) {
  const std::pair<const char*, bool> kReplies[] = {
      {"GetInfo", node.info.has_value()},
      {"Probe", node.probe.has_value()},
      {"ReadNcclConf", node.nccl_conf.has_value()},
      {"GetDoctorFacts", node.facts.has_value()},
  };
  const bool none = std::none_of(std::begin(kReplies), std::end(kReplies),
                                 [](const auto& reply) { return reply.second; });
  if (none) {
    // An agent that answered nothing (down, unreachable, refusing us) is one line, not four.
    auto why = node.unknown.find("GetInfo");
    out->Unknown("the agent", node.node,
                 absl::StrCat("no reply to GetInfo, Probe, ReadNcclConf or GetDoctorFacts (",
                              why == node.unknown.end() ? "not gathered" : why->second,
                              "); nothing on this node was checked"));
  }
  for (const auto& [rpc, answered] : kReplies) {
    if (answered || none) continue;
    auto why = node.unknown.find(rpc);
    out->Unknown(rpc, node.node, why == node.unknown.end() ? "not gathered" : why->second);
  }
  for (const auto& [rpc, why] : node.unknown) {
    bool listed = std::any_of(std::begin(kReplies), std::end(kReplies),
                              [&](const auto& reply) { return rpc == reply.first; });
    if (!listed) out->Unknown(rpc, node.node, why);
  }
}

}  // namespace
}  // namespace doctor_internal

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  return "info";
}

std::vector<Finding> RunDoctorChecks(const DoctorInput& input) {
  doctor_internal::FindingList findings;
  for (const DoctorNodeFacts& node : input.nodes) {
    doctor_internal::ReportMissingReplies(node, &findings);
  }
  doctor_internal::CheckHardwareAndLink(input, &findings);
  doctor_internal::CheckVersions(input, &findings);
  doctor_internal::CheckNcclConfig(input, &findings);
  doctor_internal::CheckHost(input, &findings);
  return findings.Take();
}

}  // namespace sparkfleet
