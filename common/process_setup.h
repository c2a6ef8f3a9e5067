// Process-wide settings every sparkfleet program applies first thing in main().
#ifndef SPARKFLEET_COMMON_PROCESS_SETUP_H_
#define SPARKFLEET_COMMON_PROCESS_SETUP_H_

namespace sparkfleet {

// Turns off absl::Mutex deadlock detection: Debian's Abseil is built without NDEBUG, so
// every lock gRPC takes would otherwise update a global lock graph (a measurable share of
// a thousand-node fan-out). Raises the open-file soft limit to the hard limit, since a
// fan-out holds one connection per node.
void SetUpProcess();

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_PROCESS_SETUP_H_
