#include "coordinator/recap.h"

#include <string>

#include "coordinator/commands/command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::ChangeReport Change(const std::string& path, bool changed, const std::string& backup = "") {
  v1::ChangeReport report;
  report.set_path(path);
  report.set_changed(changed);
  report.set_backup_path(backup);
  if (changed) report.set_diff("--- " + path + "\n+++ " + path + "\n@@ -0,0 +1 @@\n+x\n");
  return report;
}

StepOutcome Skipped() {
  StepOutcome outcome;
  outcome.state = StepState::kSkipped;
  return outcome;
}

Recap ThreeNodes() {
  Recap recap;
  recap.steps = {"SSH", "HOSTS"};
  NodeRecap changed{"spark-001",
                    {OutcomeOf("ConfigureSsh", absl::OkStatus(), {Change("/a", false)}),
                     OutcomeOf("ConfigureHosts", absl::OkStatus(),
                               {Change("/etc/hosts", true, "/etc/hosts.sparkfleet.bak")})}};
  NodeRecap failed{
      "spark-002",
      {OutcomeOf("ConfigureSsh", absl::FailedPreconditionError("sshd -t failed"), {}), Skipped()}};
  NodeRecap gone{
      "spark-003",
      {OutcomeOf("ConfigureSsh", absl::UnavailableError("agent at 10.0.0.3:50151: refused"), {}),
       Skipped()}};
  recap.nodes = {changed, failed, gone};
  return recap;
}

TEST(Recap, OneColumnPerStepAndTheWorstStepIsTheResult) {
  std::string out = RenderRecap(ThreeNodes(), {});
  EXPECT_THAT(out, HasSubstr("NODE       SSH          HOSTS    RESULT\n"
                             "spark-001  ok           changed  changed\n"
                             "spark-002  failed       skipped  failed\n"
                             "spark-003  unreachable  skipped  unreachable\n"));
  EXPECT_THAT(out, HasSubstr("  spark-002: ConfigureSsh: FAILED_PRECONDITION: sshd -t failed\n"));
  EXPECT_THAT(out, HasSubstr("  spark-003: ConfigureSsh: UNAVAILABLE: agent at 10.0.0.3"));
  EXPECT_THAT(out, HasSubstr("changed:\n  spark-001: /etc/hosts (backup "
                             "/etc/hosts.sparkfleet.bak)\n"));
  EXPECT_THAT(out, Not(HasSubstr("+++")));
  EXPECT_THAT(out, HasSubstr("\n0 ok, 1 changed, 1 failed, 1 unreachable\n"));
  EXPECT_EQ(RecapExitCode(ThreeNodes()), kExitNodeFailed);
}

TEST(Recap, CheckShowsDiffsNotesAndSaysNothingChanged) {
  Recap recap = ThreeNodes();
  recap.nodes.resize(1);
  recap.notes = {"cluster key: /k does not exist yet"};
  std::string out = RenderRecap(recap, {/*show_diffs=*/true, /*check=*/true});
  EXPECT_THAT(out, HasSubstr("would change:\n  spark-001: /etc/hosts"));
  EXPECT_THAT(out, HasSubstr("\n== spark-001: /etc/hosts\n--- /etc/hosts\n"));
  EXPECT_THAT(out, HasSubstr("\ncluster key: /k does not exist yet\n"));
  EXPECT_THAT(out, HasSubstr("0 ok, 1 would change, 0 failed (check: nothing was changed)\n"));
  EXPECT_THAT(out, Not(HasSubstr("unreachable")));
  EXPECT_EQ(RecapExitCode(recap), kExitOk);
}

TEST(Recap, AFileTwoStepsChangedIsListedOnce) {
  Recap recap;
  recap.steps = {"KEYS", "SSH"};
  recap.nodes = {{"spark-001",
                  {OutcomeOf("GenerateSshKey", absl::OkStatus(), {Change("/home/u/.ssh", true)}),
                   OutcomeOf("ConfigureSsh", absl::OkStatus(),
                             {Change("/home/u/.ssh", true), Change("/k", true)})}}};
  EXPECT_THAT(RenderRecap(recap, {}),
              HasSubstr("changed:\n  spark-001: /home/u/.ssh\n  spark-001: /k\n\n"));
}

TEST(Recap, UnreachableCanBeReportedAsPlainFailure) {
  StepOutcome outcome =
      OutcomeOf("WriteNcclConf", absl::DeadlineExceededError("late"), {}, /*unreachable=*/false);
  EXPECT_EQ(outcome.state, StepState::kFailed);
  EXPECT_EQ(OutcomeOf("X", absl::DeadlineExceededError("late"), {}).state, StepState::kUnreachable);
}

TEST(Recap, JsonHasEveryNodesStepsAndSummary) {
  Recap recap = ThreeNodes();
  recap.nodes[0].steps[1].result_json = "{\"changes\":[]}";
  std::string json = RecapJson(recap, false);
  EXPECT_THAT(json, HasSubstr("{\"check\":false,\"steps\":[\"ssh\",\"hosts\"],\"nodes\":["));
  EXPECT_THAT(json, HasSubstr("{\"node\":\"spark-001\",\"result\":\"changed\",\"steps\":{\"ssh\":"
                              "{\"state\":\"ok\",\"duration_ms\":0},\"hosts\":{\"state\":"
                              "\"changed\",\"duration_ms\":0,\"result\":{\"changes\":[]}}}}"));
  EXPECT_THAT(json, HasSubstr("\"ssh\":{\"state\":\"unreachable\",\"duration_ms\":0,\"call\":"
                              "\"ConfigureSsh\",\"error\":{\"code\":\"UNAVAILABLE\""));
  EXPECT_THAT(json, HasSubstr("\"summary\":{\"ok\":0,\"changed\":1,\"failed\":1,"
                              "\"unreachable\":1}}\n"));
}

}  // namespace
}  // namespace sparkfleet
