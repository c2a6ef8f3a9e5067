#include "node_agent/nccl/nccl_locator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "node_agent/nccl/ld_so_cache.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

#if defined(__aarch64__)
constexpr char kMultiarch[] = "aarch64-linux-gnu";
constexpr uint32_t kNativeFlags = 0x0a03;
#else
constexpr char kMultiarch[] = "x86_64-linux-gnu";
constexpr uint32_t kNativeFlags = 0x0303;
#endif

// A node root in a temporary directory, removed afterwards.
class NodeRoot {
 public:
  NodeRoot() {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-locator-XXXXXX";
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
    env_ = NewRootedEnv(path_);
  }
  ~NodeRoot() { std::filesystem::remove_all(path_); }
  Env& env() { return *env_; }
  std::string Host(const std::string& node_path) const { return path_ + node_path; }
  void File(const std::string& node_path, const std::string& content = "") {
    std::filesystem::create_directories(std::filesystem::path(Host(node_path)).parent_path());
    std::ofstream(Host(node_path)) << content;
  }
  void Dir(const std::string& node_path) { std::filesystem::create_directories(Host(node_path)); }

 private:
  std::string path_;
  std::unique_ptr<Env> env_;
};

NcclSearchOptions Configured(std::vector<std::string> dirs) {
  NcclSearchOptions options;
  options.configured = std::move(dirs);
  return options;
}

// An ld.so.cache ("glibc-ld.so.cache1.1") holding `entries` (soname, path).
std::string LdSoCache(const std::vector<std::pair<std::string, std::string>>& entries,
                      uint32_t flags = kNativeFlags) {
  std::string header = "glibc-ld.so.cache1.1";
  std::string strings;
  std::string table;
  const uint32_t strings_at = 48 + 24 * static_cast<uint32_t>(entries.size());
  auto put32 = [](std::string& out, uint32_t v) { out.append(reinterpret_cast<char*>(&v), 4); };
  for (const auto& [soname, path] : entries) {
    uint32_t key = strings_at + static_cast<uint32_t>(strings.size());
    strings += soname + '\0';
    uint32_t value = strings_at + static_cast<uint32_t>(strings.size());
    strings += path + '\0';
    put32(table, flags);
    put32(table, key);
    put32(table, value);
    put32(table, 0);
    table.append(8, '\0');  // hwcap
  }
  put32(header, static_cast<uint32_t>(entries.size()));
  put32(header, static_cast<uint32_t>(strings.size()));
  header.append(20, '\0');  // flags, padding, extension offset, unused
  return header + table + strings;
}

TEST(NcclLocator, EmptySearchFolderNamesEveryMissingPieceAndTheInstallCommand) {
  NodeRoot root;
  root.Dir("/opt/empty");
  NcclLocator locator(root.env(), Configured({"/opt/empty"}));

  NcclRuntime runtime = locator.Find();
  absl::Status status = CheckNcclRuntime(runtime, "spark-002");

  EXPECT_FALSE(runtime.nccl.has_value());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("cannot run NCCL on spark-002"));
  EXPECT_THAT(status.message(), HasSubstr("no CUDA driver (libcuda.so.1 not found on /opt/empty)"));
  EXPECT_THAT(status.message(), HasSubstr("NCCL not found (searched: /opt/empty)"));
  EXPECT_THAT(status.message(), HasSubstr("`sparkctl nccl`"));
  EXPECT_THAT(status.message(), HasSubstr("`apt-get install libnccl2`"));
}

TEST(NcclLocator, FindsBothLibrariesInAConfiguredFolderWithTheVersionInTheFileName) {
  NodeRoot root;
  root.File("/opt/nccl/lib/libnccl.so.2.27.7");
  std::filesystem::create_symlink("libnccl.so.2.27.7", root.Host("/opt/nccl/lib/libnccl.so.2"));
  root.File("/opt/nccl/lib/libcuda.so.1");
  NcclLocator locator(root.env(), Configured({"/opt/empty", "/opt/nccl/lib"}));

  NcclRuntime runtime = locator.Find();

  ASSERT_TRUE(runtime.nccl.has_value());
  EXPECT_EQ(runtime.nccl->path, "/opt/nccl/lib/libnccl.so.2");
  EXPECT_EQ(runtime.nccl->found_by, "/opt/nccl/lib");
  EXPECT_EQ(runtime.nccl_version, "2.27.7");
  ASSERT_TRUE(runtime.cuda_driver.has_value());
  EXPECT_TRUE(CheckNcclRuntime(runtime, "spark-001").ok());
}

