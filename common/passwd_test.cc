#include "common/passwd.h"

#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "nvidia:x:1000:1000:NVIDIA,,,:/home/nvidia:/bin/bash\n"
    "broken:x:abc:1:b:/home/broken:/bin/sh\n";

TEST(Passwd, FindsTheUsersIdsAndHome) {
  std::optional<PasswdEntry> e = FindPasswdEntry(kPasswd, "nvidia");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->uid, 1000u);
  EXPECT_EQ(e->gid, 1000u);
  EXPECT_EQ(e->home, "/home/nvidia");
  EXPECT_EQ(e->shell, "/bin/bash");
}

TEST(Passwd, MissingOrMalformedIsNullopt) {
  EXPECT_FALSE(FindPasswdEntry(kPasswd, "nobody").has_value());
  EXPECT_FALSE(FindPasswdEntry(kPasswd, "broken").has_value());
  EXPECT_FALSE(FindPasswdEntry(kPasswd, "nvi").has_value());
}

}  // namespace
}  // namespace sparkfleet
