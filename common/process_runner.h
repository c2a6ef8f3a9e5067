// ProcessRunner is the one seam through which sparkfleet starts programs.
//
// Programs are always started from an argv vector, never through a shell, with a hard
// timeout after which the whole process group is killed. Programs are looked up on a
// search path that begins with the agent's `--tool-path` directories, so a test puts
// contract doubles of apt-get, systemctl or tailscale first and the production code
// path runs unchanged. Tests substitute a scripted runner (tests/fakes).
//
// Thread-safety: implementations are safe for concurrent use.
#ifndef SPARKFLEET_COMMON_PROCESS_RUNNER_H_
#define SPARKFLEET_COMMON_PROCESS_RUNNER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sparkfleet {

struct ProcessOptions {
  absl::Duration timeout = absl::Seconds(60);
  std::string stdin_data;  // written to the program's stdin, which is then closed
  // Variables set (or replaced) in the program's environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Output past this many bytes per stream is dropped (the program keeps running).
  size_t max_output_bytes = 16 << 20;
  // Polled about every 50 ms while the program runs; when it returns true the program's
  // process group is killed and the result says `cancelled`. For long programs whose
  // caller may go away (a cancelled RPC, an agent shutting down). Must be thread-safe.
  std::function<bool()> cancelled;
  // Called with each line of the program's stdout / stderr (without its '\n') as soon as
  // it arrives, from the thread that called Run; a last line without '\n' comes when the
  // stream closes, and a line longer than 64 KiB comes in pieces. For long programs whose
  // progress is streamed (spark-nccl-worker). The text is still kept in stdout_text /
  // stderr_text up to max_output_bytes.
  std::function<void(absl::string_view line)> stdout_line;
  std::function<void(absl::string_view line)> stderr_line;
};

struct ProcessResult {
  int exit_code = -1;      // the exit status when the program exited
  int term_signal = 0;     // the signal that ended it, 0 when it exited
  bool timed_out = false;  // killed by us at the timeout
  bool cancelled = false;  // killed by us because options.cancelled() said so
  std::string stdout_text;
  std::string stderr_text;
  absl::Duration timeout;  // the limit it ran under

  bool ok() const { return !timed_out && !cancelled && term_signal == 0 && exit_code == 0; }
  // "exit status 3", "killed by signal 9", "timed out after 5s", "cancelled".
  std::string Describe() const;
};

class ProcessRunner {
 public:
  ProcessRunner() = default;
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;
  virtual ~ProcessRunner() = default;

  // Runs argv[0] (looked up on the search path unless it contains a '/') with argv and
  // waits for it. A program that ran returns a ProcessResult whatever its exit status;
  // an error status means it could not be started: NOT_FOUND when argv[0] is not on
  // the search path, INVALID_ARGUMENT for an empty argv.
  [[nodiscard]] virtual absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& argv,
                                                          const ProcessOptions& options) = 0;

  // The absolute path argv[0] would run from, or NOT_FOUND.
  [[nodiscard]] virtual absl::StatusOr<std::string> Find(const std::string& program) const = 0;
};

// Runs real programs. `tool_path` directories are searched first, then the PATH this
// process was started with (or a standard system PATH when it has none); children see
// that same combined PATH.
std::unique_ptr<ProcessRunner> NewPosixProcessRunner(std::vector<std::string> tool_path);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_PROCESS_RUNNER_H_
