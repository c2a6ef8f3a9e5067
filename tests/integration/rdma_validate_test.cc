// `sparkctl validate --tests rdma` end to end: two real agents on loopback, each with a
// DGX Spark fixture tree as its root (so Probe finds rocep1s0f1 and roceP2p1s0f1 ACTIVE)
// and perftest's contract double (tests/fakes/tools/ib_write_bw) first on its
// --tool-path, so the agents run the production ib_write_bw code path.
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::HasSubstr;

class RdmaValidate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/python3", X_OK) != 0) {
      GTEST_SKIP() << "no /usr/bin/python3 (the ib_write_bw double's)";
    }
    // Only the double on the tool path: the machine's other programs stay the real ones.
    std::string double_path = std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools/ib_write_bw";
    ASSERT_EQ(symlink(double_path.c_str(), (tools_.path() + "/ib_write_bw").c_str()), 0);
    // ib_write_bw -D 5 takes a quarter of a second.
    setenv("FAKE_IB_WRITE_BW_TIME_SCALE", "0.05", 1);
    for (const char* name : {"spark-001", "spark-002"}) {
      absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent(
          name, {"--tool-path=" + tools_.path()},
          std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark");
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(*agent);
    }
    yaml_ = cluster_.WriteClusterYaml(agents_, "admin");
  }
  void TearDown() override { unsetenv("FAKE_IB_WRITE_BW_TIME_SCALE"); }

  TempDir tools_;
  ClusterHarness cluster_;
  std::vector<AgentProcess*> agents_;
  std::string yaml_;
};

TEST_F(RdmaValidate, BothHalvesOfEachSparkPairAddUpToAbout190Gbps) {
  ProcessResult run = cluster_.RunSparkctl({"-c", yaml_, "validate", "--tests", "rdma"});
  EXPECT_EQ(run.exit_code, 0) << run.stdout_text << run.stderr_text;
  EXPECT_THAT(run.stdout_text, HasSubstr("RDMA: ib_write_bw, Gb/s summed over the cabled devices"));
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-001  -          189.94"));
  EXPECT_THAT(run.stdout_text, HasSubstr("spark-002  189.94     -"));
  EXPECT_THAT(run.stdout_text,
              HasSubstr("spark-001  spark-002  roceP2p1s0f1  roceP2p1s0f1  97.33"));
  EXPECT_THAT(run.stdout_text, HasSubstr("PASS: 2 passed, 0 failed, 0 skipped (rdma)"));
}

TEST_F(RdmaValidate, UnderTheThresholdFailsNamingEachHalf) {
  ProcessResult run = cluster_.RunSparkctl(
      {"-c", yaml_, "validate", "--tests", "rdma", "--min-bandwidth-gbps", "195", "--json"});
  EXPECT_EQ(run.exit_code, 2) << run.stdout_text << run.stderr_text;
  // protobuf's JSON writes '>' as \u003e.
  EXPECT_THAT(run.stdout_text, HasSubstr("RDMA 189.94 Gb/s (rocep1s0f1 92.61 + roceP2p1s0f1 97.33) "
                                         "spark-001 -\\u003e spark-002"));
  EXPECT_THAT(run.stdout_text, HasSubstr("\"local_rdma_device\":\"roceP2p1s0f1\""));
}

}  // namespace
}  // namespace sparkfleet::testing
