#include "node_agent/ops/nccl_conf_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/env.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The problems of `file` as "line:kind" strings, in order.
std::vector<std::string> Problems(const v1::NcclConfFile& file) {
  std::vector<std::string> out;
  for (const v1::NcclConfProblem& problem : file.problems()) {
    out.push_back(
        absl::StrCat(problem.line(), ":", v1::NcclConfProblemKind_Name(problem.kind()).substr(23)));
  }
  return out;
}

const v1::NcclConfProblem* ProblemOn(const v1::NcclConfFile& file, uint32_t line) {
  for (const v1::NcclConfProblem& problem : file.problems()) {
    if (problem.line() == line) return &problem;
  }
  return nullptr;
}

TEST(NcclConfParse, CleanFileHasSettingsAndNoProblems) {
  v1::NcclConfFile file = ParseNcclConfText(
      "# sparkfleet\n\nNCCL_SOCKET_IFNAME==enp1s0f1np1,enP2p1s0f1np1\nNCCL_IB_HCA==rocep1s0f1\n",
      "/etc/nccl.conf");
  EXPECT_TRUE(file.present());
  EXPECT_THAT(file.problems(), IsEmpty());
  ASSERT_EQ(file.settings_size(), 2);
  EXPECT_EQ(file.settings(0).key(), "NCCL_SOCKET_IFNAME");
  EXPECT_EQ(file.settings(0).value(), "=enp1s0f1np1,enP2p1s0f1np1");
  EXPECT_EQ(file.settings(0).line(), 3u);
  EXPECT_EQ(file.settings(1).source(), "/etc/nccl.conf");
}

TEST(NcclConfParse, SpacesAroundEqualsAreFlaggedWithWhatNcclWouldSet) {
  v1::NcclConfFile file = ParseNcclConfText("NCCL_DEBUG=WARN\nNCCL_IB_HCA = mlx5_0\n", "f");
  EXPECT_THAT(Problems(file), ::testing::ElementsAre("2:WHITESPACE"));
  const v1::NcclConfProblem* problem = ProblemOn(file, 2);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(problem->text(), "NCCL_IB_HCA = mlx5_0");
  EXPECT_THAT(problem->message(), HasSubstr("sets \"NCCL_IB_HCA \" to \" mlx5_0\""));
  EXPECT_THAT(problem->message(), HasSubstr("write NCCL_IB_HCA=mlx5_0"));
  // NCCL really sets the odd name: the setting says so.
  EXPECT_EQ(file.settings(1).key(), "NCCL_IB_HCA ");
}

TEST(NcclConfParse, TrailingSpacesCrlfAndInlineCommentsAreFlagged) {
  v1::NcclConfFile file = ParseNcclConfText(
      "NCCL_DEBUG=INFO  \nNCCL_IB_DISABLE=0\r\nNCCL_P2P_LEVEL=NVL # fast\n  # NCCL_X=1\n", "f");
  EXPECT_THAT(Problems(file), ::testing::ElementsAre("1:WHITESPACE", "2:WHITESPACE", "3:WHITESPACE",
                                                     "4:WHITESPACE"));
  EXPECT_THAT(ProblemOn(file, 1)->message(), HasSubstr("ends in whitespace"));
  EXPECT_THAT(ProblemOn(file, 2)->message(), HasSubstr("CRLF"));
  EXPECT_THAT(ProblemOn(file, 3)->message(), HasSubstr("comment on a line of its own"));
  EXPECT_THAT(ProblemOn(file, 4)->message(), HasSubstr("first column"));
}

TEST(NcclConfParse, LinesWithoutEqualsAreFlaggedButBlankLinesAndCommentsAreNot) {
  v1::NcclConfFile file =
      ParseNcclConfText("\n   \n# comment\n  # indented\nNCCL_DEBUG INFO\n=INFO\n", "f");
  EXPECT_THAT(Problems(file), ::testing::ElementsAre("5:NO_EQUALS", "6:NO_EQUALS"));
  EXPECT_THAT(file.settings(), IsEmpty());
}

