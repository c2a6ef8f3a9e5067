#include "coordinator/deploy/deploy_run.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

NodeRecap Row(const std::string& node, std::vector<StepState> states) {
  NodeRecap row;
  row.node = node;
  for (StepState state : states) row.steps.emplace_back().state = state;
  return row;
}

TEST(SummarizeDeploy, CountsStepsPerNodeAndOffStepsAreSkippedNotFailures) {
  Recap recap;
  recap.nodes.push_back(Row("spark-001", {StepState::kChanged, StepState::kOk, StepState::kDisabled,
                                          StepState::kChanged, StepState::kOk}));
  v1::DeployRecap summary = SummarizeDeploy(recap, absl::Milliseconds(1500));
  ASSERT_EQ(summary.nodes_size(), 1);
  EXPECT_EQ(summary.nodes(0).changed(), 2u);
  EXPECT_EQ(summary.nodes(0).ok(), 2u);
  EXPECT_EQ(summary.nodes(0).skipped(), 1u);
  EXPECT_TRUE(summary.ok());
  EXPECT_EQ(summary.duration_ms(), 1500);
}

TEST(SummarizeDeploy, AnUnreachableNodeMakesTheDeployNotOk) {
  Recap recap;
  recap.nodes.push_back(Row("spark-001", {StepState::kOk, StepState::kOk}));
  recap.nodes.push_back(Row("spark-002", {StepState::kUnreachable, StepState::kSkipped}));
  v1::DeployRecap summary = SummarizeDeploy(recap, absl::ZeroDuration());
  EXPECT_FALSE(summary.ok());
  EXPECT_EQ(summary.nodes(1).unreachable(), 1u);
  EXPECT_EQ(summary.nodes(1).skipped(), 1u);
}

TEST(DeployStateOf, SkippedForBothKindsOfNotRun) {
  EXPECT_EQ(DeployStateOf(StepState::kDisabled), v1::DEPLOY_STATE_SKIPPED);
  EXPECT_EQ(DeployStateOf(StepState::kSkipped), v1::DEPLOY_STATE_SKIPPED);
  EXPECT_EQ(DeployStateOf(StepState::kFailed), v1::DEPLOY_STATE_FAILED);
}

TEST(RenderRecap, OffStepsShowSkippedWithoutFailingTheNode) {
  Recap recap;
  recap.steps = {"TAILSCALE", "NCCL"};
  recap.nodes.push_back(Row("spark-001", {StepState::kDisabled, StepState::kChanged}));
  std::string text = RenderRecap(recap, {});
  EXPECT_THAT(text, ::testing::HasSubstr("spark-001  skipped    changed  changed\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("0 ok, 1 changed, 0 failed\n"));
  EXPECT_EQ(RecapExitCode(recap), 0);
}

}  // namespace
}  // namespace sparkfleet
