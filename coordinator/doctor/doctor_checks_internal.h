// Shared by the doctor_checks_*.cc files, one per theme: the list every check adds its
// findings to, the themes' entry points, and what several checks read alike from a
// node's probe (the cluster link's interfaces, a Spark's port halves, NCCL's name
// lists). Not an API: callers include doctor_checks.h.
#ifndef SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_CHECKS_INTERNAL_H_
#define SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_CHECKS_INTERNAL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "coordinator/doctor/doctor_checks.h"

namespace sparkfleet::doctor_internal {

// The findings of every check, in the order the checks add them, and the facts they
// could not tell (one info finding "unknown" per kind of fact, listing the nodes).
class FindingList {
 public:
  void Add(Finding finding) { findings_.push_back(std::move(finding)); }
  void Add(std::string id, Severity severity, std::vector<std::string> nodes, std::string seen,
           std::string why, std::string fix);
  // `what` ("CmaTotal", "NCCL version") could not be read on `node` because `why`.
  void Unknown(const std::string& what, const std::string& node, const std::string& why);
  // Errors, then warnings, then info (unknowns last), each in the order added.
  std::vector<Finding> Take();

 private:
  std::vector<Finding> findings_;
  // what -> (node, why), in the order first seen.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> unknown_;
};

// The themes. Each skips a node whose reply it needs is missing: RunDoctorChecks has
// already reported that reply as unknown.
void CheckHardwareAndLink(const DoctorInput& input, FindingList* out);  // _hardware.cc
void CheckVersions(const DoctorInput& input, FindingList* out);         // _versions.cc
void CheckNcclConfig(const DoctorInput& input, FindingList* out);       // _nccl.cc
void CheckHost(const DoctorInput& input, FindingList* out);             // _host.cc

// ---- Probe views (doctor_checks_link.cc)

// The interfaces the cluster link runs over on one node.
struct LinkInterfaces {
  std::vector<const v1::Nic*> nics;  // in link.interfaces order, else the probe's
  std::vector<std::string> missing;  // link.interfaces names this node lacks
};

// link.interfaces by name when the link section is enabled and names any, else the
// cabled ConnectX-7 interfaces: physical NICs with an RDMA device whose port is ACTIVE.
LinkInterfaces FindLinkInterfaces(const ClusterConfig& config, const v1::ProbeReply& probe);

// True when `nic` carries RoCE: an RDMA device of it has an Ethernet port.
bool IsRoceInterface(const v1::ProbeReply& probe, const v1::Nic& nic);

// One physical QSFP port of a Spark: the two RDMA devices (PCIe functions in two PCI
// domains, e.g. rocep1s0f1 in 0000 and roceP2p1s0f1 in 0002) that together carry it.
struct SparkPort {
  std::string name;                                      // phys_port_name, "p1"
  const v1::RdmaDevice* halves[2] = {nullptr, nullptr};  // PCI order
};

// Every Spark port of `probe`: RDMA devices whose netdevs share a phys_port_name and
// whose PCI addresses differ only in the domain, in pairs.
std::vector<SparkPort> FindSparkPorts(const v1::ProbeReply& probe);

// "4: ACTIVE" words for a port state: "ACTIVE", "DOWN", ...
std::string PortStateName(v1::RdmaPortState state);

// ---- NCCL name lists (doctor_checks_nccl.cc)

// NCCL_SOCKET_IFNAME / NCCL_IB_HCA as NCCL parses them (parseStringList, matchIfList):
// a leading '^' excludes, then a leading '=' asks for exact names, else each
// comma-separated entry is a prefix; an entry may end in ":port".
struct NcclNameList {
  bool exclude = false;
  bool exact = false;
  std::vector<std::pair<std::string, int>> entries;  // (name or prefix, port or -1)
};
NcclNameList ParseNcclNameList(absl::string_view value);
// Whether NCCL uses `name` (port `port`, -1 for interfaces) under `list`.
bool NcclNameListSelects(const NcclNameList& list, absl::string_view name, int port = -1);

// ---- Small shared pieces (doctor_checks.cc)

// "spark-001: a; spark-002: b".
std::string PerNode(const std::vector<std::pair<std::string, std::string>>& node_texts);

// The names of `nodes`, in order, each once.
std::vector<std::string> NodeNames(const std::vector<std::pair<std::string, std::string>>& nodes);

// `names` in cluster.yaml order (input.nodes), each once; names of no node last.
std::vector<std::string> InClusterOrder(const DoctorInput& input,
                                        const std::vector<std::string>& names);

}  // namespace sparkfleet::doctor_internal

#endif  // SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_CHECKS_INTERNAL_H_
