#include "coordinator/bootstrap_health.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

const ClusterNode kNode{"spark-001", "192.168.100.10", "nvidia", kDefaultAgentPort};

TEST(WaitUntilServing, ReturnsAsSoonAsTheAgentServes) {
  std::atomic<int> calls{0};
  AgentHealthCheck check = [&](const ClusterNode&, absl::Duration) {
    return ++calls < 3 ? absl::UnavailableError("connection refused") : absl::OkStatus();
  };
  EXPECT_TRUE(WaitUntilServing(check, kNode, absl::Seconds(10), absl::Milliseconds(1)).ok());
  EXPECT_EQ(calls, 3);
}

TEST(WaitUntilServing, KeepsTheTellingErrorOverALastShortDeadline) {
  std::atomic<int> calls{0};
  AgentHealthCheck check = [&](const ClusterNode&, absl::Duration) {
    return ++calls == 1 ? absl::UnavailableError("connection refused")
                        : absl::DeadlineExceededError("deadline");
  };
  absl::Status status =
      WaitUntilServing(check, kNode, absl::Milliseconds(100), absl::Milliseconds(10));
  EXPECT_GT(calls, 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("spark-001 did not report SERVING within 100 ms"));
  EXPECT_THAT(status.message(), HasSubstr("connection refused"));
}

}  // namespace
}  // namespace sparkfleet
