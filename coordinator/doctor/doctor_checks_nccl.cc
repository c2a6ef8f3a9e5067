// Doctor's NCCL configuration checks, on what ReadNcclConf reports NCCL would use:
// NCCL_SOCKET_IFNAME letting in a virtual interface (or unset while one exists),
// NCCL_IB_HCA naming one half of a Spark port, NCCL_IB_GID_INDEX pinned to an index that
// is not a node's RoCE v2 one, lines NCCL would misread, and sources that disagree.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/nccl_config.h"
#include "coordinator/doctor/doctor_checks_internal.h"

namespace sparkfleet::doctor_internal {
namespace {

using NodeTexts = std::vector<std::pair<std::string, std::string>>;

// atoi(): the leading digits, 0 when there are none.
int LeadingNumber(absl::string_view text) {
  int number = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) break;
    number = number * 10 + (c - '0');
  }
  return number;
}

// The prefixes NCCL's own interface choice leaves out ("^docker,lo,virbr").
bool NcclSkipsByDefault(absl::string_view name) {
  return absl::StartsWith(name, "docker") || absl::StartsWith(name, "lo") ||
         absl::StartsWith(name, "virbr");
}

const v1::NcclSetting* EffectiveSetting(const v1::ReadNcclConfReply& conf, absl::string_view key) {
  for (const v1::NcclSetting& setting : conf.effective()) {
    if (setting.key() == key) return &setting;
  }
  return nullptr;
}

std::string Describe(const v1::NcclSetting& setting) {
  return absl::StrCat(setting.key(), "=", setting.value(), " (", setting.source(), ")");
}

void CheckSocketIfname(const DoctorInput& input, FindingList* out) {
  NodeTexts matched;
  NodeTexts unset;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value() || !node.nccl_conf.has_value()) continue;
    const v1::NcclSetting* setting = EffectiveSetting(*node.nccl_conf, "NCCL_SOCKET_IFNAME");
    // NCCL ignores a value of one character and chooses on its own.
    bool set = setting != nullptr && setting->value().size() > 1;
    NcclNameList list = ParseNcclNameList(set ? setting->value() : "");
    std::vector<std::string> virtuals;
    for (const v1::Nic& nic : node.probe->nics()) {
      if (nic.kind() != v1::NIC_KIND_VIRTUAL) continue;
      bool used = set ? NcclNameListSelects(list, nic.name()) : !NcclSkipsByDefault(nic.name());
      if (used) virtuals.push_back(nic.name());
    }
    if (virtuals.empty()) continue;
    if (set) {
      matched.emplace_back(
          node.node, absl::StrCat(Describe(*setting), " lets in ", absl::StrJoin(virtuals, ", ")));
    } else {
      unset.emplace_back(node.node, absl::StrCat("NCCL_SOCKET_IFNAME unset; ",
                                                 absl::StrJoin(virtuals, ", "), " present"));
    }
  }
  if (!matched.empty()) {
    out->Add("nccl-socket-ifname-virtual", Severity::kError, NodeNames(matched), PerNode(matched),
             "NCCL may bootstrap over a virtual interface (tailscale0 has MTU 1280 and goes "
             "through the tailnet), which is slow or unreachable from the other nodes",
             "make NCCL_SOCKET_IFNAME an exact list of the link interfaces "
             "(=enp1s0f1np1,enP2p1s0f1np1): fix nccl.env in cluster.yaml and run `sparkctl nccl`");
  }
  if (!unset.empty()) {
    out->Add("nccl-socket-ifname-unset", Severity::kWarning, NodeNames(unset), PerNode(unset),
             "NCCL's own choice skips only docker*, lo and virbr*, so it can pick tailscale0 or "
             "another virtual interface",
             "run `sparkctl nccl` to write nccl.conf with NCCL_SOCKET_IFNAME");
  }
}

// Whether NCCL_IB_HCA lets NCCL use some port of `device`.
bool Named(const NcclNameList& list, const v1::RdmaDevice& device) {
  if (device.ports_size() == 0) return NcclNameListSelects(list, device.name());
  for (const v1::RdmaPort& port : device.ports()) {
    if (NcclNameListSelects(list, device.name(), static_cast<int>(port.port()))) return true;
  }
  return false;
}

