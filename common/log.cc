#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sparkfleet {
namespace {
std::atomic<LogLevel> min_level{LogLevel::kInfo};
}  // namespace

void SetLogLevel(LogLevel level) { min_level.store(level); }

void LogLine(LogLevel level, absl::string_view message) {
  if (level < min_level.load()) return;
  static constexpr char kLetters[] = {'D', 'I', 'W', 'E'};
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
                   absl::string_view(&kLetters[static_cast<int>(level)], 1), " ", message, "\n");
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace sparkfleet
