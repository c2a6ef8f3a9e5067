#include "node_agent/ops/ssh_keys.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/validate.h"
#include "node_agent/ops/sshd_hardening.h"

namespace sparkfleet {
namespace {

constexpr absl::string_view kKeyTypes[] = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
};
constexpr size_t kMaxKeyLineBytes = 16 << 10;  // a 16384-bit RSA key is ~2.8 KiB
constexpr size_t kMaxCommentBytes = 256;
constexpr int kMaxKeys = 4096;
constexpr int kMaxKnownHosts = 4096;
constexpr int kMaxNamesPerHost = 64;
constexpr int kMaxSshdOptions = 128;

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

bool HasControlCharacter(absl::string_view text, bool allow_tab = false) {
  for (char c : text) {
    if (allow_tab && c == '\t') continue;
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The text up to the first blank; `rest` moves past it and the blanks after it.
absl::string_view NextField(absl::string_view* rest) {
  size_t end = rest->find_first_of(" \t");
  absl::string_view field = rest->substr(0, end);
  *rest = end == absl::string_view::npos ? absl::string_view()
                                         : absl::StripLeadingAsciiWhitespace(rest->substr(end));
  return field;
}

bool IsBase64(absl::string_view text) {
  absl::string_view data = absl::StripSuffix(absl::StripSuffix(text, "="), "=");
  if (data.empty() || text.size() % 4 != 0) return false;
  for (char c : data) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  return true;
}

// What is wrong with the decoded key data for a key of `type`, or "" when nothing is:
// it starts with the type (uint32 length, then the name) and key material follows (for
// ed25519 exactly one 32-byte string).
std::string KeyDataProblem(absl::string_view type, absl::string_view blob) {
  std::string raw;
  if (!absl::Base64Unescape(blob, &raw) || raw.size() < 4) return "it does not decode";
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length = (length << 8) | static_cast<unsigned char>(raw[i]);
  if (length > raw.size() - 4) return "it is cut short";
  absl::string_view inside = absl::string_view(raw).substr(4, length);
  if (inside != type) return absl::StrCat("it holds a ", absl::CHexEscape(inside), " key");
  const size_t material = raw.size() - 4 - length;
  if (material == 0 || (type == "ssh-ed25519" && material != 4 + 32)) return "it is cut short";
  return "";
}

bool IsKnownType(absl::string_view type) {
  for (absl::string_view known : kKeyTypes) {
    if (type == known) return true;
  }
  return false;
}

absl::Status ValidateHost(absl::string_view host) {
  if (ValidateIpAddress(host).ok() || ValidateHostname(host).ok()) return absl::OkStatus();
  return Invalid(
      absl::StrCat("\"", absl::CHexEscape(host), "\" is neither an IP address nor a host name"));
}

absl::Status Field(absl::string_view field, const absl::Status& status) {
  if (status.ok()) return status;
  return Invalid(absl::StrCat(field, ": ", status.message()));
}

absl::Status ValidateKnownHost(const v1::KnownHost& host, absl::string_view field) {
  if (host.names().empty()) return Invalid(absl::StrCat(field, ".names: at least one is required"));
  if (host.names_size() > kMaxNamesPerHost) {
    return Invalid(
        absl::StrCat(field, ".names: ", host.names_size(), " names; at most ", kMaxNamesPerHost));
  }
  for (int i = 0; i < host.names_size(); ++i) {
    absl::Status name = ValidateKnownHostName(host.names(i));
    if (!name.ok()) return Field(absl::StrCat(field, ".names[", i, "]"), name);
  }
  return Field(absl::StrCat(field, ".public_key"), ParseSshPublicKey(host.public_key()).status());
}

}  // namespace

std::string SshPublicKey::Line() const {
  return comment.empty() ? absl::StrCat(type, " ", blob)
                         : absl::StrCat(type, " ", blob, " ", comment);
}

absl::StatusOr<SshPublicKey> ParseSshPublicKey(absl::string_view line) {
  if (line.size() > kMaxKeyLineBytes) {
    return Invalid(
        absl::StrCat("the key line is ", line.size(), " bytes; at most ", kMaxKeyLineBytes));
  }
  absl::string_view rest = absl::StripAsciiWhitespace(line);  // a trailing '\n' is fine
  if (HasControlCharacter(rest, /*allow_tab=*/true)) {
    return Invalid(
        "the key line holds a newline or another control character; give one key "
        "per entry");
  }
  if (rest.empty()) return Invalid("the key line is empty");
  SshPublicKey key;
  key.type = std::string(NextField(&rest));
  if (!IsKnownType(key.type)) {
    return Invalid(absl::StrCat("key type \"", absl::CHexEscape(key.type), "\" is not one of ",
                                absl::StrJoin(kKeyTypes, ", "),
                                " (options such as from= before the type are not accepted)"));
  }
  key.blob = std::string(NextField(&rest));
  if (!IsBase64(key.blob)) {
    return Invalid(absl::StrCat("the ", key.type, " key has no base64 key data after its type"));
  }
  if (std::string problem = KeyDataProblem(key.type, key.blob); !problem.empty()) {
    return Invalid(absl::StrCat("the key data is not a ", key.type, " key (", problem,
                                "); was the line cut or pasted together?"));
  }
  key.comment = std::string(rest);
  return key;
}

absl::Status ValidateKnownHostName(absl::string_view name) {
  if (!absl::StartsWith(name, "[")) return ValidateHost(name);
  size_t close = name.find("]:");
  if (close == absl::string_view::npos) {
    return Invalid(absl::StrCat("\"", absl::CHexEscape(name), "\" is not \"[host]:port\""));
  }
  if (absl::Status host = ValidateHost(name.substr(1, close - 1)); !host.ok()) return host;
  int port = 0;
  if (!absl::SimpleAtoi(name.substr(close + 2), &port) || !ValidatePort(port).ok()) {
    return Invalid(absl::StrCat("\"", absl::CHexEscape(name), "\" has no port in 1..65535"));
  }
  if (port == 22) {
    return Invalid(absl::StrCat("\"", name,
                                "\": for port 22 write the plain name; ssh never "
                                "looks up [host]:22"));
  }
  return absl::OkStatus();
}

std::string RenderAuthorizedKeys(const std::vector<std::string>& key_lines) {
  std::string body;
  std::set<std::pair<std::string, std::string>> seen;
  for (const std::string& line : key_lines) {
    absl::StatusOr<SshPublicKey> key = ParseSshPublicKey(line);
    if (!key.ok() || !seen.insert({key->type, key->blob}).second) continue;
    absl::StrAppend(&body, key->Line(), "\n");
  }
  return body;
}

std::string RenderKnownHosts(const google::protobuf::RepeatedPtrField<v1::KnownHost>& hosts) {
  std::string body;
  for (const v1::KnownHost& host : hosts) {
    absl::StatusOr<SshPublicKey> key = ParseSshPublicKey(host.public_key());
    if (!key.ok()) continue;
    absl::StrAppend(&body, absl::StrJoin(host.names(), ","), " ", key->type, " ", key->blob, "\n");
  }
  return body;
}

int CountAuthorizedKeys(absl::string_view authorized_keys) {
  int keys = 0;
  for (absl::string_view line : absl::StrSplit(authorized_keys, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line.front() != '#') ++keys;
  }
  return keys;
}

absl::Status ValidateConfigureSshRequest(const v1::ConfigureSshRequest& request) {
  constexpr absl::string_view kPrefix = "ConfigureSshRequest.";
  if (request.user().empty()) return Invalid(absl::StrCat(kPrefix, "user: a user is required"));
  if (absl::Status user = ValidateUserName(request.user()); !user.ok()) {
    return Field(absl::StrCat(kPrefix, "user"), user);
  }
  if (request.authorized_keys_size() > kMaxKeys || request.known_hosts_size() > kMaxKnownHosts) {
    return Invalid(absl::StrCat(kPrefix, "at most ", kMaxKeys, " authorized keys and ",
                                kMaxKnownHosts, " known hosts per call"));
  }
  for (int i = 0; i < request.authorized_keys_size(); ++i) {
    absl::Status key = ParseSshPublicKey(request.authorized_keys(i)).status();
    if (!key.ok()) return Field(absl::StrCat(kPrefix, "authorized_keys[", i, "]"), key);
  }
  for (int i = 0; i < request.known_hosts_size(); ++i) {
    absl::Status host =
        ValidateKnownHost(request.known_hosts(i), absl::StrCat(kPrefix, "known_hosts[", i, "]"));
    if (!host.ok()) return host;
  }
  if (request.sshd_options_size() > kMaxSshdOptions) {
    return Invalid(absl::StrCat(kPrefix, "sshd_options: at most ", kMaxSshdOptions));
  }
  std::set<std::string> keywords;
  for (const auto& [keyword, value] : request.sshd_options()) {
    std::string field = absl::StrCat(kPrefix, "sshd_options[\"", absl::CHexEscape(keyword), "\"]");
    if (absl::Status option = ValidateSshdOption(keyword, value); !option.ok()) {
      return Field(field, option);
    }
    if (!keywords.insert(absl::AsciiStrToLower(keyword)).second) {
      return Invalid(absl::StrCat(field,
                                  ": given twice in different case (sshd keywords "
                                  "ignore case)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGenerateSshKeyRequest(const v1::GenerateSshKeyRequest& request) {
  constexpr absl::string_view kPrefix = "GenerateSshKeyRequest.";
  if (request.user().empty()) return Invalid(absl::StrCat(kPrefix, "user: a user is required"));
  if (absl::Status user = ValidateUserName(request.user()); !user.ok()) {
    return Field(absl::StrCat(kPrefix, "user"), user);
  }
  // The comment goes into ssh-keygen's argv and the .pub line every node's
  // authorized_keys gets: plain text only, so it can never read as an option or shell.
  const std::string& comment = request.comment();
  const bool plain = std::all_of(comment.begin(), comment.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           absl::StrContains(" @._+-:=,()", c);
  });
  if (comment.size() > kMaxCommentBytes || !plain || absl::StartsWith(comment, "-")) {
    return Invalid(absl::StrCat(kPrefix, "comment: at most ", kMaxCommentBytes,
                                " bytes of letters, digits, spaces and \"@ . _ + - : = , ( )\", "
                                "not starting with '-' (\"nvidia@spark-001\")"));
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
