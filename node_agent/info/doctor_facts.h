// Host facts `sparkctl doctor` needs beyond Probe and GetInfo (NodeAgent.GetDoctorFacts):
// memory and CMA from /proc/meminfo, clock synchronization (chronyc tracking, else
// timedatectl), the node's wall clock, and the requested users' accounts. Read-only.
// A fact that cannot be read is left unset with a warning saying why; never an error.
#ifndef SPARKFLEET_NODE_AGENT_INFO_DOCTOR_FACTS_H_
#define SPARKFLEET_NODE_AGENT_INFO_DOCTOR_FACTS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// /proc/meminfo's MemTotal, MemAvailable, CmaTotal and CmaFree into `reply` (bytes);
// CMA fields stay unset when their lines are absent. Pure.
void ParseMeminfo(absl::string_view text, v1::GetDoctorFactsReply& reply);

// `chronyc -c tracking` (CSV) into a ClockSync; nullopt when the text is not chrony's.
// Pure.
std::optional<v1::ClockSync> ParseChronyTracking(absl::string_view text);

// `timedatectl show` (KEY=value lines) into a ClockSync; nullopt when it lacks
// NTPSynchronized. Pure.
std::optional<v1::ClockSync> ParseTimedatectlShow(absl::string_view text);

// INVALID_ARGUMENT when a requested user name is not a valid one (at most 32 users).
[[nodiscard]] absl::Status ValidateGetDoctorFactsRequest(const v1::GetDoctorFactsRequest& request);

// Collects every fact; `now` stamps wall_clock_unix_us.
v1::GetDoctorFactsReply CollectDoctorFacts(Env& env, ProcessRunner& runner,
                                           const v1::GetDoctorFactsRequest& request,
                                           const std::function<absl::Time()>& now = absl::Now);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_INFO_DOCTOR_FACTS_H_
