#include "common/process_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A fresh directory for contract doubles, removed with everything in it.
class ToolDir {
 public:
  ToolDir() {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-tools-XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ToolDir(const ToolDir&) = delete;
  ToolDir& operator=(const ToolDir&) = delete;
  ~ToolDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }

  // Writes an executable shell script called `name`.
  std::string AddScript(const std::string& name, const std::string& body) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << "#!/bin/sh\n" << body;
    chmod(file.c_str(), 0755);
    return file;
  }

 private:
  std::string path_;
};

ProcessResult MustRun(ProcessRunner& runner, const std::vector<std::string>& argv,
                      const ProcessOptions& options = ProcessOptions()) {
  absl::StatusOr<ProcessResult> result = runner.Run(argv, options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : ProcessResult();
}

TEST(PosixProcessRunner, RunsProgramFromArgvAndCapturesStdout) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  ProcessResult result = MustRun(*runner, {"echo", "hello", "spark"});

  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_text, "hello spark\n");
  EXPECT_EQ(result.stderr_text, "");
  EXPECT_EQ(result.Describe(), "exit status 0");
}

TEST(PosixProcessRunner, ArgumentWithSpacesAndSemicolonStaysOneArgument) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  ProcessResult result =
      MustRun(*runner, {"printf", "[%s]\n", "a b; echo injected", "$HOME", "*", "`id`"});

  EXPECT_EQ(result.stdout_text, "[a b; echo injected]\n[$HOME]\n[*]\n[`id`]\n");
}

TEST(PosixProcessRunner, ReportsNonZeroExitStatus) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  ProcessResult result = MustRun(*runner, {"sh", "-c", "echo oops >&2; exit 3"});

  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.stderr_text, "oops\n");
  EXPECT_EQ(result.Describe(), "exit status 3");
}

TEST(PosixProcessRunner, ReportsTheSignalThatKilledTheProgram) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  ProcessResult result = MustRun(*runner, {"sh", "-c", "kill -KILL $$"});

  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.term_signal, SIGKILL);
  EXPECT_EQ(result.Describe(), "killed by signal 9");
}

TEST(PosixProcessRunner, StdinDataReachesTheProgram) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.stdin_data = "line one\nline two\n";

  ProcessResult result = MustRun(*runner, {"cat"}, options);

  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.stdout_text, "line one\nline two\n");
}

TEST(PosixProcessRunner, LargeStdinLargerThanAPipeIsDeliveredWhole) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.stdin_data = std::string(1 << 20, 'x') + "end";

  ProcessResult result = MustRun(*runner, {"cat"}, options);

  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.stdout_text.size(), options.stdin_data.size());
  EXPECT_TRUE(result.stdout_text == options.stdin_data);
}

TEST(PosixProcessRunner, TimeoutHoldsWhenTheProgramNeverReadsItsStdin) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.stdin_data = std::string(1 << 20, 'x');
  options.timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();

  ProcessResult result = MustRun(*runner, {"sleep", "30"}, options);

  EXPECT_TRUE(result.timed_out);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(PosixProcessRunner, WithoutStdinDataTheProgramSeesEndOfFile) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.timeout = absl::Seconds(10);

  ProcessResult result = MustRun(*runner, {"cat"}, options);

  EXPECT_TRUE(result.ok());
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.stdout_text, "");
}

TEST(PosixProcessRunner, TimeoutKillsTheProgram) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();

  ProcessResult result = MustRun(*runner, {"sleep", "30"}, options);

  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(result.timed_out);
  EXPECT_FALSE(result.ok());
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_THAT(result.Describe(), StartsWith("timed out after"));
}

TEST(PosixProcessRunner, CancellationKillsTheProgramLongBeforeItsTimeout) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.timeout = absl::Seconds(30);
  absl::Time start = absl::Now();
  options.cancelled = [start] { return absl::Now() - start > absl::Milliseconds(200); };

  ProcessResult result = MustRun(*runner, {"sleep", "30"}, options);

  EXPECT_TRUE(result.cancelled);
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(result.Describe(), "cancelled");
}

TEST(PosixProcessRunner, LinesAreDeliveredWhileTheProgramStillRuns) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  std::vector<std::string> out_lines, err_lines;
  absl::Time first_line;
  options.stdout_line = [&](absl::string_view line) {
    if (out_lines.empty()) first_line = absl::Now();
    out_lines.emplace_back(line);
  };
  options.stderr_line = [&](absl::string_view line) { err_lines.emplace_back(line); };
  absl::Time start = absl::Now();

  ProcessResult result = MustRun(
      *runner, {"sh", "-c", "echo UNIQUE_ID ab; echo oops >&2; sleep 0.5; printf 'ROW 8\nlast'"},
      options);

  EXPECT_TRUE(result.ok()) << result.Describe();
  EXPECT_THAT(out_lines, ::testing::ElementsAre("UNIQUE_ID ab", "ROW 8", "last"));
  EXPECT_THAT(err_lines, ::testing::ElementsAre("oops"));
  EXPECT_LT(first_line - start, absl::Milliseconds(400));  // before the program ended
  EXPECT_EQ(result.stdout_text, "UNIQUE_ID ab\nROW 8\nlast");
}

