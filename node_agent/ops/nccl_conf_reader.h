// ReadNcclConf: every nccl.conf NCCL would read on this node, parsed the way NCCL parses
// them, with the lines it would misread flagged, and the value NCCL would end up using
// for each key.
//
// NCCL (src/misc/param.cc) reads NCCL_CONF_FILE if set, else ~/.nccl.conf (home from the
// passwd entry of the process's user), then /etc/nccl.conf. A line is skipped when it
// starts with '#' or has no '='; otherwise everything before the first '=' is the name and
// everything after it (minus the newline) the value, untrimmed, and it is applied with
// setenv(..., overwrite=0): the environment wins, then the first file, and within a file
// the first line for a key.
#ifndef SPARKFLEET_NODE_AGENT_OPS_NCCL_CONF_READER_H_
#define SPARKFLEET_NODE_AGENT_OPS_NCCL_CONF_READER_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// What of the agent process itself NCCL would see if it ran in it.
struct NcclProcessFacts {
  // NCCL_* variables (NCCL_CONF_FILE included), in environment order.
  std::vector<std::pair<std::string, std::string>> environment;
  uid_t uid = 0;  // whose home holds ~/.nccl.conf when the request names no user
};

// This process's NCCL_* environment and user id.
NcclProcessFacts CurrentNcclProcessFacts();

// One file's text as NCCL reads it: settings with line numbers (every line NCCL would
// apply, however odd its name) and the problems: whitespace NCCL keeps (around '=',
// trailing, CR line ends, inline "# comments", indented comments), lines without '=',
// unknown keys (with a suggestion for typos), and duplicates (NCCL keeps the first). Pure.
v1::NcclConfFile ParseNcclConfText(absl::string_view text, absl::string_view path);

// The home directory of `user` in passwd(5) text, or of `uid` when `user` is empty;
// nullopt when there is no such entry. Pure.
std::optional<std::string> HomeFromPasswd(absl::string_view passwd_text, absl::string_view user,
                                          uid_t uid);

// INVALID_ARGUMENT for a malformed user name or conf_path.
[[nodiscard]] absl::Status ValidateReadNcclConfRequest(const v1::ReadNcclConfRequest& request);

// Reads the files through `env` and answers in NCCL's order (see agent.proto). A named
// user without a passwd entry is FAILED_PRECONDITION; in a tree without /etc/passwd (a
// fixture root) homes are /root and /home/<user>. A missing file is present=false.
// Settings overridden by a source NCCL applies first are flagged SHADOWED.
// REQUIRES: ValidateReadNcclConfRequest(request) is OK.
[[nodiscard]] absl::StatusOr<v1::ReadNcclConfReply> ReadNcclConf(
    Env& env, const v1::ReadNcclConfRequest& request, const NcclProcessFacts& process);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_NCCL_CONF_READER_H_
