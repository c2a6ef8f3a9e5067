// The sshd_config keywords sparkfleet writes into its sshd drop-in, and the shape of
// their values. Shared by cluster.yaml's `ssh.options` (common/cluster_config_setup.h)
// and the agent's ConfigureSsh, so a config the coordinator accepts is one the agent
// accepts too.
#ifndef SPARKFLEET_COMMON_SSHD_OPTIONS_H_
#define SPARKFLEET_COMMON_SSHD_OPTIONS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// INVALID_ARGUMENT unless `keyword` is one of the sshd keywords sparkfleet sets
// (authentication, forwarding, limits, algorithms, AllowUsers/DenyUsers and the like; any
// case) and `value` is written as that keyword's values are: a word (yes,
// prohibit-password), an amount (3, 2m, 10:30:100), an algorithm list (+ssh-rsa) or user
// patterns (nvidia admin@10.0.0.0/8), at most 1024 bytes. Keywords that name a file or
// a command sshd reads or runs (Banner, AuthorizedKeysCommand, ForceCommand, Subsystem,
// ...) and those that change how the file is read (Match, Include) are refused.
[[nodiscard]] absl::Status ValidateSshdOption(absl::string_view keyword, absl::string_view value);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_SSHD_OPTIONS_H_