TEST(PosixProcessRunner, AnUnusedCancellationHookChangesNothing) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.cancelled = [] { return false; };

  ProcessResult result = MustRun(*runner, {"sh", "-c", "sleep 0.1; echo done"}, options);

  EXPECT_TRUE(result.ok()) << result.Describe();
  EXPECT_EQ(result.stdout_text, "done\n");
}

TEST(PosixProcessRunner, TimeoutKillsChildrenTheProgramStarted) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();

  // The background sleep holds stdout open; the run must not wait for it.
  ProcessResult result = MustRun(*runner, {"sh", "-c", "sleep 30 & sleep 30"}, options);

  EXPECT_TRUE(result.timed_out);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(PosixProcessRunner, MissingProgramIsNotFoundNamingIt) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  absl::StatusOr<ProcessResult> result = runner->Run({"sparkfleet-no-such-tool", "--help"}, {});

  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("sparkfleet-no-such-tool"));
  EXPECT_EQ(runner->Find("sparkfleet-no-such-tool").status().code(), absl::StatusCode::kNotFound);
}

TEST(PosixProcessRunner, MissingAbsoluteProgramIsNotFound) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  absl::StatusOr<ProcessResult> result = runner->Run({"/nonexistent/bin/iperf3"}, {});

  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("/nonexistent/bin/iperf3"));
}

TEST(PosixProcessRunner, EmptyArgvIsInvalidArgument) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});

  EXPECT_EQ(runner->Run({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PosixProcessRunner, ToolPathIsSearchedBeforeTheSystemPath) {
  ToolDir tools;
  std::string fake = tools.AddScript("hostname", "echo fixture-host\n");
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({tools.path()});

  ProcessResult result = MustRun(*runner, {"hostname"});

  EXPECT_EQ(result.stdout_text, "fixture-host\n");
  EXPECT_EQ(*runner->Find("hostname"), fake);
}

TEST(PosixProcessRunner, ChildrenSeeTheToolPathFirstToo) {
  ToolDir tools;
  tools.AddScript("systemctl", "echo \"fake systemctl $*\"\n");
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({tools.path()});

  // A program that itself runs "systemctl" by name reaches the double.
  ProcessResult result = MustRun(*runner, {"sh", "-c", "systemctl is-active ssh"});

  EXPECT_EQ(result.stdout_text, "fake systemctl is-active ssh\n");
}

TEST(PosixProcessRunner, NonExecutableFileOnToolPathIsSkipped) {
  ToolDir tools;
  std::string file = tools.AddScript("echo", "echo fake\n");
  chmod(file.c_str(), 0644);
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({tools.path()});

  ProcessResult result = MustRun(*runner, {"echo", "real"});

  EXPECT_EQ(result.stdout_text, "real\n");
}

TEST(PosixProcessRunner, EnvironmentFromOptionsReachesTheChild) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.env = {{"SPARKFLEET_TEST_VALUE", "with spaces; and $dollars"},
                 {"DEBIAN_FRONTEND", "noninteractive"}};

  ProcessResult result = MustRun(
      *runner, {"sh", "-c", "printf '%s|%s' \"$SPARKFLEET_TEST_VALUE\" \"$DEBIAN_FRONTEND\""},
      options);

  EXPECT_EQ(result.stdout_text, "with spaces; and $dollars|noninteractive");
}

TEST(PosixProcessRunner, EnvironmentFromOptionsReplacesInheritedValue) {
  ASSERT_EQ(setenv("SPARKFLEET_TEST_INHERITED", "parent", 1), 0);
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.env = {{"SPARKFLEET_TEST_INHERITED", "child"}};

  ProcessResult result =
      MustRun(*runner, {"sh", "-c", "env | grep '^SPARKFLEET_TEST_INHERITED='"}, options);
  ProcessResult inherited =
      MustRun(*runner, {"sh", "-c", "printf %s \"$SPARKFLEET_TEST_INHERITED\""});
  unsetenv("SPARKFLEET_TEST_INHERITED");

  EXPECT_EQ(result.stdout_text, "SPARKFLEET_TEST_INHERITED=child\n");
  EXPECT_EQ(inherited.stdout_text, "parent");
}

TEST(PosixProcessRunner, OutputPastTheLimitIsDropped) {
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  ProcessOptions options;
  options.max_output_bytes = 1000;

  ProcessResult result = MustRun(*runner, {"head", "-c", "100000", "/dev/zero"}, options);

  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.stdout_text.size(), 1000u);
}

}  // namespace
}  // namespace sparkfleet
