#include "coordinator/commands/deploy_command.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

v1::DeployEvent Event(const std::string& node, const std::string& step, v1::DeployState state) {
  v1::DeployEvent event;
  event.set_node(node);
  event.set_step(step);
  event.set_state(state);
  return event;
}

TEST(DeployProgressLine, OneLinePerNodeAndStepWithTheErrorOrTheTime) {
  std::vector<PlannedStep> plan = {{DeployStep::kMultiNode, true, ""}};
  std::set<std::string> shown;
  v1::DeployEvent changed = Event("spark-001", "multi-node", v1::DEPLOY_STATE_CHANGED);
  changed.set_duration_ms(1250);
  EXPECT_EQ(DeployProgressLine(changed, plan, &shown), "[multi-node] spark-001: changed (1.2 s)");
  v1::DeployEvent down = Event("spark-002", "multi-node", v1::DEPLOY_STATE_UNREACHABLE);
  down.set_error("ConfigureNfs: UNAVAILABLE: connection refused");
  EXPECT_EQ(DeployProgressLine(down, plan, &shown),
            "[multi-node] spark-002: unreachable: ConfigureNfs: UNAVAILABLE: connection refused");
}

TEST(DeployProgressLine, TaskAndRecapEventsPrintNothing) {
  std::set<std::string> shown;
  v1::DeployEvent task = Event("spark-001", "multi-node", v1::DEPLOY_STATE_OK);
  task.set_task("ConfigureHosts");
  EXPECT_EQ(DeployProgressLine(task, {}, &shown), "");
  v1::DeployEvent recap;
  recap.mutable_recap()->set_ok(true);
  EXPECT_EQ(DeployProgressLine(recap, {}, &shown), "");
}

TEST(DeployProgressLine, AStepThatIsOffIsSaidOnce) {
  std::vector<PlannedStep> plan = {{DeployStep::kTailscale, false, "enable_tailscale is false"}};
  std::set<std::string> shown;
  EXPECT_EQ(
      DeployProgressLine(Event("spark-001", "tailscale", v1::DEPLOY_STATE_SKIPPED), plan, &shown),
      "[tailscale] skipped: enable_tailscale is false");
  EXPECT_EQ(
      DeployProgressLine(Event("spark-002", "tailscale", v1::DEPLOY_STATE_SKIPPED), plan, &shown),
      "");
}

}  // namespace
}  // namespace sparkfleet
