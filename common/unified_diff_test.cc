#include "common/unified_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(UnifiedDiff, EqualTextsGiveNoDiff) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\n", "x", "y"), "");
  EXPECT_EQ(UnifiedDiff("", "", "x", "y"), "");
}

TEST(UnifiedDiff, ChangedLineWithContextLikeDiffU) {
  std::string old_text =
      "NCCL_DEBUG=WARN\nNCCL_IB_HCA==rocep1s0f1\nNCCL_SOCKET_IFNAME==enp1s0f1np1\n";
  std::string new_text =
      "NCCL_DEBUG=WARN\nNCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\nNCCL_SOCKET_IFNAME==enp1s0f1np1\n";
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "/etc/nccl.conf", "/etc/nccl.conf (new)"),
            "--- /etc/nccl.conf\n"
            "+++ /etc/nccl.conf (new)\n"
            "@@ -1,3 +1,3 @@\n"
            " NCCL_DEBUG=WARN\n"
            "-NCCL_IB_HCA==rocep1s0f1\n"
            "+NCCL_IB_HCA==rocep1s0f1,roceP2p1s0f1\n"
            " NCCL_SOCKET_IFNAME==enp1s0f1np1\n");
}

TEST(UnifiedDiff, NewFileFromDevNull) {
  EXPECT_EQ(UnifiedDiff("", "a\nb\n", "/dev/null", "/etc/nccl.conf"),
            "--- /dev/null\n+++ /etc/nccl.conf\n@@ -0,0 +1,2 @@\n+a\n+b\n");
}

TEST(UnifiedDiff, RemovedFileAndSingleLineRanges) {
  EXPECT_EQ(UnifiedDiff("a\n", "", "f", "f"), "--- f\n+++ f\n@@ -1 +0,0 @@\n-a\n");
  EXPECT_EQ(UnifiedDiff("a\n", "b\n", "f", "f"), "--- f\n+++ f\n@@ -1 +1 @@\n-a\n+b\n");
}

TEST(UnifiedDiff, FarApartChangesMakeTwoHunksNearOnesOne) {
  std::string old_text;
  for (int i = 1; i <= 20; ++i) absl::StrAppend(&old_text, "line", i, "\n");
  std::string far = old_text;
  far.replace(far.find("line2\n"), 6, "LINE2\n");
  far.replace(far.find("line18\n"), 7, "LINE18\n");
  std::string diff = UnifiedDiff(old_text, far, "a", "b");
  EXPECT_THAT(diff, HasSubstr("@@ -1,5 +1,5 @@\n"));
  EXPECT_THAT(diff, HasSubstr("@@ -15,6 +15,6 @@\n"));

  // Six unchanged lines between two changes (2 * context) still make one hunk.
  std::string near = old_text;
  near.replace(near.find("line2\n"), 6, "LINE2\n");
  near.replace(near.find("line9\n"), 6, "LINE9\n");
  diff = UnifiedDiff(old_text, near, "a", "b");
  EXPECT_THAT(diff, HasSubstr("@@ -1,12 +1,12 @@\n"));
  EXPECT_EQ(diff.find("\n@@ ", diff.find("@@ -1,12") + 1), std::string::npos) << diff;
}

TEST(UnifiedDiff, MarksAMissingFinalNewline) {
  EXPECT_EQ(UnifiedDiff("a\nb", "a\nb\n", "f", "f"),
            "--- f\n+++ f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

TEST(UnifiedDiff, ZeroContextShowsOnlyChangedLines) {
  std::string diff = UnifiedDiff("a\nb\nc\n", "a\nB\nc\n", "f", "f", 0);
  EXPECT_EQ(diff, "--- f\n+++ f\n@@ -2 +2 @@\n-b\n+B\n");
  EXPECT_THAT(diff, Not(HasSubstr(" a\n")));
}

TEST(UnifiedDiff, PrefersTheShortestEditScript) {
  // Myers finds the single insertion, not a delete-and-reinsert of the whole tail.
  std::string diff = UnifiedDiff("a\nb\nc\nd\n", "a\nx\nb\nc\nd\n", "f", "f", 0);
  EXPECT_EQ(diff, "--- f\n+++ f\n@@ -1,0 +2 @@\n+x\n");
}

// Applies a unified diff to `old_text` the way patch(1) does, for round-trip checks.
std::string ApplyPatch(const std::string& old_text, const std::string& diff) {
  std::vector<std::string> old_lines = absl::StrSplit(old_text, '\n');
  old_lines.pop_back();  // inputs in the round-trip test always end with '\n'
  std::vector<std::string> out;
  size_t next_old = 0;
  std::vector<std::string> lines = absl::StrSplit(diff, '\n');
  for (size_t i = 2; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    if (line.rfind("@@ -", 0) == 0) {
      std::string range = line.substr(4, line.find(' ', 4) - 4);
      std::vector<std::string> parts = absl::StrSplit(range, ',');
      size_t start = 0;
      EXPECT_TRUE(absl::SimpleAtoi(parts[0], &start));
      size_t count = parts.size() > 1 ? std::stoul(parts[1]) : 1;
      size_t first = count == 0 ? start : start - 1;
      while (next_old < first) out.push_back(old_lines[next_old++]);
      continue;
    }
    if (line[0] == ' ') {
      EXPECT_EQ(old_lines[next_old], line.substr(1));
      out.push_back(old_lines[next_old++]);
    } else if (line[0] == '-') {
      EXPECT_EQ(old_lines[next_old], line.substr(1));
      ++next_old;
    } else if (line[0] == '+') {
      out.push_back(line.substr(1));
    }
  }
  while (next_old < old_lines.size()) out.push_back(old_lines[next_old++]);
  std::string result;
  for (const std::string& line : out) absl::StrAppend(&result, line, "\n");
  return result;
}

TEST(UnifiedDiff, RandomEditsRoundTripThroughPatch) {
  std::mt19937 random(42);
  for (int round = 0; round < 300; ++round) {
    std::string old_text;
    std::string new_text;
    int old_lines = random() % 30;
    for (int i = 0; i < old_lines; ++i) absl::StrAppend(&old_text, "l", random() % 6, "\n");
    int new_lines = random() % 30;
    for (int i = 0; i < new_lines; ++i) absl::StrAppend(&new_text, "l", random() % 6, "\n");
    std::string diff = UnifiedDiff(old_text, new_text, "a", "b", static_cast<int>(random() % 4));
    ASSERT_EQ(ApplyPatch(old_text, diff), new_text) << old_text << "->\n" << new_text << diff;
  }
}

}  // namespace
}  // namespace sparkfleet
