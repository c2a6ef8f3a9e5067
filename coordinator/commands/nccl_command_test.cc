#include "coordinator/commands/nccl_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

NcclNodeOutcome Written(const std::string& node, bool changed, const std::string& backup = "") {
  NcclNodeOutcome outcome;
  outcome.node = node;
  NodeResult<v1::WriteNcclConfReply> result;
  result.node = node;
  v1::ChangeReport* change = result.reply.add_changes();
  change->set_path("/etc/nccl.conf");
  change->set_changed(changed);
  if (changed) change->set_diff("--- /etc/nccl.conf\n+++ /etc/nccl.conf\n@@ -1 +1 @@\n-a\n+b\n");
  change->set_backup_path(backup);
  outcome.conf = result;
  return outcome;
}

TEST(NcclRecap, OkChangedAndFailedNodesWithBackupAndSummary) {
  std::vector<NcclNodeOutcome> outcomes = {
      Written("spark-001", true, "/etc/nccl.conf.sparkfleet.bak"), Written("spark-002", false)};
  NcclNodeOutcome failed;
  failed.node = "spark-003";
  failed.conf = NodeResult<v1::WriteNcclConfReply>{
      "spark-003", absl::UnavailableError("agent at 10.0.0.3:50151: connection refused"), {}, {}};
  outcomes.push_back(failed);
  std::string out = RenderNcclRecap(outcomes, /*show_diffs=*/false, /*check=*/false);
  EXPECT_THAT(out, HasSubstr("NODE       NCCL.CONF  RESULT   BACKUP\n"));
  EXPECT_THAT(out, HasSubstr("spark-001  changed    changed  /etc/nccl.conf.sparkfleet.bak\n"));
  EXPECT_THAT(out, HasSubstr("spark-002  ok         ok       -\n"));
  EXPECT_THAT(out, HasSubstr("spark-003  failed     failed   -\n"));
  EXPECT_THAT(out, HasSubstr("spark-003: WriteNcclConf: UNAVAILABLE: agent at 10.0.0.3"));
  EXPECT_THAT(out, Not(HasSubstr("+++")));
  EXPECT_THAT(out, HasSubstr("\n1 ok, 1 changed, 1 failed\n"));
}

TEST(NcclRecap, CheckShowsDiffsAndSaysNothingChanged) {
  std::string out = RenderNcclRecap({Written("spark-001", true)}, true, /*check=*/true);
  EXPECT_THAT(out, HasSubstr("== spark-001: /etc/nccl.conf\n--- /etc/nccl.conf\n"));
  EXPECT_THAT(out, HasSubstr("0 ok, 1 would change, 0 failed (check: nothing was changed)"));
}

TEST(NcclRecap, InstallColumnAndSkippedConfAfterAFailedInstall) {
  NcclNodeOutcome installed = Written("spark-001", false);
  installed.install = absl::OkStatus();
  installed.install_changed = true;
  NcclNodeOutcome broken;
  broken.node = "spark-002";
  broken.install = absl::UnimplementedError("InstallNccl is not implemented");
  std::string out = RenderNcclRecap({installed, broken}, false, false);
  EXPECT_THAT(out, HasSubstr("NODE       INSTALL  NCCL.CONF  RESULT   BACKUP\n"));
  EXPECT_THAT(out, HasSubstr("spark-001  changed  ok         changed  -\n"));
  EXPECT_THAT(out, HasSubstr("spark-002  failed   skipped    failed   -\n"));
  EXPECT_THAT(out, HasSubstr("spark-002: InstallNccl: UNIMPLEMENTED: InstallNccl is not"));
  EXPECT_THAT(out, HasSubstr("0 ok, 1 changed, 1 failed"));
}

TEST(NcclConfReport, ListsFilesProblemsWithLinesAndEffectiveValues) {
  NodeResult<v1::ReadNcclConfReply> result;
  result.node = "spark-001";
  v1::NcclConfFile* home = result.reply.add_files();
  home->set_path("/home/nvidia/.nccl.conf");
  v1::NcclConfFile* etc = result.reply.add_files();
  etc->set_path("/etc/nccl.conf");
  etc->set_present(true);
  v1::NcclConfProblem* problem = etc->add_problems();
  problem->set_line(4);
  problem->set_kind(v1::NCCL_CONF_PROBLEM_KIND_WHITESPACE);
  problem->set_text("NCCL_DEBUG = INFO");
  problem->set_message("NCCL does not trim");
  v1::NcclSetting* setting = result.reply.add_effective();
  setting->set_key("NCCL_IB_HCA");
  setting->set_value("=rocep1s0f1,roceP2p1s0f1");
  setting->set_source("/etc/nccl.conf");
  setting->set_line(5);
  std::string out = RenderNcclConfReport(result);
  EXPECT_THAT(out, HasSubstr("  /home/nvidia/.nccl.conf: absent\n"));
  EXPECT_THAT(out, HasSubstr("  /etc/nccl.conf: 0 settings, 1 problems\n"));
  EXPECT_THAT(out, HasSubstr("    line 4 (whitespace): NCCL_DEBUG = INFO\n      NCCL does not"));
  EXPECT_THAT(out, HasSubstr("    NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1  (/etc/nccl.conf:5)\n"));
}

}  // namespace
}  // namespace sparkfleet