void CheckIbHcaHalves(const DoctorInput& input, FindingList* out) {
  NodeTexts seen;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value() || !node.nccl_conf.has_value()) continue;
    const v1::NcclSetting* setting = EffectiveSetting(*node.nccl_conf, "NCCL_IB_HCA");
    if (setting == nullptr || setting->value().empty()) continue;
    NcclNameList list = ParseNcclNameList(setting->value());
    std::vector<std::string> texts;
    for (const SparkPort& port : FindSparkPorts(*node.probe)) {
      bool named[2] = {Named(list, *port.halves[0]), Named(list, *port.halves[1])};
      if (named[0] == named[1]) continue;
      int in = named[0] ? 0 : 1;
      texts.push_back(absl::StrCat("port ", port.name, ": ", port.halves[in]->name(), " but not ",
                                   port.halves[1 - in]->name()));
    }
    if (texts.empty()) continue;
    seen.emplace_back(node.node,
                      absl::StrCat(Describe(*setting), " uses ", absl::StrJoin(texts, "; ")));
  }
  if (seen.empty()) return;
  out->Add("nccl-ib-hca-one-half", Severity::kError, NodeNames(seen), PerNode(seen),
           "a Spark port is two ~100 Gb/s halves; NCCL gets ~200 Gb/s only when NCCL_IB_HCA "
           "names both (e.g. =rocep1s0f1,roceP2p1s0f1)",
           "name both halves in NCCL_IB_HCA, or leave it to `sparkctl nccl`, which writes both");
}

// A node's NCCL_IB_GID_INDEX and the RoCE v2 index NCCL would choose on its ACTIVE
// Ethernet ports.
struct GidFacts {
  std::string node;
  const v1::NcclSetting* pinned = nullptr;  // unset or -1: automatic
  int pinned_index = -1;
  std::vector<std::string> indices;  // "rocep1s0f1 3", "none" when no entry qualifies
  bool mismatch = false;             // pinned to an index that is not every port's
};

GidFacts ReadGidFacts(const DoctorNodeFacts& node) {
  GidFacts facts;
  facts.node = node.node;
  const v1::NcclSetting* setting = EffectiveSetting(*node.nccl_conf, "NCCL_IB_GID_INDEX");
  if (setting != nullptr && absl::SimpleAtoi(setting->value(), &facts.pinned_index) &&
      facts.pinned_index >= 0) {
    facts.pinned = setting;
  }
  for (const v1::RdmaDevice& device : node.probe->rdma_devices()) {
    for (const v1::RdmaPort& port : device.ports()) {
      if (port.state() != v1::RDMA_PORT_STATE_ACTIVE ||
          port.link_layer() != v1::RDMA_LINK_LAYER_ETHERNET) {
        continue;
      }
      facts.indices.push_back(absl::StrCat(
          device.name(), " ",
          port.has_auto_gid_index() ? absl::StrCat(port.auto_gid_index()) : std::string("none")));
      bool right = port.has_auto_gid_index() &&
                   static_cast<int>(port.auto_gid_index()) == facts.pinned_index;
      if (facts.pinned != nullptr && !right) facts.mismatch = true;
    }
  }
  return facts;
}

void CheckGidIndex(const DoctorInput& input, FindingList* out) {
  std::vector<GidFacts> nodes;
  bool any_mismatch = false;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.probe.has_value() || !node.nccl_conf.has_value()) continue;
    nodes.push_back(ReadGidFacts(node));
    any_mismatch = any_mismatch || nodes.back().mismatch;
  }
  if (!any_mismatch) return;
  NodeTexts seen;
  std::vector<std::string> affected;
  for (const GidFacts& facts : nodes) {
    std::string pin = facts.pinned != nullptr ? Describe(*facts.pinned) : "automatic";
    seen.emplace_back(facts.node,
                      absl::StrCat(pin, ", RoCE v2 index ",
                                   facts.indices.empty() ? std::string("none (no ACTIVE RoCE port)")
                                                         : absl::StrJoin(facts.indices, ", ")));
    if (facts.mismatch) affected.push_back(facts.node);
  }
  out->Add("nccl-gid-index-pinned", Severity::kError, affected, PerNode(seen),
           "the RoCE v2 GID index differs between nodes and drifts; a pinned index that is not "
           "the node's RoCE v2 IPv4 entry makes NCCL's RDMA connections fail or fall back",
           "remove NCCL_IB_GID_INDEX (NCCL picks the RoCE v2 index itself), or pin it per node "
           "with nccl.nodes.<node>.gid_index, then run `sparkctl nccl`");
}

