#include "coordinator/validate/validation_input.h"

#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/validate.h"

namespace sparkfleet {

absl::Status CheckValidateRequest(const v1::ValidateRequest& request) {
  for (int test : request.tests()) {
    if (!v1::ValidateTest_IsValid(test) || test == v1::VALIDATE_TEST_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("ValidateRequest.tests: ", test, " is not a ValidateTest"));
    }
  }
  if (!request.interface().empty()) {
    if (absl::Status s = ValidateInterfaceName(request.interface()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ValidateRequest.interface: ", s.message()));
    }
  }
  if (request.pairs() == v1::PAIR_SELECTION_SAMPLE && request.sample_k() == 0) {
    return absl::InvalidArgumentError(
        "ValidateRequest.sample_k: PAIR_SELECTION_SAMPLE needs the number of targets per node");
  }
  if (request.bandwidth_duration_s() > 300) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ValidateRequest.bandwidth_duration_s: ", request.bandwidth_duration_s(), " is over 300"));
  }
  if (request.parallel_streams() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ValidateRequest.parallel_streams: ", request.parallel_streams(), " is over 128"));
  }
  return absl::OkStatus();
}

bool ClusterSshKeyExists(const ClusterConfig& config) {
  return !config.ssh_key_path.empty() && access(config.ssh_key_path.c_str(), R_OK) == 0;
}

absl::StatusOr<std::string> InterfaceAddress(const v1::ProbeReply& probe,
                                             const std::string& interface) {
  std::vector<std::string> names;
  for (const v1::Nic& nic : probe.nics()) {
    names.push_back(nic.name());
    if (nic.name() != interface) continue;
    for (const v1::IpAddress& a : nic.addresses()) {
      if (!a.ipv6()) return a.address();
    }
    for (const v1::IpAddress& a : nic.addresses()) {
      if (!absl::StartsWithIgnoreCase(a.address(), "fe80:")) return a.address();
    }
    return absl::NotFoundError(absl::StrCat(interface, " has no IPv4 or global IPv6 address"));
  }
  return absl::NotFoundError(
      absl::StrCat("the node has no interface ", interface,
                   " (it has: ", names.empty() ? "none" : absl::StrJoin(names, ", "), ")",
                   probe.sandboxed_root() ? "; its hardware is read from its --root tree" : ""));
}

}  // namespace sparkfleet
