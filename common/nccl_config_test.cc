#include "common/nccl_config.h"

#include <optional>
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
  - {hostname: spark-002, ip: 192.168.1.102, user: nvidia}
)";

absl::StatusOr<ClusterConfig> Parse(const std::string& nccl_section) {
  return ParseClusterConfig(std::string(kNodes) + nccl_section, "cluster.yaml", "/etc/fleet",
                            [](const std::string&) { return std::optional<std::string>(); });
}

// The error message of parsing `nccl_section` (empty when it parsed).
std::string ErrorOf(const std::string& nccl_section) {
  absl::StatusOr<ClusterConfig> config = Parse(nccl_section);
  EXPECT_FALSE(config.ok()) << nccl_section;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(NcclConfigSection, DefaultsWhenAbsent) {
  absl::StatusOr<ClusterConfig> config = Parse("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->nccl.install, NcclInstall::kApt);
  EXPECT_EQ(config->nccl.ConfPath(), "/etc/nccl.conf");
  EXPECT_TRUE(config->nccl.EnvFor("spark-001").empty());
}

TEST(NcclConfigSection, ReadsEveryKeyAndMergesNodeOverrides) {
  absl::StatusOr<ClusterConfig> config = Parse(R"(nccl:
  install: source
  source_tag: v2.27.7-1
  conf_path: /etc/nccl.conf
  env: {NCCL_DEBUG: WARN, NCCL_IB_DISABLE: 0}
  nodes:
    SPARK-002: {gid_index: 3, env: {NCCL_DEBUG: INFO}}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  const NcclConfig& nccl = config->nccl;
  EXPECT_EQ(nccl.install, NcclInstall::kSource);
  EXPECT_EQ(nccl.source_tag, "v2.27.7-1");
  using Env = std::map<std::string, std::string>;
  EXPECT_EQ(nccl.EnvFor("spark-001"), (Env{{"NCCL_DEBUG", "WARN"}, {"NCCL_IB_DISABLE", "0"}}));
  EXPECT_EQ(nccl.EnvFor("spark-002"),
            (Env{{"NCCL_DEBUG", "INFO"}, {"NCCL_IB_DISABLE", "0"}, {"NCCL_IB_GID_INDEX", "3"}}));
}

TEST(NcclConfigSection, ErrorsSayWhereAndWhat) {
  EXPECT_THAT(ErrorOf("nccl:\n  install: conda\n"),
              HasSubstr("cluster.yaml:5:12: nccl.install: expected none, apt or source"));
  EXPECT_THAT(ErrorOf("nccl:\n  env:\n    nccl_debug: INFO\n"),
              HasSubstr("cluster.yaml:6:5: nccl.env.nccl_debug \"nccl_debug\" is not an NCCL"));
  EXPECT_THAT(ErrorOf("nccl:\n  env:\n    NCCL_DEBUG: \"INFO  \"\n"),
              HasSubstr("cluster.yaml:6:17: nccl.env.NCCL_DEBUG \"INFO  \" holds whitespace"));
  EXPECT_THAT(ErrorOf("nccl:\n  env: {NCCL_IB_GID_INDEX: 3}\n"),
              HasSubstr("cluster.yaml:5:9: nccl.env.NCCL_IB_GID_INDEX: the RoCE v2 GID index "
                        "differs between nodes"));
  EXPECT_THAT(ErrorOf("nccl:\n  nodes:\n    spark-009: {gid_index: 3}\n"),
              HasSubstr("cluster.yaml:6:5: nccl.nodes.spark-009: \"spark-009\" is not a node of "
                        "this cluster; nodes are spark-001, spark-002"));
  EXPECT_THAT(ErrorOf("nccl:\n  nodes:\n    spark-001: {gid_index: 300}\n"),
              HasSubstr("nccl.nodes.spark-001.gid_index: must be a GID table index 0..255"));
  EXPECT_THAT(ErrorOf("nccl:\n  conf_path: /tmp/nccl.conf\n"),
              HasSubstr("cluster.yaml:5:14: nccl.conf_path \"/tmp/nccl.conf\" is not under /etc/"));
  EXPECT_THAT(ErrorOf("nccl:\n  instal: apt\n"), HasSubstr("did you mean \"install\""));
  EXPECT_THAT(ErrorOf("nccl:\n  version: \"2.27; rm\"\n"),
              HasSubstr("cluster.yaml:5:12: nccl.version \"2.27; rm\" is not an apt package "
                        "version"));
}

// The agent's InstallNccl rules, refused when the file is loaded.
TEST(NcclConfigSection, VersionAndSourceTagFollowTheAgentsRules) {
  EXPECT_THAT(ErrorOf("nccl:\n  version: latest\n"), HasSubstr("is not an apt package version"));
  EXPECT_THAT(ErrorOf("nccl:\n  version: \"-oAPT::x\"\n"),
              HasSubstr("is not an apt package version"));
  EXPECT_THAT(ErrorOf("nccl:\n  install: source\n  source_tag: master\n"),
              HasSubstr("cluster.yaml:6:15: nccl.source_tag \"master\" is not an NCCL release "
                        "tag (e.g. v2.27.7-1)"));
  EXPECT_THAT(ErrorOf("nccl:\n  source_tag: v2.27:7\n"), HasSubstr("is not an NCCL release tag"));
  EXPECT_TRUE(Parse("nccl:\n  version: 2.27.7-1+cuda13.0\n").ok());
  EXPECT_TRUE(Parse("nccl:\n  version: \"\"\n").ok());
  EXPECT_TRUE(ValidateNcclPackageVersion("1:2.27.7~rc1-1").ok());
  EXPECT_FALSE(ValidateNcclPackageVersion(std::string(65, '1')).ok());
  EXPECT_TRUE(ValidateNcclSourceTag("v2.28.3-1").ok());
  EXPECT_FALSE(ValidateNcclSourceTag("v").ok());
}

TEST(NcclConfigRules, KeysValuesAndPaths) {
  EXPECT_TRUE(ValidateNcclKey("NCCL_IB_HCA").ok());
  EXPECT_FALSE(ValidateNcclKey("NCCL_CONF_FILE").ok());
  EXPECT_FALSE(ValidateNcclKey("NCCL_ib_hca").ok());
  EXPECT_TRUE(ValidateNcclValue("=rocep1s0f1,roceP2p1s0f1").ok());
  EXPECT_TRUE(ValidateNcclValue("^docker,lo").ok());
  EXPECT_FALSE(ValidateNcclValue(std::string(1024, 'x')).ok());
  EXPECT_TRUE(ValidateNcclConfPath("/root/.nccl.conf").ok());
  EXPECT_TRUE(ValidateNcclConfPath("/etc/nccl/nccl.conf").ok());
  EXPECT_FALSE(ValidateNcclConfPath("/etc").ok());
  EXPECT_FALSE(ValidateNcclConfPath("/home/a/../../etc/passwd").ok());
}

TEST(NcclConfigRules, RefusesFilesThatAreNotNcclConfAndShellText) {
  EXPECT_TRUE(ValidateNcclConfPath("/etc/nccl-extra.conf").ok());
  EXPECT_TRUE(ValidateNcclConfPath("/home/nvidia/.nccl.conf").ok());
  for (const char* path : {"/etc/passwd", "/root/.bashrc", "/etc/nccl.conf.d/x.conf",
                           "/etc/apt/apt.conf.d/nccl.conf", "/etc/nccl.conf;id"}) {
    EXPECT_FALSE(ValidateNcclConfPath(path).ok()) << path;
  }
  EXPECT_TRUE(ValidateNcclValue("/opt/topo.xml").ok());
  EXPECT_TRUE(ValidateNcclValue("%h-%p.log").ok());
  for (const char* value : {"$(id)", "`id`", "a|b", "a&&b", "a;b", "a>b", "'a'"}) {
    EXPECT_FALSE(ValidateNcclValue(value).ok()) << value;
  }
}

}  // namespace
}  // namespace sparkfleet