void CheckMisreadLines(const DoctorInput& input, FindingList* out) {
  NodeTexts seen;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.nccl_conf.has_value()) continue;
    std::vector<std::string> texts;
    for (const v1::NcclConfFile& file : node.nccl_conf->files()) {
      for (const v1::NcclConfProblem& problem : file.problems()) {
        // Shadowed lines are read as written; nccl-conf-conflict reports them.
        if (problem.kind() == v1::NCCL_CONF_PROBLEM_KIND_SHADOWED) continue;
        texts.push_back(absl::StrCat(file.path(), ":", problem.line(), ": ", problem.message()));
      }
    }
    if (!texts.empty()) seen.emplace_back(node.node, absl::StrJoin(texts, "; "));
  }
  if (seen.empty()) return;
  out->Add("nccl-conf-misread", Severity::kError, NodeNames(seen), PerNode(seen),
           "NCCL reads these lines differently from how they look (it keeps whitespace, skips "
           "lines without '=', ignores unknown names and repeated keys)",
           "fix the lines as each message says; `sparkctl nccl-conf` lists them");
}

// Every value of every key in the sources NCCL applies (environment, user file,
// /etc/nccl.conf), first one per source, in NCCL's order.
std::map<std::string, NodeTexts> ValuesByKey(const v1::ReadNcclConfReply& conf) {
  std::map<std::string, NodeTexts> values;
  auto add = [&](const v1::NcclSetting& setting) {
    NodeTexts& list = values[setting.key()];
    for (const auto& entry : list) {
      if (entry.first == setting.source()) return;  // a duplicate: nccl-conf-misread
    }
    list.emplace_back(setting.source(), setting.value());
  };
  for (const v1::NcclSetting& setting : conf.environment()) add(setting);
  for (const v1::NcclConfFile& file : conf.files()) {
    for (const v1::NcclSetting& setting : file.settings()) add(setting);
    if (file.path() == kDefaultNcclConfPath) break;  // what follows NCCL does not read
  }
  return values;
}

void CheckConflicts(const DoctorInput& input, FindingList* out) {
  NodeTexts seen;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.nccl_conf.has_value()) continue;
    std::vector<std::string> texts;
    for (const auto& [key, sources] : ValuesByKey(*node.nccl_conf)) {
      std::set<std::string> distinct;
      for (const auto& entry : sources) distinct.insert(entry.second);
      if (distinct.size() < 2) continue;
      std::vector<std::string> parts;
      for (size_t i = 0; i < sources.size(); ++i) {
        parts.push_back(
            absl::StrCat(sources[i].first, " ", sources[i].second, i == 0 ? " (used)" : ""));
      }
      texts.push_back(absl::StrCat(key, ": ", absl::StrJoin(parts, ", ")));
    }
    if (!texts.empty()) seen.emplace_back(node.node, absl::StrJoin(texts, "; "));
  }
  if (seen.empty()) return;
  out->Add("nccl-conf-conflict", Severity::kWarning, NodeNames(seen), PerNode(seen),
           "NCCL takes the environment first, then ~/.nccl.conf, then /etc/nccl.conf: a "
           "value set in two places silently loses in one of them",
           "keep each NCCL_* setting in one place (cluster.yaml's nccl.env, written to "
           "nccl.conf by `sparkctl nccl`)");
}

}  // namespace

NcclNameList ParseNcclNameList(absl::string_view value) {
  NcclNameList list;
  list.exclude = absl::ConsumePrefix(&value, "^");
  list.exact = absl::ConsumePrefix(&value, "=");
  for (absl::string_view entry : absl::StrSplit(value, ',')) {
    int port = -1;
    size_t colon = entry.find(':');
    if (colon != absl::string_view::npos) {
      port = LeadingNumber(entry.substr(colon + 1));
      entry = entry.substr(0, colon);
    }
    if (!entry.empty()) list.entries.emplace_back(std::string(entry), port);
  }
  return list;
}

bool NcclNameListSelects(const NcclNameList& list, absl::string_view name, int port) {
  bool matched = list.entries.empty();
  for (const auto& [entry, entry_port] : list.entries) {
    bool name_matches = list.exact ? name == entry : absl::StartsWith(name, entry);
    bool port_matches = entry_port == -1 || port == -1 || entry_port == port;
    if (name_matches && port_matches) matched = true;
  }
  return matched != list.exclude;
}

void CheckNcclConfig(const DoctorInput& input, FindingList* out) {
  CheckSocketIfname(input, out);
  CheckIbHcaHalves(input, out);
  CheckGidIndex(input, out);
  CheckMisreadLines(input, out);
  CheckConflicts(input, out);
}

}  // namespace sparkfleet::doctor_internal
