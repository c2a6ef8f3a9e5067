// DoctorGather: the facts `sparkctl doctor` checks, fetched from every selected node at
// once (GetInfo, Probe, ReadNcclConf and GetDoctorFacts, one fan-out each), then a
// do-not-fragment ping of MTU - 28 bytes from each node over each of its link interfaces
// to the next node in cluster.yaml order that has an address on the same subnet, and
// the last bandwidth `validate` recorded. Read-only on every node.
#ifndef SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_GATHER_H_
#define SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_GATHER_H_

#include <string>
#include <vector>

#include "coordinator/cluster_session.h"
#include "coordinator/doctor/doctor_checks.h"

namespace sparkfleet {

DoctorInput GatherDoctorFacts(ClusterSession& session);

// The interfaces whose MTU matters for the cluster link on a node: cluster.yaml's `link:`
// interfaces when it is on, else the cabled ConnectX-7 functions (a physical NIC backed
// by an RDMA device, with carrier). Pure.
std::vector<const v1::Nic*> LinkInterfaces(const ClusterConfig& config,
                                           const v1::ProbeReply& probe);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_DOCTOR_DOCTOR_GATHER_H_
