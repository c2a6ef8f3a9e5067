#include "common/sshd_options.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sparkfleet {
namespace {

constexpr size_t kMaxKeywordBytes = 64;
constexpr size_t kMaxValueBytes = 1024;

// How the value of an accepted sshd keyword is written.
enum class SshdValue {
  kWord,        // yes, no, prohibit-password, VERBOSE, AUTH: letters, digits and '-'
  kAmount,      // 3, 10:30:100, 2m, 1G 1h: a digit first, then letters, digits, ':', ' '
  kAlgorithms,  // +ssh-rsa, -aes128-cbc, publickey,password: a list of algorithm names
  kPatterns,    // nvidia admin@10.0.0.0/8 !guest*: user or group patterns
};

struct SshdKeyword {
  const char* lower;  // the keyword in lower case
  SshdValue value;
};

// The keywords ConfigureSsh accepts: authentication, forwarding, limits, algorithms and
// who may log in. Keywords that name a file or a command sshd would read or run
// (Banner, AuthorizedKeysCommand, AuthorizedKeysFile, ForceCommand, Subsystem,
// ChrootDirectory, HostKey, PidFile, ...) or that move sshd (Port, ListenAddress) are not.
constexpr SshdKeyword kSshdKeywords[] = {
    {"addressfamily", SshdValue::kWord},
    {"allowagentforwarding", SshdValue::kWord},
    {"allowgroups", SshdValue::kPatterns},
    {"allowstreamlocalforwarding", SshdValue::kWord},
    {"allowtcpforwarding", SshdValue::kWord},
    {"allowusers", SshdValue::kPatterns},
    {"authenticationmethods", SshdValue::kAlgorithms},
    {"casignaturealgorithms", SshdValue::kAlgorithms},
    {"challengeresponseauthentication", SshdValue::kWord},
    {"ciphers", SshdValue::kAlgorithms},
    {"clientalivecountmax", SshdValue::kAmount},
    {"clientaliveinterval", SshdValue::kAmount},
    {"compression", SshdValue::kWord},
    {"denygroups", SshdValue::kPatterns},
    {"denyusers", SshdValue::kPatterns},
    {"disableforwarding", SshdValue::kWord},
    {"gatewayports", SshdValue::kWord},
    {"gssapiauthentication", SshdValue::kWord},
    {"hostbasedauthentication", SshdValue::kWord},
    {"hostkeyalgorithms", SshdValue::kAlgorithms},
    {"ignorerhosts", SshdValue::kWord},
    {"kbdinteractiveauthentication", SshdValue::kWord},
    {"kerberosauthentication", SshdValue::kWord},
    {"kexalgorithms", SshdValue::kAlgorithms},
    {"logingracetime", SshdValue::kAmount},
    {"loglevel", SshdValue::kWord},
    {"macs", SshdValue::kAlgorithms},
    {"maxauthtries", SshdValue::kAmount},
    {"maxsessions", SshdValue::kAmount},
    {"maxstartups", SshdValue::kAmount},
    {"passwordauthentication", SshdValue::kWord},
    {"permitemptypasswords", SshdValue::kWord},
    {"permitrootlogin", SshdValue::kWord},
    {"permittty", SshdValue::kWord},
    {"permittunnel", SshdValue::kWord},
    {"printlastlog", SshdValue::kWord},
    {"printmotd", SshdValue::kWord},
    {"pubkeyacceptedalgorithms", SshdValue::kAlgorithms},
    {"pubkeyacceptedkeytypes", SshdValue::kAlgorithms},
    {"pubkeyauthentication", SshdValue::kWord},
    {"rekeylimit", SshdValue::kAmount},
    {"strictmodes", SshdValue::kWord},
    {"syslogfacility", SshdValue::kWord},
    {"tcpkeepalive", SshdValue::kWord},
    {"usedns", SshdValue::kWord},
    {"usepam", SshdValue::kWord},
    {"x11forwarding", SshdValue::kWord},
};

const SshdKeyword* FindSshdKeyword(absl::string_view lower) {
  for (const SshdKeyword& known : kSshdKeywords) {
    if (lower == known.lower) return &known;
  }
  return nullptr;
}

// True when every byte of `text` is a letter, a digit or one of `extra`.
bool OnlyChars(absl::string_view text, absl::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains(extra, c);
  });
}

// The value's shape for its keyword; no accepted keyword takes a path, a command or
// shell text, so none of them gets past these.
absl::Status CheckSshdValue(const SshdKeyword& keyword, absl::string_view value) {
  const unsigned char first = static_cast<unsigned char>(value.front());
  bool ok = false;
  absl::string_view expected;
  switch (keyword.value) {
    case SshdValue::kWord:
      ok = absl::ascii_isalpha(first) && OnlyChars(value, "-");
      expected = "a word such as yes, no or prohibit-password";
      break;
    case SshdValue::kAmount:
      ok = absl::ascii_isdigit(first) && OnlyChars(value, ": ");
      expected = "a number, optionally with units or ':' (3, 2m, 10:30:100)";
      break;
    case SshdValue::kAlgorithms:
      ok = OnlyChars(value, "+-^@.,_ ") && !absl::StrContains(value, "--");
      expected = "a list of algorithm or method names (+ssh-rsa, aes256-gcm@openssh.com)";
      break;
    case SshdValue::kPatterns:
      ok = first != '-' && first != '/' && OnlyChars(value, "_.@*?!/:%,- ") &&
           !absl::StrContains(value, "..");
      expected = "user or group patterns (nvidia admin@10.0.0.0/8 !guest*)";
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(value), "\" is not ", expected));
}

}  // namespace

absl::Status ValidateSshdOption(absl::string_view keyword, absl::string_view value) {
  if (keyword.empty() || keyword.size() > kMaxKeywordBytes ||
      !std::all_of(keyword.begin(), keyword.end(),
                   [](char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)); })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", absl::CHexEscape(keyword), "\" is not an sshd_config keyword (1 to 64 letters)"));
  }
  std::string lower = absl::AsciiStrToLower(keyword);
  if (lower == "match" || lower == "include") {
    return absl::InvalidArgumentError(
        absl::StrCat(keyword, " changes how the rest of sshd_config is read; not accepted"));
  }
  bool control = std::any_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (value.empty() || value.size() > kMaxValueBytes || control || absl::StrContains(value, '#') ||
      absl::StripAsciiWhitespace(value) != value) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(value.substr(0, 64)), value.size() > 64 ? "..." : "",
                     "\" is not a value sshd reads as one line: 1 to 1024 bytes holding no '#', "
                     "newline or control character and no blank at either end"));
  }
  const SshdKeyword* known = FindSshdKeyword(lower);
  if (known == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        keyword,
        " is not one of the sshd keywords sparkfleet sets (authentication, forwarding, "
        "limits, algorithms, AllowUsers and the like); keywords that name files or commands "
        "(Banner, AuthorizedKeysCommand, ForceCommand, Subsystem, ...) are not accepted"));
  }
  return CheckSshdValue(*known, value);
}

}  // namespace sparkfleet
