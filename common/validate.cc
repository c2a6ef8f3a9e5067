#include "common/validate.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sparkfleet {

absl::Status ValidateHostname(absl::string_view name) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(name), "\" is not a valid host name: ", why));
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 253) return bad("longer than 253 characters");
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty()) return bad("empty label (two dots, or a dot at an end)");
    if (label.size() > 63) return bad("a label is longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return bad("only letters, digits, '-' and '.' are allowed");
      }
    }
  }
  return absl::OkStatus();
}

bool IsIpv6(absl::string_view address) {
  in6_addr v6;
  return inet_pton(AF_INET6, std::string(address).c_str(), &v6) == 1;
}

absl::Status ValidateIpAddress(absl::string_view address) {
  std::string text(address);
  in_addr v4;
  in6_addr v6;
  // inet_pton stops at a NUL: "10.0.0.1\0\nx" must not pass as 10.0.0.1.
  if (text.find('\0') == std::string::npos &&
      (inet_pton(AF_INET, text.c_str(), &v4) == 1 || inet_pton(AF_INET6, text.c_str(), &v6) == 1)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(address), "\" is not an IPv4 or IPv6 address"));
}

bool IsLoopbackAddress(absl::string_view address) {
  std::string text(address);
  if (text.find('\0') != std::string::npos) return false;
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

absl::Status ValidateUserName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 32 &&
            (absl::ascii_islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (size_t i = 0; ok && i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    bool last_dollar = (c == '$' && i + 1 == name.size());
    ok = absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-' || last_dollar;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", absl::CHexEscape(name),
      "\" is not a valid user name (lower-case letters, digits, '_' and '-', at most 32)"));
}

absl::Status ValidatePort(int64_t port) {
  if (port >= 1 && port <= 65535) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("port ", port, " is not in 1..65535"));
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, uint16_t default_port,
                                       bool allow_port_zero) {
  HostPort out;
  absl::string_view host = text;
  absl::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": missing ']'"));
    }
    host = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": expected ':' after ']'"));
      }
      port = rest.substr(1);
    }
  } else if (size_t colon = text.rfind(':'); colon != absl::string_view::npos) {
    if (text.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\": put an IPv6 address in brackets, [addr]:port"));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty()) {
    if (default_port == 0) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" has no :port"));
    }
    out.port = default_port;
  } else {
    int value = 0;
    int lowest = allow_port_zero ? 0 : 1;
    if (!absl::SimpleAtoi(port, &value) || value < lowest || value > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\": port \"", port, "\" is not in ", lowest, "..65535"));
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (!ValidateIpAddress(host).ok() && !ValidateHostname(host).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\": \"", host, "\" is neither an IP address nor a host name"));
  }
  out.host = std::string(host);
  return out;
}

absl::Status ValidateInterfaceName(absl::string_view name) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(name), "\" is not a network interface name: ", why));
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 15) return invalid("longer than 15 bytes (IFNAMSIZ)");
  if (name == "." || name == "..") return invalid("\".\" and \"..\" are not allowed");
  // The kernel takes any other byte, but names go into argv (ping -I), netplan YAML and
  // nccl.conf: only what udev and netplan name interfaces with is accepted.
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return invalid("only letters, digits, '_', '-' and '.' are allowed");
    }
  }
  if (name.front() == '-' || name.front() == '.') {
    return invalid("it starts with '-' or '.' (it would read as an option or a hidden file)");
  }
  return absl::OkStatus();
}

bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and
    // code points past U+10FFFF (F4); later bytes are plain continuation bytes.
    size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
    unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
    if (lead < 0xC2 || lead > 0xF4 || text.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return false;
    }
    i += length;
  }
  return true;
}

std::string FormatHostPort(absl::string_view host, uint16_t port) {
  if (host.find(':') != absl::string_view::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

}  // namespace sparkfleet
