// Accounts from passwd(5) text (the node's /etc/passwd, read through Env so a sandbox's
// own file is used): whose home holds ~/.ssh, and which uid/gid must own it. Pure.
#ifndef SPARKFLEET_COMMON_PASSWD_H_
#define SPARKFLEET_COMMON_PASSWD_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sparkfleet {

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
};

// The entry of `user` in `passwd_text`; nullopt when it is not there or its line is
// malformed (fewer than 7 fields, non-numeric ids, empty home).
std::optional<PasswdEntry> FindPasswdEntry(absl::string_view passwd_text, absl::string_view user);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_PASSWD_H_
