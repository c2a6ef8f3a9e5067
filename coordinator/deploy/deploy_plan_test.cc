#include "coordinator/deploy/deploy_plan.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

ClusterConfig Config(bool tailscale, bool nccl) {
  ClusterConfig config;
  config.enable_tailscale = tailscale;
  config.enable_nccl = nccl;
  return config;
}

std::vector<std::string> Running(const std::vector<PlannedStep>& plan) {
  std::vector<std::string> names;
  for (const PlannedStep& step : plan) {
    if (step.run) names.push_back(DeployStepName(step.step));
  }
  return names;
}

TEST(PlanDeploy, RunsEveryEnabledStepInPipelineOrder) {
  auto plan = PlanDeploy(Config(true, true), {}, {}, /*check=*/false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 5u);
  EXPECT_EQ(Running(*plan), (std::vector<std::string>{"single-node", "multi-node", "tailscale",
                                                      "nccl", "validate"}));
}

TEST(PlanDeploy, DisabledStepsAreOffSayingWhichSetting) {
  auto plan = PlanDeploy(Config(false, false), {}, {}, /*check=*/false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Running(*plan), (std::vector<std::string>{"single-node", "multi-node", "validate"}));
  EXPECT_EQ((*plan)[2].off_reason, "enable_tailscale is false in cluster.yaml");
  EXPECT_EQ((*plan)[3].off_reason, "enable_nccl is false in cluster.yaml");
}

TEST(PlanDeploy, CheckModeLeavesValidateOut) {
  auto plan = PlanDeploy(Config(false, true), {}, {}, /*check=*/true);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE((*plan)[4].run);
  EXPECT_THAT((*plan)[4].off_reason, HasSubstr("check mode"));
}

TEST(PlanDeploy, StepsKeepPipelineOrderWhateverTheOrderGiven) {
  auto plan = PlanDeploy(Config(true, true), {"nccl,single-node"}, {}, false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Running(*plan), (std::vector<std::string>{"single-node", "nccl"}));
  EXPECT_EQ((*plan)[1].off_reason, "not in --steps");
}

TEST(PlanDeploy, SkipWinsOverSteps) {
  auto plan = PlanDeploy(Config(true, true), {"nccl", "validate"}, {"validate"}, false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Running(*plan), (std::vector<std::string>{"nccl"}));
  EXPECT_EQ((*plan)[4].off_reason, "left out by --skip");
}

TEST(PlanDeploy, UnknownStepIsRefusedListingTheKnownOnes) {
  auto plan = PlanDeploy(Config(true, true), {}, {"reboot"}, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("--skip: \"reboot\" is not a deploy step"));
  EXPECT_THAT(plan.status().message(),
              HasSubstr("single-node, multi-node, tailscale, nccl, validate"));
}

TEST(PlanDeploy, NothingLeftToRunIsAnError) {
  auto plan = PlanDeploy(Config(false, true), {"tailscale"}, {}, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("nothing to deploy"));
}

}  // namespace
}  // namespace sparkfleet
