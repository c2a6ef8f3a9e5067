#include "common/passwd.h"

#include <cstdint>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace sparkfleet {

std::optional<PasswdEntry> FindPasswdEntry(absl::string_view passwd_text, absl::string_view user) {
  for (absl::string_view line : absl::StrSplit(passwd_text, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() < 7 || fields[0] != user) continue;
    uint32_t uid = 0;
    uint32_t gid = 0;
    if (!absl::SimpleAtoi(fields[2], &uid) || !absl::SimpleAtoi(fields[3], &gid) ||
        fields[5].empty()) {
      return std::nullopt;
    }
    return PasswdEntry{std::string(fields[0]), uid, gid, std::string(fields[5]),
                       std::string(fields[6])};
  }
  return std::nullopt;
}

}  // namespace sparkfleet
