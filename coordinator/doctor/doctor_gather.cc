#include "coordinator/doctor/doctor_gather.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "coordinator/bandwidth_record.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

constexpr uint32_t kIcmpAndIpHeaderBytes = 28;
constexpr absl::Duration kPingTimeout = absl::Seconds(30);
// Peers one node pings over one link interface: every peer on a direct cable or a small
// switch; past this a sample (the next nodes in cluster.yaml order), which two rounds of
// the agent's 32 parallel pings answer within kPingTimeout even when none replies.
constexpr size_t kMaxPeersPerPing = 64;

template <typename Reply>
void Keep(std::vector<NodeResult<Reply>> results, const char* rpc,
          std::optional<Reply> DoctorNodeFacts::*field, std::vector<DoctorNodeFacts>& nodes) {
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].status.ok()) {
      nodes[i].*field = std::move(results[i].reply);
    } else {
      nodes[i].unknown[rpc] = OneLineError(results[i].status);
    }
  }
}

std::optional<uint32_t> Ipv4(const std::string& address) {
  in_addr parsed;
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) return std::nullopt;
  return ntohl(parsed.s_addr);
}

bool SameSubnet(const v1::IpAddress& a, const v1::IpAddress& b) {
  std::optional<uint32_t> x = Ipv4(a.address()), y = Ipv4(b.address());
  if (!x || !y || a.ipv6() || b.ipv6() || a.prefix_length() > 32) return false;
  uint32_t mask = a.prefix_length() == 0 ? 0 : ~uint32_t{0} << (32 - a.prefix_length());
  return *x != *y && (*x & mask) == (*y & mask);
}

const v1::IpAddress* FirstIpv4(const v1::Nic& nic) {
  for (const v1::IpAddress& address : nic.addresses()) {
    if (!address.ipv6()) return &address;
  }
  return nullptr;
}

// The address of `peer` on the subnet of `local`, if it has one.
std::optional<std::string> PeerAddressOn(const v1::IpAddress& local, const v1::ProbeReply& peer) {
  for (const v1::Nic& nic : peer.nics()) {
    for (const v1::IpAddress& address : nic.addresses()) {
      if (SameSubnet(local, address)) return address.address();
    }
  }
  return std::nullopt;
}

// The DF pings one node sends over one link interface: one probe per peer on that
// interface's subnet (every pair of nodes on the link is checked, both ways).
struct PlannedPing {
  size_t node;
  std::vector<MtuProbe> probes;  // same interface and MTU, one peer each
};

std::vector<PlannedPing> PlanMtuPings(const ClusterConfig& config,
                                      const std::vector<DoctorNodeFacts>& nodes) {
  std::vector<PlannedPing> planned;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].probe.has_value()) continue;
    for (const v1::Nic* nic : LinkInterfaces(config, *nodes[i].probe)) {
      const v1::IpAddress* local = FirstIpv4(*nic);
      if (local == nullptr || nic->mtu_bytes() <= kIcmpAndIpHeaderBytes) continue;
      PlannedPing ping{i, {}};
      for (size_t step = 1; step < nodes.size(); ++step) {
        const DoctorNodeFacts& peer = nodes[(i + step) % nodes.size()];
        if (!peer.probe.has_value()) continue;
        std::optional<std::string> address = PeerAddressOn(*local, *peer.probe);
        if (!address.has_value()) continue;
        MtuProbe probe;
        probe.peer = peer.node;
        probe.interface = nic->name();
        probe.address = *address;
        probe.mtu_bytes = nic->mtu_bytes();
        ping.probes.push_back(std::move(probe));
        if (ping.probes.size() == kMaxPeersPerPing) break;
      }
      if (!ping.probes.empty()) planned.push_back(std::move(ping));
    }
  }
  return planned;
}

// What one DF ping to `probe`'s peer showed.
void ReadPingResult(const v1::PingResult& result, MtuProbe& probe) {
  probe.passed = result.sent() > 0 && result.received() == result.sent();
  if (!probe.passed) {
    probe.detail = absl::StrCat(result.received(), " of ", result.sent(), " came back",
                                result.error().empty() ? "" : ": ", result.error());
  }
}