TEST(NcclConfParse, UnknownKeysAreFlaggedWithASuggestion) {
  v1::NcclConfFile file = ParseNcclConfText(
      "NCCL_SOCKET_IFNAM==eth0\nNCCL_TOTALLY_MADE_UP=1\nCUDA_VISIBLE_DEVICES=0\nNCCL_DEBUG=WARN\n",
      "f");
  EXPECT_THAT(Problems(file),
              ::testing::ElementsAre("1:UNKNOWN_KEY", "2:UNKNOWN_KEY", "3:UNKNOWN_KEY"));
  EXPECT_THAT(ProblemOn(file, 1)->message(), HasSubstr("did you mean NCCL_SOCKET_IFNAME?"));
  EXPECT_THAT(ProblemOn(file, 2)->message(), HasSubstr("ignores it"));
  EXPECT_THAT(ProblemOn(file, 3)->message(), HasSubstr("is not an NCCL variable"));
}

TEST(NcclConfParse, DuplicatesKeepTheFirstValueAsNcclDoes) {
  v1::NcclConfFile file =
      ParseNcclConfText("NCCL_DEBUG=WARN\nNCCL_IB_HCA=mlx5_0\nNCCL_DEBUG=INFO\n", "f");
  EXPECT_THAT(Problems(file), ::testing::ElementsAre("3:DUPLICATE"));
  EXPECT_THAT(ProblemOn(file, 3)->message(), HasSubstr("already set on line 1"));
}

// fuzz_nccl_conf: a line holding a byte that is not UTF-8 went into the reply as it was,
// and the reply then did not parse on sparkctl's side; such text is C-escaped.
TEST(NcclConfParse, FuzzRegressionTextNotUtf8IsEscaped) {
  v1::NcclConfFile file = ParseNcclConfText("\xb0", "/etc/nccl.conf");
  ASSERT_EQ(file.problems_size(), 1);
  EXPECT_EQ(file.problems(0).text(), "\\xb0");
  file = ParseNcclConfText("NCCL_DEBUG=caf\xe9\n", "/etc/nccl.conf");
  ASSERT_EQ(file.settings_size(), 1);
  EXPECT_EQ(file.settings(0).value(), "caf\\xe9");
  v1::NcclConfFile copy;
  ASSERT_TRUE(copy.ParseFromString(file.SerializeAsString()));
}

TEST(NcclConfPasswd, FindsHomeByNameOrUid) {
  std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\nnvidia:x:1000:1000:,,,:/home/nvidia:/bin/bash\nbad\n";
  EXPECT_EQ(HomeFromPasswd(passwd, "nvidia", 0), "/home/nvidia");
  EXPECT_EQ(HomeFromPasswd(passwd, "", 0), "/root");
  EXPECT_EQ(HomeFromPasswd(passwd, "", 1000), "/home/nvidia");
  EXPECT_EQ(HomeFromPasswd(passwd, "nobody", 0), std::nullopt);
}

class NcclConfReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-ncclread-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/etc");
    std::filesystem::create_directories(root_ + "/home/nvidia");
    env_ = NewRootedEnv(root_);
    Put("/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nnvidia:x:1000:1000::/home/nvidia:/bin/bash\n");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Put(absl::string_view path, absl::string_view text) {
    ASSERT_TRUE(env_->WriteFileAtomic(path, text, {}).ok());
  }
  absl::StatusOr<v1::ReadNcclConfReply> Read(const std::string& user,
                                             NcclProcessFacts process = {}) {
    v1::ReadNcclConfRequest request;
    request.set_user(user);
    return ReadNcclConf(*env_, request, process);
  }

  std::string root_;
  std::unique_ptr<Env> env_;
};

std::string Effective(const v1::ReadNcclConfReply& reply) {
  std::string out;
  for (const v1::NcclSetting& s : reply.effective()) {
    absl::StrAppend(&out, s.key(), "=", s.value(), "@", s.source(), ":", s.line(), "\n");
  }
  return out;
}

