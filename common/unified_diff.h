// UnifiedDiff: the line diff every ChangeReport carries, in the `diff -u` format people
// and `patch` read.
//
//   std::string diff = UnifiedDiff(old_text, new_text, "/etc/nccl.conf", "/etc/nccl.conf");
//
// Lines are compared whole, newline included, with Myers' O((N+M)D) algorithm after the
// common prefix and suffix are set aside, so a small change to a large file stays cheap.
// Hunks carry `context` unchanged lines on each side and merge when they would overlap,
// as GNU diff does. A last line without a newline is followed by
// "\ No newline at end of file". Pure; thread-safe.
#ifndef SPARKFLEET_COMMON_UNIFIED_DIFF_H_
#define SPARKFLEET_COMMON_UNIFIED_DIFF_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sparkfleet {

// The unified diff from `old_text` to `new_text`: "--- old_label", "+++ new_label", then
// "@@ -l,n +l,n @@" hunks. Empty when the texts are equal. Use "/dev/null" as the old
// label for a file that did not exist. `context` below 0 counts as 0.
std::string UnifiedDiff(absl::string_view old_text, absl::string_view new_text,
                        absl::string_view old_label, absl::string_view new_label, int context = 3);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_UNIFIED_DIFF_H_
