// cluster.yaml's `validation:` section (thresholds of `sparkctl validate`).
#include <string>

#include "absl/status/status.h"
#include "common/cluster_config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

constexpr char kNodes[] = R"(nodes:
  - {hostname: spark-001, ip: 192.168.1.101, user: nvidia}
)";

absl::StatusOr<ClusterConfig> Parse(const std::string& text) {
  return ParseClusterConfig(text + kNodes, "cluster.yaml", "/etc/fleet",
                            [](const std::string&) { return std::nullopt; });
}

TEST(ClusterConfigValidation, AbsentSectionLeavesEveryThresholdUnset) {
  absl::StatusOr<ClusterConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->validation.min_bandwidth_gbps.has_value());
  EXPECT_FALSE(config->validation.max_latency_ms.has_value());
  EXPECT_FALSE(config->validation.require_ssh.has_value());
}

TEST(ClusterConfigValidation, ReadsAllThreeThresholds) {
  absl::StatusOr<ClusterConfig> config =
      Parse("validation: {min_bandwidth_gbps: 90, max_latency_ms: 0.5, require_ssh: yes}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->validation.min_bandwidth_gbps, 90.0);
  EXPECT_EQ(config->validation.max_latency_ms, 0.5);
  EXPECT_EQ(config->validation.require_ssh, true);
}

TEST(ClusterConfigValidation, NonPositiveOrTextThresholdIsAnErrorAtItsValue) {
  absl::StatusOr<ClusterConfig> config = Parse("validation:\n  min_bandwidth_gbps: fast\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("cluster.yaml:2:23: validation.min_bandwidth_gbps: expected a positive "
                        "number, got \"fast\""));
  EXPECT_THAT(Parse("validation: {max_latency_ms: -1}\n").status().message(),
              HasSubstr("validation.max_latency_ms: expected a positive number"));
}

TEST(ClusterConfigValidation, UnknownKeySuggestsTheRightOne) {
  absl::StatusOr<ClusterConfig> config = Parse("validation:\n  min_bandwith_gbps: 10\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("cluster.yaml:2:3"));
  EXPECT_THAT(config.status().message(), HasSubstr("did you mean \"min_bandwidth_gbps\"?"));
}

TEST(ClusterConfigValidation, RequireSshMustBeABoolean) {
  EXPECT_THAT(Parse("validation: {require_ssh: maybe}\n").status().message(),
              HasSubstr("validation.require_ssh: expected true or false, got \"maybe\""));
}

}  // namespace
}  // namespace sparkfleet
