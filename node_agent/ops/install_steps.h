// InstallSteps: what the agent's streaming installs (InstallNccl, InstallTailscale) share:
// one InstallStep event per step, programs run as children with a timeout and the
// call's cancellation, downloads with curl (or wget), and dpkg's view of what is
// installed.
//
//   InstallSteps steps(runner, "spark-001", "InstallTailscale", emit_step, cancelled);
//   steps.Step("check", v1::INSTALL_STEP_STATE_CHANGED, "tailscale is not installed");
//   if (absl::Status s = steps.Tool("apt-update", {"apt-get", "update"}, absl::Minutes(10),
//                                   absl::StatusCode::kUnavailable); !s.ok()) return s;
//
// Every failure is reported as a FAILED event of its step before it is returned, so a
// stream's last step event says where it stopped. Messages hold the command and the last
// lines of its output; callers never pass secrets in argv.
#ifndef SPARKFLEET_NODE_AGENT_OPS_INSTALL_STEPS_H_
#define SPARKFLEET_NODE_AGENT_OPS_INSTALL_STEPS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

class InstallSteps {
 public:
  using EmitStep = std::function<void(v1::InstallStep)>;

  // `operation` names the RPC in messages ("InstallNccl"). `emit` and `cancelled` must
  // outlive this object.
  InstallSteps(ProcessRunner& runner, std::string node_name, std::string operation, EmitStep emit,
               std::function<bool()> cancelled);
  InstallSteps(const InstallSteps&) = delete;
  InstallSteps& operator=(const InstallSteps&) = delete;

  // Emits one step event, with the time since construction.
  void Step(absl::string_view step, v1::InstallStepState state, absl::string_view message);

  // Emits `step` as FAILED with the status's message and returns the status.
  absl::Status Fail(absl::string_view step, absl::Status status);

  // Runs `argv` for `step` (a STARTED event first) with DEBIAN_FRONTEND=noninteractive.
  // FAILED_PRECONDITION when the program cannot start; `code` when it does not succeed,
  // (a timeout included) naming the command, how it ended and its last output lines;
  // CANCELLED.
  absl::Status Tool(absl::string_view step, const std::vector<std::string>& argv,
                    absl::Duration timeout, absl::StatusCode code);

  // Downloads `url` to `host_path` (a path on this machine, e.g. Env::HostPath) with
  // `curl -fsSL --retry 3 --max-time S -o FILE URL`, or wget when there is no curl.
  // UNAVAILABLE when the download fails.
  absl::Status Fetch(absl::string_view step, const std::string& url, const std::string& host_path,
                     absl::Duration max_time);

  const std::string& node_name() const { return node_name_; }
  bool cancelled() const { return cancelled_(); }

 private:
  ProcessRunner& runner_;
  const std::string node_name_;
  const std::string operation_;
  const EmitStep emit_;
  const std::function<bool()> cancelled_;
  const absl::Time start_ = absl::Now();
};

// Package name -> version of every package dpkg lists as installed under the Env's root
// (/var/lib/dpkg/status); empty when the file cannot be read.
absl::flat_hash_map<std::string, std::string> InstalledPackages(Env& env);

// The last three non-blank lines of `text`, joined with " | ".
std::string LastLines(absl::string_view text);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_INSTALL_STEPS_H_