TEST_F(NcclConfReadTest, EnvironmentWinsThenUserFileThenEtc) {
  Put("/etc/nccl.conf", "NCCL_DEBUG=WARN\nNCCL_IB_HCA==rocep1s0f1\nNCCL_SOCKET_IFNAME==enP7s7\n");
  Put("/home/nvidia/.nccl.conf", "NCCL_SOCKET_IFNAME==enp1s0f1np1\nNCCL_IB_HCA==mlx5_0\n");
  NcclProcessFacts process;
  process.environment = {{"NCCL_IB_HCA", "=roceP2p1s0f1"}};
  absl::StatusOr<v1::ReadNcclConfReply> reply = Read("nvidia", process);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->files_size(), 2);
  EXPECT_EQ(reply->files(0).path(), "/home/nvidia/.nccl.conf");
  EXPECT_EQ(reply->files(1).path(), "/etc/nccl.conf");
  EXPECT_EQ(Effective(*reply),
            "NCCL_IB_HCA==roceP2p1s0f1@environment:0\n"
            "NCCL_SOCKET_IFNAME==enp1s0f1np1@/home/nvidia/.nccl.conf:1\n"
            "NCCL_DEBUG=WARN@/etc/nccl.conf:1\n");
  EXPECT_THAT(Problems(reply->files(0)), ::testing::ElementsAre("2:SHADOWED"));
  EXPECT_THAT(Problems(reply->files(1)), ::testing::ElementsAre("2:SHADOWED", "3:SHADOWED"));
  EXPECT_THAT(ProblemOn(reply->files(1), 3)->message(),
              HasSubstr("/home/nvidia/.nccl.conf line 1 sets NCCL_SOCKET_IFNAME==enp1s0f1np1"));
  EXPECT_THAT(ProblemOn(reply->files(1), 2)->message(), HasSubstr("the environment sets"));
}

TEST_F(NcclConfReadTest, NcclConfFileReplacesTheHomeFileAndMissingFilesAreAbsent) {
  Put("/etc/sparkfleet-nccl.conf", "NCCL_DEBUG=INFO\n");
  Put("/home/nvidia/.nccl.conf", "NCCL_DEBUG=TRACE\n");
  NcclProcessFacts process;
  process.environment = {{"NCCL_CONF_FILE", "/etc/sparkfleet-nccl.conf"}};
  absl::StatusOr<v1::ReadNcclConfReply> reply = Read("nvidia", process);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->files_size(), 2);
  EXPECT_EQ(reply->files(0).path(), "/etc/sparkfleet-nccl.conf");
  EXPECT_FALSE(reply->files(1).present());
  EXPECT_THAT(Effective(*reply), HasSubstr("NCCL_DEBUG=INFO@/etc/sparkfleet-nccl.conf:1\n"));
}

TEST_F(NcclConfReadTest, ExtraConfPathIsListedButNotEffective) {
  Put("/etc/nccl-extra.conf", "NCCL_DEBUG = INFO\n");
  v1::ReadNcclConfRequest request;
  request.set_conf_path("/etc/nccl-extra.conf");
  absl::StatusOr<v1::ReadNcclConfReply> reply = ReadNcclConf(*env_, request, {});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->files_size(), 3);  // ~root/.nccl.conf, /etc/nccl.conf, the extra one
  EXPECT_EQ(reply->files(0).path(), "/root/.nccl.conf");
  EXPECT_THAT(Problems(reply->files(2)), ::testing::ElementsAre("1:WHITESPACE"));
  EXPECT_THAT(reply->effective(), IsEmpty());
}

TEST_F(NcclConfReadTest, UnknownUserIsAFailedPreconditionAndBadRequestsInvalid) {
  EXPECT_EQ(Read("ghost").status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(env_->RemoveFile("/etc/passwd").ok());
  absl::StatusOr<v1::ReadNcclConfReply> sandbox = Read("ghost");  // no passwd: the usual home
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  EXPECT_EQ(sandbox->files(0).path(), "/home/ghost/.nccl.conf");
  v1::ReadNcclConfRequest bad;
  bad.set_user("../root");
  EXPECT_EQ(ValidateReadNcclConfRequest(bad).code(), absl::StatusCode::kInvalidArgument);
  bad.set_user("");
  bad.set_conf_path("/var/tmp/x");
  EXPECT_EQ(ValidateReadNcclConfRequest(bad).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sparkfleet
