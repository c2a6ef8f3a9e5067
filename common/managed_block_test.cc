#include "common/managed_block.h"

#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

TEST(ManagedBlock, AppendsABlockAndKeepsEveryOtherByte) {
  const std::string hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost";
  absl::StatusOr<std::string> out = ReplaceManagedBlock(hosts, "10.0.0.1 a\n");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, hosts + "\n# BEGIN sparkfleet\n10.0.0.1 a\n# END sparkfleet\n");
}

TEST(ManagedBlock, ReplacesOnlyTheBlockBody) {
  const std::string text = "a\n# BEGIN sparkfleet\nold\n# END sparkfleet\n  b with spaces \n";
  absl::StatusOr<std::string> out = ReplaceManagedBlock(text, "new1\nnew2");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "a\n# BEGIN sparkfleet\nnew1\nnew2\n# END sparkfleet\n  b with spaces \n");
  absl::StatusOr<std::optional<std::string>> body = ManagedBlockBody(*out);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->value_or("none"), "new1\nnew2\n");
}

TEST(ManagedBlock, SameBodyGivesTheSameText) {
  const std::string text = "x\n# BEGIN sparkfleet\nline\n# END sparkfleet\ny\n";
  EXPECT_EQ(*ReplaceManagedBlock(text, "line\n"), text);
}

TEST(ManagedBlock, EmptyBodyRemovesTheBlock) {
  EXPECT_EQ(*ReplaceManagedBlock("x\n# BEGIN sparkfleet\nl\n# END sparkfleet\ny\n", ""), "x\ny\n");
  EXPECT_EQ(*ReplaceManagedBlock("x\n", ""), "x\n");
}

TEST(ManagedBlock, NoBlockHasNoBody) {
  absl::StatusOr<std::optional<std::string>> body = ManagedBlockBody("a\nb\n");
  ASSERT_TRUE(body.ok());
  EXPECT_FALSE(body->has_value());
}

TEST(ManagedBlock, CustomMarkers) {
  BlockMarkers markers{"# >>> mine", "# <<< mine"};
  EXPECT_EQ(*ReplaceManagedBlock("", "k", markers), "# >>> mine\nk\n# <<< mine\n");
}

TEST(ManagedBlock, BrokenMarkersAreRefusedWithTheLine) {
  absl::StatusOr<std::string> open = ReplaceManagedBlock("a\n# BEGIN sparkfleet\nb\n", "x");
  EXPECT_EQ(open.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(open.status().message().find("never closed"), std::string::npos);
  absl::StatusOr<std::string> stray = ReplaceManagedBlock("a\n# END sparkfleet\n", "x");
  EXPECT_NE(stray.status().message().find("line 2"), std::string::npos);
  absl::StatusOr<std::string> two = ReplaceManagedBlock(
      "# BEGIN sparkfleet\n# END sparkfleet\n# BEGIN sparkfleet\n# END sparkfleet\n", "x");
  EXPECT_NE(two.status().message().find("second sparkfleet block"), std::string::npos);
}

TEST(ManagedBlock, CrlfMarkersAreRecognised) {
  absl::StatusOr<std::string> out =
      ReplaceManagedBlock("a\r\n# BEGIN sparkfleet\r\nold\r\n# END sparkfleet\r\nb\r\n", "n\n");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "a\r\n# BEGIN sparkfleet\nn\n# END sparkfleet\nb\r\n");
}

}  // namespace
}  // namespace sparkfleet
