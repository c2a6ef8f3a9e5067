#include "node_agent/probe/sysfs_text.h"

#include <arpa/inet.h>

#include <cstdint>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

absl::Status Bad(absl::string_view what, absl::string_view text, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", absl::CEscape(text), "\" is not ", expected));
}

// "N: WORD" -> N, checked against `words` (index = N).
absl::StatusOr<int> ParseNumberedState(absl::string_view what, absl::string_view text,
                                       const std::vector<absl::string_view>& words) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(trimmed, absl::MaxSplits(':', 1));
  int number = 0;
  if (!absl::SimpleAtoi(parts.first, &number) || number <= 0 ||
      number >= static_cast<int>(words.size()) ||
      !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts.second), words[number])) {
    return Bad(what, text, "\"<number>: <state>\" as the kernel writes it");
  }
  return number;
}

}  // namespace

absl::StatusOr<double> ParseRdmaRate(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  std::vector<absl::string_view> words = absl::StrSplit(trimmed, ' ', absl::SkipEmpty());
  double rate = 0;
  if (words.size() < 2 || words[1] != "Gb/sec" || !absl::SimpleAtod(words[0], &rate) || rate < 0) {
    return Bad("rate", text, "\"<n> Gb/sec (<width> <speed>)\"");
  }
  return rate;
}

absl::StatusOr<v1::RdmaPortState> ParseRdmaPortState(absl::string_view text) {
  absl::StatusOr<int> n = ParseNumberedState(
      "port state", text, {"", "DOWN", "INIT", "ARMED", "ACTIVE", "ACTIVE_DEFER"});
  if (!n.ok()) return n.status();
  return static_cast<v1::RdmaPortState>(*n);
}

absl::StatusOr<v1::RdmaPhysState> ParseRdmaPhysState(absl::string_view text) {
  absl::StatusOr<int> n =
      ParseNumberedState("phys_state", text,
                         {"", "Sleep", "Polling", "Disabled", "PortConfigurationTraining", "LinkUp",
                          "LinkErrorRecovery", "Phy Test"});
  if (!n.ok()) return n.status();
  return static_cast<v1::RdmaPhysState>(*n);
}

absl::StatusOr<v1::RdmaLinkLayer> ParseRdmaLinkLayer(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed == "InfiniBand") return v1::RDMA_LINK_LAYER_INFINIBAND;
  if (trimmed == "Ethernet") return v1::RDMA_LINK_LAYER_ETHERNET;
  return Bad("link_layer", text, "InfiniBand or Ethernet");
}

absl::StatusOr<v1::GidType> ParseGidType(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed == "IB/RoCE v1") return v1::GID_TYPE_IB_ROCE_V1;
  if (trimmed == "RoCE v2") return v1::GID_TYPE_ROCE_V2;
  return Bad("GID type", text, "\"IB/RoCE v1\" or \"RoCE v2\"");
}

absl::StatusOr<Gid> ParseGid(absl::string_view text) {
  Gid gid;
  gid.text = std::string(absl::StripAsciiWhitespace(text));
  std::vector<absl::string_view> groups = absl::StrSplit(gid.text, ':');
  bool shape_ok = groups.size() == 8;
  for (absl::string_view group : groups) {
    shape_ok = shape_ok && group.size() == 4;
    for (char c : group) shape_ok = shape_ok && absl::ascii_isxdigit(static_cast<unsigned char>(c));
  }
  in6_addr address;
  if (!shape_ok || inet_pton(AF_INET6, gid.text.c_str(), &address) != 1) {
    return Bad("GID", text, "8 groups of 4 hex digits");
  }
  gid.empty = IN6_IS_ADDR_UNSPECIFIED(&address);
  if (IN6_IS_ADDR_V4MAPPED(&address)) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address.s6_addr[12], buf, sizeof buf);
    gid.ipv4_address = buf;
  }
  return gid;
}

absl::StatusOr<v1::NicOperState> ParseOperState(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (trimmed == "up") return v1::NIC_OPER_STATE_UP;
  if (trimmed == "down") return v1::NIC_OPER_STATE_DOWN;
  if (trimmed == "unknown") return v1::NIC_OPER_STATE_UNKNOWN;
  if (trimmed == "notpresent") return v1::NIC_OPER_STATE_NOT_PRESENT;
  if (trimmed == "lowerlayerdown") return v1::NIC_OPER_STATE_LOWER_LAYER_DOWN;
  if (trimmed == "testing") return v1::NIC_OPER_STATE_TESTING;
  if (trimmed == "dormant") return v1::NIC_OPER_STATE_DORMANT;
  return Bad("operstate", text,
             "one of up, down, unknown, notpresent, lowerlayerdown, "
             "testing, dormant");
}

absl::StatusOr<double> ParsePcieLinkSpeed(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  if (absl::StartsWithIgnoreCase(trimmed, "unknown")) return 0.0;
  std::vector<absl::string_view> words = absl::StrSplit(trimmed, ' ', absl::SkipEmpty());
  double speed = 0;
  if (words.size() < 2 || words[1] != "GT/s" || !absl::SimpleAtod(words[0], &speed)) {
    return Bad("PCIe link speed", text, "\"<n> GT/s[ PCIe]\"");
  }
  return speed;
}

bool IsPciAddress(absl::string_view text) {
  // dddd:bb:dd.f
  if (text.size() != 12 || text[4] != ':' || text[7] != ':' || text[10] != '.') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11}) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

absl::StatusOr<int> CountCpuList(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  int64_t count = 0;  // ranges up to INT_MAX each: counted wide, then checked
  for (absl::string_view range : absl::StrSplit(trimmed, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> ends = absl::StrSplit(range, '-');
    int first = 0, last = 0;
    if (!absl::SimpleAtoi(ends.first, &first)) return Bad("CPU list", text, "like \"0-19,40\"");
    last = first;
    if (!ends.second.empty() && !absl::SimpleAtoi(ends.second, &last)) {
      return Bad("CPU list", text, "like \"0-19,40\"");
    }
    if (last < first) return Bad("CPU list", text, "ranges low-high");
    count += int64_t{last} - first + 1;
    if (count > std::numeric_limits<int>::max()) return Bad("CPU list", text, "a CPU count");
  }
  return static_cast<int>(count);
}

absl::StatusOr<InterfaceAddress> ParseInterfaceAddressLine(absl::string_view line) {
  std::vector<absl::string_view> words =
      absl::StrSplit(absl::StripAsciiWhitespace(line), absl::ByAnyChar(" \t"), absl::SkipEmpty());
  InterfaceAddress out;
  std::pair<absl::string_view, absl::string_view> cidr;
  uint32_t prefix = 0;
  if (words.size() == 2) cidr = absl::StrSplit(words[1], absl::MaxSplits('/', 1));
  if (words.size() != 2 || !ValidateIpAddress(cidr.first).ok() ||
      !absl::SimpleAtoi(cidr.second, &prefix) || prefix > (IsIpv6(cidr.first) ? 128u : 32u)) {
    return Bad("address line", line, "\"IFNAME ADDRESS/PREFIX\"");
  }
  out.interface = std::string(words[0]);
  out.address.set_address(std::string(cidr.first));
  out.address.set_prefix_length(prefix);
  out.address.set_ipv6(IsIpv6(cidr.first));
  return out;
}

}  // namespace sparkfleet