TEST(NcclLocator, DefaultPathReadsTheLoaderCacheThenSourceBuildsUnderOpt) {
  NodeRoot root;
  std::string driver = absl::StrCat("/usr/lib/", kMultiarch, "/libcuda.so.1");
  root.File(driver);
  root.File("/etc/ld.so.cache", LdSoCache({{"libcuda.so.1", driver}}));
  root.File("/opt/sparkfleet/nccl/v2.27.7-1/lib/libnccl.so.2");
  NcclLocator locator(root.env(), NcclSearchOptions());

  NcclRuntime runtime = locator.Find();

  ASSERT_TRUE(runtime.cuda_driver.has_value());
  EXPECT_EQ(runtime.cuda_driver->path, driver);
  EXPECT_EQ(runtime.cuda_driver->found_by, "ld.so.cache");
  ASSERT_TRUE(runtime.nccl.has_value());
  EXPECT_EQ(runtime.nccl->path, "/opt/sparkfleet/nccl/v2.27.7-1/lib/libnccl.so.2");
  EXPECT_EQ(runtime.nccl_version, "2.27.7");  // from the release tag
  EXPECT_THAT(runtime.searched, HasSubstr("the dynamic loader"));
}

TEST(NcclLocator, FindsTheNvidiaNcclPythonWheel) {
  NodeRoot root;
  root.File("/usr/local/lib/python3.12/dist-packages/nvidia/nccl/lib/libnccl.so.2");
  root.Dir("/usr/local/lib/python3.12/dist-packages/nvidia_nccl_cu12-2.26.2.dist-info");
  NcclLocator locator(root.env(), NcclSearchOptions());

  NcclRuntime runtime = locator.Find();

  ASSERT_TRUE(runtime.nccl.has_value());
  EXPECT_EQ(runtime.nccl->found_by, "/usr/local/lib/python3.12/dist-packages/nvidia/nccl/lib");
  EXPECT_EQ(runtime.nccl_version, "2.26.2");
}

TEST(NcclLocator, AnswersAreKeptUntilInvalidated) {
  NodeRoot root;
  root.Dir("/opt/nccl/lib");
  NcclLocator locator(root.env(), Configured({"/opt/nccl/lib"}));
  EXPECT_FALSE(locator.Find().nccl.has_value());
  root.File("/opt/nccl/lib/libnccl.so.2");
  EXPECT_FALSE(locator.Find().nccl.has_value());  // cached: GetInfo stays cheap
  locator.Invalidate();
  EXPECT_TRUE(locator.Find().nccl.has_value());
}

TEST(NcclLocator, AsksTheLibraryForItsVersionWhenNoNameSaysIt) {
  NodeRoot root;
  std::string fake = absl::StrCat(SPARKFLEET_BINARY_DIR, "/tests/fakes/nccl-libs/libnccl.so.2");
  root.Dir("/opt/nccl/lib");
  std::filesystem::copy_file(fake, root.Host("/opt/nccl/lib/libnccl.so.2"));
  NcclLocator locator(root.env(), Configured({"/opt/nccl/lib"}));

  EXPECT_EQ(locator.Find().nccl_version, "2.27.7");  // the fake's ncclGetVersion: 22707
}

TEST(NcclVersionFromName, ReadsFileTagAndWheelNames) {
  EXPECT_EQ(NcclVersionFromName("libnccl.so.2.27.7"), "2.27.7");
  EXPECT_EQ(NcclVersionFromName("v2.28.3-1"), "2.28.3");
  EXPECT_EQ(NcclVersionFromName("nvidia_nccl_cu12-2.26.2.dist-info"), "2.26.2");
  EXPECT_EQ(NcclVersionFromName("libnccl.so.2"), "");
  EXPECT_EQ(NcclVersionFromName("cuda-13.0"), "");
}

TEST(LdSoCache, ParsesEntriesAndKeepsOnlyNativeOnes) {
  std::string bytes = LdSoCache(
      {{"libnccl.so.2", "/usr/local/cuda-13.0/lib/libnccl.so.2"}, {"libz.so.1", "/lib/libz.so.1"}});
  absl::StatusOr<std::vector<LdCacheEntry>> entries = ParseLdSoCache(bytes);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].soname, "libnccl.so.2");
  EXPECT_EQ((*entries)[0].path, "/usr/local/cuda-13.0/lib/libnccl.so.2");
  EXPECT_TRUE(IsNativeLdCacheEntry((*entries)[0]));
  LdCacheEntry i386{"libcuda.so.1", "/usr/lib/i386-linux-gnu/libcuda.so.1", 0x0003};
  EXPECT_FALSE(IsNativeLdCacheEntry(i386));
  // The old format in front of the new one: offsets still count from the new header.
  absl::StatusOr<std::vector<LdCacheEntry>> behind =
      ParseLdSoCache(std::string("ld.so-1.7.0") + std::string(5, '\0') + bytes);
  ASSERT_TRUE(behind.ok());
  EXPECT_EQ((*behind)[1].path, "/lib/libz.so.1");
}

TEST(LdSoCache, RejectsWhatIsNotACacheOrIsCutShort) {
  EXPECT_FALSE(ParseLdSoCache("hello").ok());
  std::string bytes = LdSoCache({{"libnccl.so.2", "/usr/lib/libnccl.so.2"}});
  EXPECT_FALSE(ParseLdSoCache(bytes.substr(0, 60)).ok());
  EXPECT_FALSE(ParseLdSoCache(bytes.substr(0, bytes.size() - 10)).ok());
}

}  // namespace
}  // namespace sparkfleet
