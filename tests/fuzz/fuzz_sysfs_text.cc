// The text of single sysfs and procfs files the probe reads (port rate, state and
// phys_state, link layer, GID and GID type, operstate, PCIe link speed, PCI addresses,
// CPU lists, fixture address lines) and the resolved sysfs device paths the topology
// matrix is built from.
//
// Every parser sees the whole input; the first two lines are also read as device paths.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/str_split.h"
#include "node_agent/probe/sysfs_text.h"
#include "node_agent/probe/topology.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

template <typename T>
void CheckParse(const absl::StatusOr<T>& value, absl::string_view parser) {
  if (!value.ok()) {
    sparkfleet::fuzz::CheckError(value.status(), absl::StatusCode::kInvalidArgument, parser);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  absl::string_view text = fuzz::AsText(data, size);

  CheckParse(ParseRdmaRate(text), "ParseRdmaRate");
  CheckParse(ParseRdmaPortState(text), "ParseRdmaPortState");
  CheckParse(ParseRdmaPhysState(text), "ParseRdmaPhysState");
  CheckParse(ParseRdmaLinkLayer(text), "ParseRdmaLinkLayer");
  CheckParse(ParseGidType(text), "ParseGidType");
  CheckParse(ParseOperState(text), "ParseOperState");
  CheckParse(ParsePcieLinkSpeed(text), "ParsePcieLinkSpeed");
  absl::StatusOr<int> cpus = CountCpuList(text);
  CheckParse(cpus, "CountCpuList");
  if (cpus.ok()) fuzz::Check(*cpus >= 0, "CountCpuList counted below zero", text);
  absl::StatusOr<Gid> gid = ParseGid(text);
  CheckParse(gid, "ParseGid");
  if (gid.ok()) fuzz::Check(gid->text.size() == 39, "a parsed GID is not 39 characters", gid->text);
  absl::StatusOr<InterfaceAddress> address = ParseInterfaceAddressLine(text);
  CheckParse(address, "ParseInterfaceAddressLine");
  if (address.ok()) fuzz::CheckWireRoundTrip(address->address, "ParseInterfaceAddressLine");
  if (IsPciAddress(text)) fuzz::Check(text.size() == 12, "a PCI address that is not 12 bytes");

  std::vector<absl::string_view> lines = absl::StrSplit(text, absl::MaxSplits('\n', 2));
  std::optional<PciPlace> a = ParsePciPlace(lines[0]);
  std::optional<PciPlace> b = ParsePciPlace(lines.size() > 1 ? lines[1] : lines[0]);
  if (a && b) {
    for (bool single_numa_node : {true, false}) {
      v1::TopologyLevel ab = PciDistance(*a, *b, single_numa_node);
      v1::TopologyLevel ba = PciDistance(*b, *a, single_numa_node);
      fuzz::Check(ab == ba, "PciDistance is not symmetric", text);
    }
  }
  return 0;
}
