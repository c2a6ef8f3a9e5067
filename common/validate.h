// Validation of names and addresses that arrive in requests and config files.
//
// Every function is pure. Each returns OK or INVALID_ARGUMENT with a message that
// quotes the offending value and says what was expected, without a location: callers
// prefix "cluster.yaml:12:5: nodes[1].ip" or the request field's name.
#ifndef SPARKFLEET_COMMON_VALIDATE_H_
#define SPARKFLEET_COMMON_VALIDATE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// RFC 1123 host name: dot-separated labels of letters, digits and '-', no label
// starting or ending with '-', labels <= 63 bytes, whole name <= 253 bytes.
absl::Status ValidateHostname(absl::string_view name);

// A literal IPv4 (dotted quad) or IPv6 address, no zone, no prefix.
absl::Status ValidateIpAddress(absl::string_view address);
bool IsIpv6(absl::string_view address);
bool IsLoopbackAddress(absl::string_view address);  // 127.0.0.0/8, ::1

// A POSIX user name as useradd accepts it: [a-z_][a-z0-9_-]*[$]?, at most 32 bytes.
absl::Status ValidateUserName(absl::string_view name);

// A Linux network interface name as udev and netplan make them: 1..15 bytes (IFNAMSIZ)
// of letters, digits, '_', '-' and '.', not starting with '-' or '.'. The kernel would
// take more ("$(id)", "-evil"), but names go into argv, YAML and nccl.conf.
absl::Status ValidateInterfaceName(absl::string_view name);

// A TCP port 1..65535.
absl::Status ValidatePort(int64_t port);

struct HostPort {
  std::string host;  // without IPv6 brackets
  uint16_t port = 0;
};

// "host:port", "[v6]:port" or, with a default port, just "host". The host must be an
// IP address or an RFC 1123 name. Port 0 ("any free port") only with `allow_port_zero`,
// for listening addresses.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, uint16_t default_port = 0,
                                       bool allow_port_zero = false);

// "host:port" with brackets around IPv6, as gRPC target strings want.
std::string FormatHostPort(absl::string_view host, uint16_t port);

// Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
// U+10FFFF). Every proto3 string field must be: a reply holding other bytes does not
// parse on the caller's side, so text read from the node is checked before it goes in.
bool IsUtf8(absl::string_view text);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_VALIDATE_H_
