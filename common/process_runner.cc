#include "common/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"

extern char** environ;

namespace sparkfleet {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void ClosePair(int fds[2]) {
  for (int i = 0; i < 2; ++i) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

// Builds the child's environment: ours, with PATH and options.env replaced.
std::vector<std::string> ChildEnvironment(const std::string& path, const ProcessOptions& options) {
  std::vector<std::string> out;
  auto overridden = [&](absl::string_view entry) {
    if (absl::StartsWith(entry, "PATH=")) return true;
    for (const auto& [key, value] : options.env) {
      if (absl::StartsWith(entry, key + "=")) return true;
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!overridden(*e)) out.emplace_back(*e);
  }
  out.push_back("PATH=" + path);
  for (const auto& [key, value] : options.env) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// How often a cancellation hook is polled.
constexpr absl::Duration kCancelPoll = absl::Milliseconds(50);

bool CancelRequested(const ProcessOptions& options) {
  return options.cancelled && options.cancelled();
}

// Splits a stream into lines for a ProcessOptions line callback.
class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(absl::string_view)>& sink) : sink_(sink) {}
  void Add(const char* data, size_t size) {
    if (!sink_) return;
    partial_.append(data, size);
    size_t start = 0;
    for (size_t end; (end = partial_.find('\n', start)) != std::string::npos; start = end + 1) {
      sink_(absl::string_view(partial_).substr(start, end - start));
    }
    partial_.erase(0, start);
    if (partial_.size() > kMaxLine) Flush();
  }
  void Flush() {
    if (sink_ && !partial_.empty()) sink_(partial_);
    partial_.clear();
  }

 private:
  static constexpr size_t kMaxLine = 64 << 10;
  const std::function<void(absl::string_view)>& sink_;
  std::string partial_;
};

// Feeds stdin and drains stdout/stderr until both close or the deadline passes.
// Closes all three descriptors before it returns. Returns false at the deadline or when
// the caller cancelled (then result.cancelled is set).
bool Pump(int in_fd, int out_fd, int err_fd, absl::string_view input, absl::Time deadline,
          const ProcessOptions& options, ProcessResult& result) {
  const size_t max_bytes = options.max_output_bytes;
  struct pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
  std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
  LineSplitter lines[2] = {LineSplitter(options.stdout_line), LineSplitter(options.stderr_line)};
  auto close_slot = [&](int i) {
    if (i < 2) lines[i].Flush();
    if (fds[i].fd >= 0) close(fds[i].fd);
    fds[i].fd = -1;
  };
  if (input.empty()) close_slot(2);
  bool in_time = true;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      in_time = false;
      break;
    }
    if (options.cancelled) left = std::min(left, kCancelPoll);
    int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    if (poll(fds, 3, timeout_ms) < 0 && errno != EINTR) break;
    if (CancelRequested(options)) {
      result.cancelled = true;
      in_time = false;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[8192];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        size_t room = max_bytes > sinks[i]->size() ? max_bytes - sinks[i]->size() : 0;
        sinks[i]->append(buf, std::min(room, static_cast<size_t>(got)));
        lines[i].Add(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close_slot(i);
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      // The descriptor is non-blocking: a write never waits for the program to read, so
      // its output keeps being drained and the deadline holds.
      ssize_t put = (fds[2].revents & POLLOUT) ? write(fds[2].fd, input.data(), input.size()) : -1;
      bool again = put < 0 && (fds[2].revents & POLLOUT) && (errno == EAGAIN || errno == EINTR);
      if (put > 0) input.remove_prefix(static_cast<size_t>(put));
      if (!again && (put <= 0 || input.empty())) close_slot(2);
    }
  }
  for (int i = 0; i < 3; ++i) close_slot(i);
  return in_time;
}

// Reaps `pid`, killing its process group at the deadline or on cancellation. Returns
// the wait status.
int ReapBefore(pid_t pid, absl::Time deadline, const ProcessOptions& options,
               ProcessResult& result) {
  int status = 0;
  absl::Duration nap = absl::Microseconds(200);
  while (true) {
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid || (got < 0 && errno != EINTR)) return status;
    if (CancelRequested(options)) {
      result.cancelled = true;
      break;
    }
    if (absl::Now() >= deadline) {
      result.timed_out = true;
      break;
    }
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
  kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

class PosixProcessRunner final : public ProcessRunner {
 public:
  explicit PosixProcessRunner(std::vector<std::string> tool_path) {
    const char* inherited = std::getenv("PATH");
    std::vector<std::string> dirs = std::move(tool_path);
    for (absl::string_view dir :
         absl::StrSplit(inherited && *inherited ? inherited : kDefaultPath, ':')) {
      if (!dir.empty()) dirs.emplace_back(dir);
    }
    search_path_ = absl::StrJoin(dirs, ":");
    dirs_ = std::move(dirs);
  }

  absl::StatusOr<std::string> Find(const std::string& program) const override {
    if (program.empty()) return absl::InvalidArgumentError("empty program name");
    if (program.find('/') != std::string::npos) {
      if (access(program.c_str(), X_OK) == 0) return program;
      return absl::NotFoundError(absl::StrCat("program ", program, " is not executable"));
    }
    for (const std::string& dir : dirs_) {
      std::string candidate = absl::StrCat(dir, "/", program);
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return absl::NotFoundError(
        absl::StrCat("program '", program, "' not found on PATH ", search_path_));
  }

  absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& argv,
                                    const ProcessOptions& options) override {
    if (argv.empty()) return absl::InvalidArgumentError("empty argv");
    absl::StatusOr<std::string> program = Find(argv[0]);
    if (!program.ok()) return program.status();

    std::vector<std::string> args = argv;
    std::vector<std::string> env = ChildEnvironment(search_path_, options);
    std::vector<char*> c_args = CStrings(args);
    std::vector<char*> c_env = CStrings(env);

    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      absl::Status s = ErrnoStatus(errno, "pipe");
      ClosePair(in), ClosePair(out), ClosePair(err);
      return s;
    }
    absl::Time deadline = absl::Now() + options.timeout;
    pid_t pid = fork();
    if (pid < 0) {
      absl::Status s = ErrnoStatus(errno, "fork");
      ClosePair(in), ClosePair(out), ClosePair(err);
      return s;
    }
    if (pid == 0) {
      // Child: only async-signal-safe calls from here on.
      setpgid(0, 0);
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execve(program->c_str(), c_args.data(), c_env.data());
      _exit(127);
    }
    setpgid(pid, pid);
    close(in[0]), close(out[1]), close(err[1]);
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    ProcessResult result;
    result.timeout = options.timeout;
    bool in_time = Pump(in[1], out[0], err[0], options.stdin_data, deadline, options, result);
    if (!in_time) {
      if (!result.cancelled) result.timed_out = true;
      kill(-pid, SIGKILL);
    }
    int status = ReapBefore(pid, deadline, options, result);
    // Whatever the program left in its group (daemons it forked) goes with it.
    kill(-pid, SIGKILL);
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
    return result;
  }

 private:
  std::vector<std::string> dirs_;
  std::string search_path_;
};

}  // namespace

std::string ProcessResult::Describe() const {
  if (timed_out) return absl::StrCat("timed out after ", absl::FormatDuration(timeout));
  if (cancelled) return "cancelled";
  if (term_signal != 0) return absl::StrCat("killed by signal ", term_signal);
  return absl::StrCat("exit status ", exit_code);
}

std::unique_ptr<ProcessRunner> NewPosixProcessRunner(std::vector<std::string> tool_path) {
  return std::make_unique<PosixProcessRunner>(std::move(tool_path));
}

}  // namespace sparkfleet
