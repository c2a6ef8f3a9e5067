#include "node_agent/service/audit_log.h"

#include <stdlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

AuditRecord Record(const std::string& method) {
  AuditRecord record;
  record.time = absl::FromUnixMillis(1764599400123);  // 2025-12-01T14:30:00.123Z
  record.node = "spark-001";
  record.caller = "admin";
  record.role = "admin";
  record.method = method;
  record.changed = true;
  record.files = {"/etc/nccl.conf"};
  record.duration = absl::Milliseconds(12);
  return record;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-audit-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    env_ = NewRootedEnv(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> text = env_->ReadFile(path);
    return text.ok() ? *text : "<" + std::string(text.status().message()) + ">";
  }

  std::string root_;
  std::unique_ptr<Env> env_;
};

TEST(AuditLine, OneJsonObjectWithWhoWhatWhenAndTheOutcome) {
  AuditRecord record = Record("WriteNcclConf");
  std::string line = AuditLine(record);
  EXPECT_THAT(line, HasSubstr("\"time\":\"2025-12-01T14:30:00.123Z\""));
  EXPECT_THAT(line, HasSubstr("\"caller\":\"admin\""));
  EXPECT_THAT(line, HasSubstr("\"method\":\"WriteNcclConf\""));
  EXPECT_THAT(line, HasSubstr("\"outcome\":\"OK\""));
  EXPECT_THAT(line, HasSubstr("\"files\":[\"/etc/nccl.conf\"]"));
  EXPECT_THAT(line, HasSubstr("\"duration_ms\":12"));
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  EXPECT_THAT(line, Not(HasSubstr("\"error\"")));
}

TEST(AuditLine, AFailureCarriesItsCodeAndMessageQuoted) {
  AuditRecord record = Record("ConfigureLink");
  record.outcome = absl::FailedPreconditionError("netplan apply failed: \"x\"\nline 2");
  std::string line = AuditLine(record);
  EXPECT_THAT(line, HasSubstr("\"outcome\":\"FAILED_PRECONDITION\""));
  EXPECT_THAT(line, HasSubstr("netplan apply failed: \\\"x\\\"\\nline 2"));
}

TEST_F(AuditLogTest, AppendsOneLinePerCallUnderTheRoot) {
  AuditLog log(*env_, AuditLog::Options());
  ASSERT_TRUE(log.Append(Record("ConfigureHosts")).ok());
  ASSERT_TRUE(log.Append(Record("WriteNcclConf")).ok());
  std::vector<std::string> lines = absl::StrSplit(Read(kAuditLogPath), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("\"method\":\"ConfigureHosts\""));
  EXPECT_THAT(lines[1], HasSubstr("\"method\":\"WriteNcclConf\""));
  absl::StatusOr<FileInfo> info = env_->Stat(kAuditLogPath);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->mode & 0777, 0640u);
  EXPECT_FALSE(std::filesystem::exists(root_ + "/var/log/sparkfleet/audit.jsonl.sparkfleet.bak"));
}

TEST_F(AuditLogTest, RotatesBySizeKeepingTheNewestFiles) {
  AuditLog::Options options;
  options.max_bytes = 600;  // about two lines
  options.keep = 2;
  AuditLog log(*env_, options);
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(log.Append(Record(absl::StrCat("Call", i))).ok()) << i;
  }
  std::string current = Read(kAuditLogPath);
  std::string first = Read(std::string(kAuditLogPath) + ".1");
  std::string second = Read(std::string(kAuditLogPath) + ".2");
  EXPECT_THAT(current, HasSubstr("\"Call11\""));
  EXPECT_LE(current.size(), 600u);
  EXPECT_THAT(first, HasSubstr("\"Call"));
  EXPECT_THAT(second, HasSubstr("\"Call"));
  EXPECT_THAT(current + first + second, Not(HasSubstr("\"Call0\"")));  // aged out
  EXPECT_FALSE(std::filesystem::exists(root_ + "/var/log/sparkfleet/audit.jsonl.3"));
}

}  // namespace
}  // namespace sparkfleet
