// Plain leveled logging to stderr, one line per record, which systemd's journal keeps
// with the unit (absl 20220623 has no absl/log). Callers never pass secrets: auth keys
// and private keys are not logged anywhere, redacted or not.
#ifndef SPARKFLEET_COMMON_LOG_H_
#define SPARKFLEET_COMMON_LOG_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sparkfleet {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Records below this level are dropped. Default kInfo.
void SetLogLevel(LogLevel level);

// Writes "2026-11-28T10:24:32.123Z W message" (the letter is the level) to stderr.
// Thread-safe: a record is written with one write(2).
void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(LogLevel::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogLevel::kError, absl::StrCat(args...));
}

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_LOG_H_
