#include "node_agent/info/os_release.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sparkfleet {
namespace {

std::string Unquote(absl::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    char quote = value.front();
    value = value.substr(1, value.size() - 2);
    if (quote == '\'') return std::string(value);
    std::string out;
    for (size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      out.push_back(value[i]);
    }
    return out;
  }
  return std::string(value);
}

}  // namespace

absl::flat_hash_map<std::string, std::string> ParseOsRelease(absl::string_view text) {
  absl::flat_hash_map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) continue;
    out[std::string(line.substr(0, eq))] = Unquote(line.substr(eq + 1));
  }
  return out;
}

absl::flat_hash_map<std::string, std::string> ParseDpkgStatus(absl::string_view text) {
  absl::flat_hash_map<std::string, std::string> out;
  for (absl::string_view stanza : absl::StrSplit(text, "\n\n")) {
    absl::string_view package, version, status;
    for (absl::string_view line : absl::StrSplit(stanza, '\n')) {
      if (absl::ConsumePrefix(&line, "Package: "))
        package = line;
      else if (absl::ConsumePrefix(&line, "Version: "))
        version = line;
      else if (absl::ConsumePrefix(&line, "Status: "))
        status = line;
    }
    if (!package.empty() && absl::EndsWith(status, "ok installed")) {
      out[std::string(package)] = std::string(absl::StripAsciiWhitespace(version));
    }
  }
  return out;
}

}  // namespace sparkfleet
