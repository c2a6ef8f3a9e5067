// The NCCL_* variable names ReadNcclConf knows, so a misspelt key in nccl.conf is flagged
// instead of being silently ignored by NCCL.
#ifndef SPARKFLEET_NODE_AGENT_OPS_NCCL_KNOWN_VARIABLES_H_
#define SPARKFLEET_NODE_AGENT_OPS_NCCL_KNOWN_VARIABLES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sparkfleet {

// True for a variable NCCL 2.18-2.28 reads (its NCCL_PARAM and getenv names), older
// names users still carry (NCCL_IB_GDR_LEVEL, NCCL_LL_THRESHOLD, ...), the plugin and
// tuner variables, and NCCL_* names PyTorch reads. Case-sensitive, as getenv is.
bool IsKnownNcclVariable(absl::string_view key);

// The known name closest to `key` when it looks like a typo of one; "" otherwise.
std::string SuggestNcclVariable(absl::string_view key);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_NCCL_KNOWN_VARIABLES_H_
