// Doctor's host checks, on GetDoctorFacts and GetInfo: no CMA, clocks not synchronized
// or skewed between nodes, the cluster user's account missing or with different
// UID/GID, and a kernel hostname that is not the node's name in cluster.yaml.
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/doctor/doctor_checks_internal.h"

namespace sparkfleet::doctor_internal {
namespace {

using NodeTexts = std::vector<std::pair<std::string, std::string>>;

constexpr absl::Duration kMaxClockSkew = absl::Milliseconds(100);

// The reason GetDoctorFacts gave for a fact it could not read at `path`.
std::string FactWarning(const v1::GetDoctorFactsReply& facts, absl::string_view path,
                        absl::string_view otherwise) {
  for (const v1::ProbeWarning& warning : facts.warnings()) {
    if (absl::StartsWith(warning.path(), path)) return warning.message();
  }
  return std::string(otherwise);
}

void CheckCma(const DoctorInput& input, FindingList* out) {
  std::vector<std::string> zero;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.facts.has_value()) continue;
    if (!node.facts->has_cma_total_bytes()) {
      out->Unknown("CmaTotal", node.node,
                   FactWarning(*node.facts, "/proc/meminfo", "no CmaTotal line in /proc/meminfo"));
    } else if (node.facts->cma_total_bytes() == 0) {
      zero.push_back(node.node);
    }
  }
  if (zero.empty()) return;
  out->Add("cma-zero", Severity::kError, zero, "/proc/meminfo: CmaTotal: 0 kB",
           "with no contiguous memory area the GPU and NIC drivers cannot get the physically "
           "contiguous buffers they need for DMA",
           "remove cma=0 (or a too small cma=) from the kernel command line "
           "(/etc/default/grub, update-grub) and reboot");
}

void CheckClockSync(const DoctorInput& input, FindingList* out) {
  NodeTexts unsynchronized;
  NodeTexts unknown;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.facts.has_value()) continue;
    const v1::ClockSync& clock = node.facts->clock();
    std::string detail = clock.detail().empty() ? "no detail" : clock.detail();
    if (!clock.has_synchronized()) {
      unknown.emplace_back(node.node, detail);
    } else if (!clock.synchronized()) {
      unsynchronized.emplace_back(node.node, detail);
    }
  }
  const char* why =
      "logs, timeouts, Kerberos/TLS and NFS timestamps disagree between nodes whose clocks "
      "drift apart";
  if (!unsynchronized.empty()) {
    out->Add("clock-not-synchronized", Severity::kWarning, NodeNames(unsynchronized),
             PerNode(unsynchronized), why,
             "enable time synchronization (`timedatectl set-ntp true`, or chrony) and check the "
             "node reaches its NTP servers");
  }
  if (!unknown.empty()) {
    out->Add("clock-sync-unknown", Severity::kWarning, NodeNames(unknown), PerNode(unknown), why,
             "install chrony or enable systemd-timesyncd (`timedatectl set-ntp true`)");
  }
}

// A node's clock against the coordinator's: offset_us +- half_rtt_us.
struct ClockOffset {
  std::string node;
  double offset_us = 0;
  double half_rtt_us = 0;
};

std::optional<ClockOffset> ReadOffset(const DoctorNodeFacts& node, FindingList* out) {
  if (!node.facts.has_value()) return std::nullopt;
  if (node.facts->wall_clock_unix_us() == 0 || node.facts_sent == absl::UnixEpoch() ||
      node.facts_received < node.facts_sent) {
    out->Unknown("clock skew", node.node, "the node's clock or the call's round trip is unknown");
    return std::nullopt;
  }
  absl::Duration rtt = node.facts_received - node.facts_sent;
  absl::Time midpoint = node.facts_sent + rtt / 2;
  ClockOffset offset;
  offset.node = node.node;
  offset.offset_us =
      static_cast<double>(node.facts->wall_clock_unix_us() - absl::ToUnixMicros(midpoint));
  offset.half_rtt_us = absl::ToDoubleMicroseconds(rtt) / 2;
  return offset;
}

