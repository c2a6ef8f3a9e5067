#include "node_agent/info/doctor_facts.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::testing::ScriptedProcessRunner;
using ::testing::HasSubstr;

std::string SparkFixture() {
  return std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark";
}

ProcessResult Output(int exit_code, const std::string& out) {
  ProcessResult result;
  result.exit_code = exit_code;
  result.stdout_text = out;
  return result;
}

TEST(ParseMeminfo, BytesOfMemoryAndCma) {
  v1::GetDoctorFactsReply reply;
  ParseMeminfo("MemTotal:  1000 kB\nMemAvailable: 600 kB\nCmaTotal:  0 kB\nHugePages_Total: 0\n",
               reply);
  EXPECT_EQ(reply.memory_total_bytes(), 1024000);
  EXPECT_EQ(reply.memory_available_bytes(), 614400);
  ASSERT_TRUE(reply.has_cma_total_bytes());
  EXPECT_EQ(reply.cma_total_bytes(), 0);
  EXPECT_FALSE(reply.has_cma_free_bytes());
}

TEST(ParseMeminfo, NoCmaLineLeavesItUnknown) {
  v1::GetDoctorFactsReply reply;
  ParseMeminfo("MemTotal: 1 kB\ngarbage\n:\n", reply);
  EXPECT_FALSE(reply.has_cma_total_bytes());
}

TEST(ParseChronyTracking, SynchronizedWithItsOffset) {
  auto clock = ParseChronyTracking(
      "A9FEA9FE,169.254.169.254,3,1764599400.123,-0.000250000,0.0,0.0,-2.3,0.0,0.05,0.0005,"
      "0.0003,64.2,Normal\n");
  ASSERT_TRUE(clock.has_value());
  EXPECT_EQ(clock->source(), v1::CLOCK_SYNC_SOURCE_CHRONY);
  EXPECT_TRUE(clock->synchronized());
  EXPECT_EQ(clock->offset_us(), -250);
}

TEST(ParseChronyTracking, NotSynchronisedHasNoOffset) {
  auto clock =
      ParseChronyTracking("00000000,,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0,1.0,0.0,Not synchronised\n");
  ASSERT_TRUE(clock.has_value());
  EXPECT_FALSE(clock->synchronized());
  EXPECT_FALSE(clock->has_offset_us());
  EXPECT_FALSE(ParseChronyTracking("506 Cannot talk to daemon").has_value());
}

TEST(ParseTimedatectlShow, TimesyncdState) {
  auto clock = ParseTimedatectlShow("Timezone=UTC\nNTP=yes\nNTPSynchronized=no\n");
  ASSERT_TRUE(clock.has_value());
  EXPECT_EQ(clock->source(), v1::CLOCK_SYNC_SOURCE_TIMESYNCD);
  EXPECT_FALSE(clock->synchronized());
  EXPECT_FALSE(ParseTimedatectlShow("Timezone=UTC\n").has_value());
}

TEST(CollectDoctorFacts, ReadsTheSparkFixtureAndFallsBackToTimedatectl) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;
  runner.Script("chronyc", [](const auto&, const ProcessOptions&) { return Output(1, ""); });
  runner.Script("timedatectl", [](const auto&, const ProcessOptions&) {
    return Output(0, "NTP=yes\nNTPSynchronized=yes\n");
  });
  v1::GetDoctorFactsRequest request;
  request.add_users("nobody-here");
  v1::GetDoctorFactsReply reply = CollectDoctorFacts(
      *env, runner, request, [] { return absl::FromUnixMicros(1764599400000000); });
  EXPECT_EQ(reply.memory_total_bytes(), int64_t{127526044} * 1024);
  EXPECT_EQ(reply.cma_total_bytes(), 65536 * 1024);
  EXPECT_EQ(reply.clock().source(), v1::CLOCK_SYNC_SOURCE_TIMESYNCD);
  EXPECT_TRUE(reply.clock().synchronized());
  EXPECT_EQ(reply.wall_clock_unix_us(), 1764599400000000);
  ASSERT_EQ(reply.users_size(), 1);
  EXPECT_FALSE(reply.users(0).exists());  // the fixture has no /etc/passwd: warned
}

TEST(CollectDoctorFacts, NoClockToolIsUnknownWithAWarningNotAnError) {
  std::unique_ptr<Env> env = NewRootedEnv(SparkFixture());
  ScriptedProcessRunner runner;  // neither chronyc nor timedatectl exists
  v1::GetDoctorFactsReply reply = CollectDoctorFacts(*env, runner, {});
  EXPECT_EQ(reply.clock().source(), v1::CLOCK_SYNC_SOURCE_UNSPECIFIED);
  EXPECT_FALSE(reply.clock().has_synchronized());
  ASSERT_GE(reply.warnings_size(), 1);
  EXPECT_THAT(reply.warnings(0).message(), HasSubstr("clock synchronization unknown"));
}

TEST(ValidateGetDoctorFactsRequest, RefusesABadUserName) {
  v1::GetDoctorFactsRequest request;
  request.add_users("../root");
  absl::Status status = ValidateGetDoctorFactsRequest(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("users[0]"));
}

}  // namespace
}  // namespace sparkfleet
