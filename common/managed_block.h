// Managed blocks: the part of a shared text file (/etc/hosts, authorized_keys,
// known_hosts, fstab) that sparkfleet owns, between two marker lines:
//
//   # BEGIN sparkfleet
//   10.0.0.1 spark-001.cluster spark-001
//   # END sparkfleet
//
// Everything outside the markers is kept byte for byte, so the admin's own lines, and
// lines other tools manage, survive every run. Pure functions; thread-safe.
#ifndef SPARKFLEET_COMMON_MANAGED_BLOCK_H_
#define SPARKFLEET_COMMON_MANAGED_BLOCK_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// The marker lines (without '\n'). The defaults suit every file whose comments start
// with '#'.
struct BlockMarkers {
  std::string begin = "# BEGIN sparkfleet";
  std::string end = "# END sparkfleet";
};

// The lines between the markers of `text` (each ending in '\n'); nullopt when `text`
// has no block. FAILED_PRECONDITION, naming the line, when the markers are broken: a
// BEGIN without END, an END before BEGIN, or a second block — the file was edited by
// hand and we refuse to guess which part is ours.
[[nodiscard]] absl::StatusOr<std::optional<std::string>> ManagedBlockBody(
    absl::string_view text, const BlockMarkers& markers = {});

// `text` with its block's body replaced by `body` (lines; a missing final '\n' is
// added). Without a block one is appended at the end, after a '\n' if `text` does not
// end with one. An empty `body` removes the block and its markers. Lines outside the
// block are returned unchanged. Errors as ManagedBlockBody.
[[nodiscard]] absl::StatusOr<std::string> ReplaceManagedBlock(absl::string_view text,
                                                              absl::string_view body,
                                                              const BlockMarkers& markers = {});

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_MANAGED_BLOCK_H_