void CheckClockSkew(const DoctorInput& input, FindingList* out) {
  std::vector<ClockOffset> offsets;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (std::optional<ClockOffset> offset = ReadOffset(node, out)) offsets.push_back(*offset);
  }
  if (offsets.size() < 2) return;
  // The least the clocks can be apart: the latest earliest-possible offset against the
  // earliest latest-possible one.
  const ClockOffset* ahead = &offsets[0];
  const ClockOffset* behind = &offsets[0];
  for (const ClockOffset& offset : offsets) {
    if (offset.offset_us - offset.half_rtt_us > ahead->offset_us - ahead->half_rtt_us) {
      ahead = &offset;
    }
    if (offset.offset_us + offset.half_rtt_us < behind->offset_us + behind->half_rtt_us) {
      behind = &offset;
    }
  }
  double skew_us =
      (ahead->offset_us - ahead->half_rtt_us) - (behind->offset_us + behind->half_rtt_us);
  if (skew_us <= absl::ToDoubleMicroseconds(kMaxClockSkew)) return;
  NodeTexts from_coordinator;
  for (const ClockOffset& offset : offsets) {
    from_coordinator.emplace_back(
        offset.node,
        absl::StrFormat("%+.0f ms (+-%.0f)", offset.offset_us / 1000, offset.half_rtt_us / 1000));
  }
  out->Add("clock-skew", Severity::kWarning, InClusterOrder(input, {ahead->node, behind->node}),
           absl::StrFormat("%s's clock is at least %.0f ms ahead of %s's; against sparkctl's "
                           "clock: %s",
                           ahead->node, skew_us / 1000, behind->node, PerNode(from_coordinator)),
           "clocks more than 100 ms apart make logs and timeouts disagree between nodes",
           "synchronize every node's clock to the same NTP servers (chrony or "
           "`timedatectl set-ntp true`)");
}

std::string ClusterUser(const DoctorInput& input, const std::string& node) {
  for (const ClusterNode& entry : input.config.nodes) {
    if (entry.hostname == node && !entry.user.empty()) return entry.user;
  }
  return input.config.user;
}

void CheckClusterUser(const DoctorInput& input, FindingList* out) {
  NodeTexts missing;
  NodeTexts ids;
  std::set<std::pair<uint32_t, uint32_t>> distinct;
  for (const DoctorNodeFacts& node : input.nodes) {
    std::string user = ClusterUser(input, node.node);
    if (!node.facts.has_value() || user.empty()) continue;
    const v1::UserAccount* account = nullptr;
    for (const v1::UserAccount& entry : node.facts->users()) {
      if (entry.name() == user) account = &entry;
    }
    std::string unreadable = FactWarning(*node.facts, "/etc/passwd", "");
    if (account == nullptr || !unreadable.empty()) {
      out->Unknown(
          "cluster user's account", node.node,
          account == nullptr ? absl::StrCat("GetDoctorFacts did not report ", user) : unreadable);
    } else if (!account->exists()) {
      missing.emplace_back(node.node, absl::StrCat("no user ", user, " in /etc/passwd"));
    } else {
      ids.emplace_back(node.node,
                       absl::StrCat(user, " uid ", account->uid(), " gid ", account->gid()));
      distinct.insert({account->uid(), account->gid()});
    }
  }
  if (!missing.empty()) {
    out->Add("cluster-user-missing", Severity::kError, NodeNames(missing), PerNode(missing),
             "SSH, NFS and NCCL runs use the cluster user on every node",
             "create the user on these nodes with the same UID and GID as on the others, or fix "
             "the node's `user` in cluster.yaml");
  }
  if (distinct.size() > 1) {
    out->Add("cluster-user-id-mismatch", Severity::kError, NodeNames(ids), PerNode(ids),
             "NFS and shared files carry numeric owners: with different UID/GID the cluster "
             "user's files on one node belong to someone else on another",
             "give the cluster user the same UID and GID on every node (usermod -u, groupmod -g, "
             "then chown its files)");
  }
}

std::string FirstLabel(absl::string_view name) {
  return std::string(name.substr(0, name.find('.')));
}

// "spark-001" and "spark-001.lan" name the same host; case does not matter.
bool SameHost(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(a, b) || (absl::StrContains(a, '.') != absl::StrContains(b, '.') &&
                                          absl::EqualsIgnoreCase(FirstLabel(a), FirstLabel(b)));
}

void CheckHostname(const DoctorInput& input, FindingList* out) {
  NodeTexts seen;
  for (const DoctorNodeFacts& node : input.nodes) {
    if (!node.info.has_value()) continue;
    const std::string& hostname = node.info->hostname();
    if (hostname.empty()) {
      out->Unknown("hostname", node.node, "GetInfo reports no hostname");
    } else if (!SameHost(hostname, node.node)) {
      seen.emplace_back(node.node, absl::StrCat("the node calls itself ", hostname));
    }
  }
  if (seen.empty()) return;
  out->Add("hostname-mismatch", Severity::kWarning, NodeNames(seen), PerNode(seen),
           "/etc/hosts, SSH known_hosts, MPI host lists and NCCL logs use the hostname; a node "
           "known under two names confuses them",
           "run `hostnamectl set-hostname <name in cluster.yaml>` on the node, or rename it in "
           "cluster.yaml");
}

}  // namespace

void CheckHost(const DoctorInput& input, FindingList* out) {
  CheckCma(input, out);
  CheckClockSync(input, out);
  CheckClockSkew(input, out);
  CheckClusterUser(input, out);
  CheckHostname(input, out);
}

}  // namespace sparkfleet::doctor_internal
