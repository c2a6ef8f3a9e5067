// Turns a failed system call into an absl::Status whose code keeps its retry meaning.
#ifndef SPARKFLEET_COMMON_ERRNO_STATUS_H_
#define SPARKFLEET_COMMON_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

// `what` names the operation and its object, e.g. "open /etc/hosts". The message reads
// "open /etc/hosts: No such file or directory".
absl::Status ErrnoStatus(int errno_value, absl::string_view what);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_ERRNO_STATUS_H_
