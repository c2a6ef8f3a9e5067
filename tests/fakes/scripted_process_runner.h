// ScriptedProcessRunner: a ProcessRunner whose programs are C++ functions, for unit tests
// of code that starts programs (and reads their output line by line) without starting
// any. Each call is recorded; a script gets the argv and the options, may call
// options.stdout_line / stderr_line, poll options.cancelled, and answers a ProcessResult.
//
//   ScriptedProcessRunner runner;
//   runner.Script("spark-nccl-worker", [](const auto& argv, const ProcessOptions& o) {
//     o.stdout_line("READY 2");
//     return ProcessResult();  // exit_code -1 unless set
//   });
//
// Thread-safe: scripts may run concurrently (one per calling thread).
#ifndef SPARKFLEET_TESTS_FAKES_SCRIPTED_PROCESS_RUNNER_H_
#define SPARKFLEET_TESTS_FAKES_SCRIPTED_PROCESS_RUNNER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/process_runner.h"

namespace sparkfleet::testing {

class ScriptedProcessRunner final : public ProcessRunner {
 public:
  using Program =
      std::function<ProcessResult(const std::vector<std::string>& argv, const ProcessOptions&)>;

  // Programs are matched by the last component of argv[0].
  void Script(const std::string& program, Program script) {
    absl::MutexLock lock(&mu_);
    scripts_[program] = std::move(script);
  }

  // Every argv run so far, in the order the calls started.
  std::vector<std::vector<std::string>> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& argv,
                                    const ProcessOptions& options) override {
    if (argv.empty()) return absl::InvalidArgumentError("empty argv");
    Program script;
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back(argv);
      auto it = scripts_.find(Basename(argv[0]));
      if (it == scripts_.end()) {
        return absl::NotFoundError(absl::StrCat("program '", argv[0], "' not found"));
      }
      script = it->second;
    }
    ProcessResult result = script(argv, options);
    result.timeout = options.timeout;
    return result;
  }

  absl::StatusOr<std::string> Find(const std::string& program) const override {
    absl::MutexLock lock(&mu_);
    if (scripts_.count(Basename(program)) == 0) {
      return absl::NotFoundError(absl::StrCat("program '", program, "' not found"));
    }
    return "/scripted/" + Basename(program);
  }

 private:
  static std::string Basename(const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
  }

  mutable absl::Mutex mu_;
  std::map<std::string, Program> scripts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sparkfleet::testing

#endif  // SPARKFLEET_TESTS_FAKES_SCRIPTED_PROCESS_RUNNER_H_
