#include "coordinator/commands/validate_command.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ValidateRequestFromFlags, TheSeedsFlagsAndTheNewOnes) {
  ValidateFlags flags;
  flags.tests = {"ssh", "ping", "bandwidth", "gpu"};
  flags.interface = "enp1s0f1np1";
  flags.pairs = "sample:3";
  flags.duration_s = 2;
  flags.parallel_streams = 4;
  flags.min_bandwidth_gbps = 90;
  absl::StatusOr<v1::ValidateRequest> request = ValidateRequestFromFlags(flags);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_THAT(request->tests(), ElementsAre(v1::VALIDATE_TEST_SSH, v1::VALIDATE_TEST_PING,
                                            v1::VALIDATE_TEST_BANDWIDTH, v1::VALIDATE_TEST_GPU));
  EXPECT_EQ(request->interface(), "enp1s0f1np1");
  EXPECT_EQ(request->pairs(), v1::PAIR_SELECTION_SAMPLE);
  EXPECT_EQ(request->sample_k(), 3u);
  EXPECT_EQ(request->bandwidth_duration_s(), 2u);
  EXPECT_EQ(request->parallel_streams(), 4u);
  EXPECT_EQ(request->thresholds().min_bandwidth_gbps(), 90);
  EXPECT_FALSE(request->thresholds().has_max_latency_ms());
}

TEST(ValidateRequestFromFlags, MistakesNameTheFlag) {
  auto message = [](ValidateFlags flags) {
    return std::string(ValidateRequestFromFlags(flags).status().message());
  };
  ValidateFlags flags;
  flags.tests = {"pnig"};
  EXPECT_THAT(message(flags), HasSubstr("--tests: unknown test \"pnig\"; choose from ssh, ping"));
  flags.tests = {};
  flags.pairs = "sample:0";
  EXPECT_THAT(message(flags), HasSubstr("--pairs \"sample:0\""));
  flags.pairs = "star";
  EXPECT_THAT(message(flags), HasSubstr("expected all, ring or sample:K"));
  flags.pairs = "ring";
  flags.interface = "a/b";
  EXPECT_THAT(message(flags), HasSubstr("--interface: \"a/b\""));
}

}  // namespace
}  // namespace sparkfleet
