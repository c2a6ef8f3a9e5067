// Parsers for the text of single sysfs/procfs files the probe reads. Pure: a value or
// INVALID_ARGUMENT saying what the text was and what was expected; the caller adds the
// path and turns the error into a probe warning.
#ifndef SPARKFLEET_NODE_AGENT_PROBE_SYSFS_TEXT_H_
#define SPARKFLEET_NODE_AGENT_PROBE_SYSFS_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// "200 Gb/sec (4X HDR)" -> 200; "2.5 Gb/sec (1X SDR)" -> 2.5.
absl::StatusOr<double> ParseRdmaRate(absl::string_view text);

// "4: ACTIVE" -> RDMA_PORT_STATE_ACTIVE (the number decides; the word is checked).
absl::StatusOr<v1::RdmaPortState> ParseRdmaPortState(absl::string_view text);

// "5: LinkUp" -> RDMA_PHYS_STATE_LINK_UP.
absl::StatusOr<v1::RdmaPhysState> ParseRdmaPhysState(absl::string_view text);

// "InfiniBand" / "Ethernet".
absl::StatusOr<v1::RdmaLinkLayer> ParseRdmaLinkLayer(absl::string_view text);

// "IB/RoCE v1" / "RoCE v2".
absl::StatusOr<v1::GidType> ParseGidType(absl::string_view text);

struct Gid {
  std::string text;          // as sysfs shows it, 8 groups of 4 hex digits
  bool empty = false;        // all zero: an unused slot
  std::string ipv4_address;  // set for ::ffff:a.b.c.d
};
// "fe80:0000:0000:0000:b859:9fff:fe4a:1c0e" -> Gid.
absl::StatusOr<Gid> ParseGid(absl::string_view text);

// "up", "down", "unknown", ... -> NicOperState.
absl::StatusOr<v1::NicOperState> ParseOperState(absl::string_view text);

// "32.0 GT/s PCIe" or "8 GT/s" -> 32.0 / 8.0; "Unknown" -> 0.
absl::StatusOr<double> ParsePcieLinkSpeed(absl::string_view text);

// "0002:01:00.1" -> true. Domain:bus:device.function, lower-case hex.
bool IsPciAddress(absl::string_view text);

// "0-19", "0-9,20-29", "" -> the CPU count (for validation); error on garbage.
absl::StatusOr<int> CountCpuList(absl::string_view text);

// One line of the fixture address file (etc/sparkfleet/fixture-addresses):
// "IFNAME ADDRESS/PREFIX".
struct InterfaceAddress {
  std::string interface;
  v1::IpAddress address;
};
absl::StatusOr<InterfaceAddress> ParseInterfaceAddressLine(absl::string_view line);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_PROBE_SYSFS_TEXT_H_
