#include "coordinator/commands/pki_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class PkiCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/pki_command.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ + "/pki";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Runs `sparkctl ARGS...` with only the pki command registered; returns the exit code.
  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    CommandContext context;
    context.out = &out_;
    context.err = &err_;
    CLI::App app("sparkctl");
    RegisterPkiCommand(app, context);
    args.insert(args.begin(), "sparkctl");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& error) {
      return app.exit(error, out_, err_) == 0 ? kExitOk : kExitUsageError;
    }
    return context.exit_code;
  }

  std::string root_, dir_;
  std::ostringstream out_, err_;
};

TEST_F(PkiCommandTest, InitThenIssueNodeAndClientPrintWhatWasWritten) {
  ASSERT_EQ(Run({"pki", "init", "--dir", dir_}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr(dir_ + "/ca.key"));
  ASSERT_EQ(Run({"pki", "issue", "--dir", dir_, "--node", "spark-001", "--ip", "10.0.0.1", "--ip",
                 "10.0.0.2"}),
            kExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr(dir_ + "/spark-001.crt"));
  EXPECT_THAT(out_.str(), HasSubstr("10.0.0.1, 10.0.0.2"));
  ASSERT_EQ(Run({"pki", "issue", "--dir", dir_, "--client", "ops", "--role", "reader"}), kExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("role reader"));
  EXPECT_THAT(err_.str(), IsEmpty());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/ops.key"));
}

TEST_F(PkiCommandTest, SecondInitFailsWithExitOne) {
  ASSERT_EQ(Run({"pki", "init", "--dir", dir_}), kExitOk);
  EXPECT_EQ(Run({"pki", "init", "--dir", dir_}), kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("already exists"));
}

TEST_F(PkiCommandTest, IssueNeedsExactlyOneOfNodeOrClient) {
  ASSERT_EQ(Run({"pki", "init", "--dir", dir_}), kExitOk);
  EXPECT_EQ(Run({"pki", "issue", "--dir", dir_}), kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("exactly one of --node NAME"));
  EXPECT_EQ(Run({"pki", "issue", "--dir", dir_, "--node", "a", "--client", "b", "--role", "admin"}),
            kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("exactly one of"));
}

TEST_F(PkiCommandTest, ClientNeedsAValidRole) {
  ASSERT_EQ(Run({"pki", "init", "--dir", dir_}), kExitOk);
  EXPECT_EQ(Run({"pki", "issue", "--dir", dir_, "--client", "ops"}), kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("--role admin or --role reader"));
  EXPECT_EQ(Run({"pki", "issue", "--dir", dir_, "--client", "ops", "--role", "root"}),
            kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("\"root\" is not a sparkfleet role"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/ops.crt"));
}

TEST_F(PkiCommandTest, BadNodeNameIsReported) {
  ASSERT_EQ(Run({"pki", "init", "--dir", dir_}), kExitOk);
  EXPECT_EQ(Run({"pki", "issue", "--dir", dir_, "--node", "bad_name"}), kExitUsageError);
  EXPECT_THAT(err_.str(), HasSubstr("\"bad_name\" is not a valid host name"));
}

}  // namespace
}  // namespace sparkfleet