// Runs the planned pings in rounds: each node pings over one interface per round (all
// of that interface's peers at once), so one interface's traffic never skews another's.
void RunMtuPings(ClusterSession& session, std::vector<PlannedPing> planned,
                 std::vector<DoctorNodeFacts>& nodes) {
  while (!planned.empty()) {
    std::vector<PlannedPing> round, later;
    std::vector<bool> busy(nodes.size(), false);
    for (PlannedPing& ping : planned) {
      if (busy[ping.node]) {
        later.push_back(std::move(ping));
        continue;
      }
      busy[ping.node] = true;
      round.push_back(std::move(ping));
    }
    std::vector<ClusterNode> targets;
    std::map<std::string, const PlannedPing*> by_node;
    for (const PlannedPing& ping : round) {
      targets.push_back(session.nodes[ping.node]);
      by_node[session.nodes[ping.node].hostname] = &ping;
    }
    FanOutOptions options = session.fanout;
    options.timeout = std::max(options.timeout, kPingTimeout);
    options.progress_label = "doctor mtu";
    auto results = FanOut<v1::PingRequest, v1::PingReply>(
        *session.channels, targets, options,
        [&](const ClusterNode& node) {
          const PlannedPing& ping = *by_node.at(node.hostname);
          v1::PingRequest request;
          for (const MtuProbe& probe : ping.probes) request.add_targets(probe.address);
          request.set_interface(ping.probes.front().interface);
          request.set_count(3);
          request.set_payload_bytes(ping.probes.front().mtu_bytes - kIcmpAndIpHeaderBytes);
          request.set_dont_fragment(true);
          return request;
        },
        [](auto* async, auto* context, auto* request, auto* reply, auto done) {
          async->Ping(context, request, reply, std::move(done));
        });
    for (size_t j = 0; j < results.size(); ++j) {
      std::vector<MtuProbe>& probes = round[j].probes;
      DoctorNodeFacts& node = nodes[round[j].node];
      if (!results[j].status.ok()) {
        node.unknown[absl::StrCat("Ping ", probes.front().interface)] =
            OneLineError(results[j].status);
        continue;
      }
      const v1::PingReply& reply = results[j].reply;
      for (size_t k = 0; k < probes.size(); ++k) {
        if (static_cast<int>(k) < reply.results_size()) {
          ReadPingResult(reply.results(k), probes[k]);
        } else {
          probes[k].detail = "the agent sent no result for this peer";
        }
        node.mtu_probes.push_back(std::move(probes[k]));
      }
    }
    planned = std::move(later);
  }
}

}  // namespace

std::vector<const v1::Nic*> LinkInterfaces(const ClusterConfig& config,
                                           const v1::ProbeReply& probe) {
  std::vector<const v1::Nic*> link;
  for (const v1::Nic& nic : probe.nics()) {
    bool chosen = false;
    if (config.link.enabled) {
      for (const LinkInterfaceSettings& wanted : config.link.interfaces) {
        chosen = chosen || wanted.name == nic.name();
      }
    } else {
      chosen = nic.kind() == v1::NIC_KIND_PHYSICAL && nic.rdma_devices_size() > 0 &&
               nic.has_carrier() && nic.carrier();
    }
    if (chosen) link.push_back(&nic);
  }
  return link;
}

DoctorInput GatherDoctorFacts(ClusterSession& session) {
  DoctorInput input;
  input.config = session.config;
  for (const ClusterNode& node : session.nodes) input.nodes.emplace_back().node = node.hostname;
  FanOutOptions options = session.fanout;
  options.progress_label = "doctor";
  Keep(FanOut<v1::GetInfoRequest, v1::NodeInfo>(
           *session.channels, session.nodes, options,
           [](const ClusterNode&) { return v1::GetInfoRequest(); },
           [](auto* async, auto* context, auto* request, auto* reply, auto done) {
             async->GetInfo(context, request, reply, std::move(done));
           }),
       "GetInfo", &DoctorNodeFacts::info, input.nodes);
  Keep(FanOut<v1::ProbeRequest, v1::ProbeReply>(
           *session.channels, session.nodes, options,
           [](const ClusterNode&) { return v1::ProbeRequest(); },
           [](auto* async, auto* context, auto* request, auto* reply, auto done) {
             async->Probe(context, request, reply, std::move(done));
           }),
       "Probe", &DoctorNodeFacts::probe, input.nodes);
  Keep(FanOut<v1::ReadNcclConfRequest, v1::ReadNcclConfReply>(
           *session.channels, session.nodes, options,
           [&](const ClusterNode& node) {
             v1::ReadNcclConfRequest request;
             request.set_user(node.user);
             request.set_conf_path(session.config.nccl.ConfPath());
             return request;
           },
           [](auto* async, auto* context, auto* request, auto* reply, auto done) {
             async->ReadNcclConf(context, request, reply, std::move(done));
           }),
       "ReadNcclConf", &DoctorNodeFacts::nccl_conf, input.nodes);
  absl::Time sent = absl::Now();
  auto facts = FanOut<v1::GetDoctorFactsRequest, v1::GetDoctorFactsReply>(
      *session.channels, session.nodes, options,
      [](const ClusterNode& node) {
        v1::GetDoctorFactsRequest request;
        request.add_users(node.user);
        return request;
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->GetDoctorFacts(context, request, reply, std::move(done));
      });
  for (size_t i = 0; i < facts.size(); ++i) {
    input.nodes[i].facts_sent = sent;
    input.nodes[i].facts_received = sent + facts[i].duration;
  }
  Keep(std::move(facts), "GetDoctorFacts", &DoctorNodeFacts::facts, input.nodes);
  RunMtuPings(session, PlanMtuPings(session.config, input.nodes), input.nodes);
  input.last_bandwidth = LoadBandwidthRecord(session.config_path);
  return input;
}

}  // namespace sparkfleet
