#include "node_agent/ops/install_steps.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "node_agent/info/os_release.h"

namespace sparkfleet {

InstallSteps::InstallSteps(ProcessRunner& runner, std::string node_name, std::string operation,
                           EmitStep emit, std::function<bool()> cancelled)
    : runner_(runner),
      node_name_(std::move(node_name)),
      operation_(std::move(operation)),
      emit_(std::move(emit)),
      cancelled_(std::move(cancelled)) {}

void InstallSteps::Step(absl::string_view step, v1::InstallStepState state,
                        absl::string_view message) {
  v1::InstallStep event;
  event.set_step(std::string(step));
  event.set_state(state);
  event.set_message(std::string(message));
  event.set_elapsed_ms(absl::ToInt64Milliseconds(absl::Now() - start_));
  emit_(std::move(event));
}

absl::Status InstallSteps::Fail(absl::string_view step, absl::Status status) {
  Step(step, v1::INSTALL_STEP_STATE_FAILED, status.message());
  return status;
}

absl::Status InstallSteps::Tool(absl::string_view step, const std::vector<std::string>& argv,
                                absl::Duration timeout, absl::StatusCode code) {
  const absl::Status cancelled = absl::CancelledError(absl::StrCat(operation_, " was cancelled"));
  if (cancelled_()) return Fail(step, cancelled);
  std::string command = absl::StrJoin(argv, " ");
  Step(step, v1::INSTALL_STEP_STATE_STARTED, absl::StrCat("running: ", command));
  ProcessOptions options;
  options.timeout = timeout;
  options.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
  options.cancelled = cancelled_;
  absl::StatusOr<ProcessResult> result = runner_.Run(argv, options);
  if (!result.ok()) {
    return Fail(
        step, absl::FailedPreconditionError(absl::StrCat("cannot run ", argv[0], " on ", node_name_,
                                                         ": ", result.status().message())));
  }
  if (result->cancelled) return Fail(step, cancelled);
  if (!result->ok()) {
    std::string output =
        LastLines(result->stderr_text.empty() ? result->stdout_text : result->stderr_text);
    return Fail(step, absl::Status(code, absl::StrCat("`", command, "` failed on ", node_name_,
                                                      " (", result->Describe(), ")",
                                                      output.empty() ? "" : ": ", output)));
  }
  return absl::OkStatus();
}

absl::Status InstallSteps::Fetch(absl::string_view step, const std::string& url,
                                 const std::string& host_path, absl::Duration max_time) {
  std::vector<std::string> fetch = {
      "curl", "-fsSL",   "--retry", "3", "--max-time", absl::StrCat(absl::ToInt64Seconds(max_time)),
      "-o",   host_path, url};
  if (!runner_.Find("curl").ok()) fetch = {"wget", "-q", "-T", "60", "-O", host_path, url};
  return Tool(step, fetch, max_time + absl::Minutes(1), absl::StatusCode::kUnavailable);
}

absl::flat_hash_map<std::string, std::string> InstalledPackages(Env& env) {
  absl::StatusOr<std::string> text = env.ReadFile("/var/lib/dpkg/status");
  return text.ok() ? ParseDpkgStatus(*text) : absl::flat_hash_map<std::string, std::string>{};
}

std::string LastLines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  size_t from = lines.size() > 3 ? lines.size() - 3 : 0;
  return absl::StrJoin(lines.begin() + from, lines.end(), " | ");
}

}  // namespace sparkfleet
