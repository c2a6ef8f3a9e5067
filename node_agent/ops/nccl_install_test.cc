#include "node_agent/ops/nccl_install.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNoble[] = "ID=ubuntu\nVERSION_ID=\"24.04\"\nVERSION_CODENAME=noble\n";

// A node root whose programs are the contract doubles in tests/fakes/tools: they record
// their argv in tools.log and change the root as the real tools would.
class NcclInstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-install-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    root_ = dir_ + "/root";
    Write("/etc/os-release", kNoble);
    Write("/var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\nVersion: 5.2\n");
    setenv("SPARKFLEET_FAKE_ROOT", root_.c_str(), 1);
    setenv("SPARKFLEET_FAKE_TOOL_LOG", (dir_ + "/tools.log").c_str(), 1);
    unsetenv("FAKE_APT_INSTALL_FAIL");
    unsetenv("FAKE_CURL_FAIL");
    env_ = NewRootedEnv(root_);
    runner_ = NewPosixProcessRunner({std::string(SPARKFLEET_SOURCE_DIR) + "/tests/fakes/tools"});
    locator_ = std::make_unique<NcclLocator>(*env_, NcclSearchOptions());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& node_path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + node_path).parent_path());
    std::ofstream(root_ + node_path) << text;
  }

  absl::Status Install(const v1::InstallNcclRequest& request,
                       const std::string& machine = "aarch64") {
    events_.clear();
    NcclInstallNode node{*env_, *runner_, *locator_, "spark-001", machine, "12.1", 4};
    return InstallNccl(
        node, request, [this](v1::InstallNcclEvent e) { events_.push_back(std::move(e)); },
        [] { return false; });
  }

  // The commands the doubles saw, with the root written as ROOT.
  std::vector<std::string> Commands() {
    std::ifstream in(dir_ + "/tools.log");
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> out;
    for (absl::string_view line : absl::StrSplit(text.str(), '\n', absl::SkipEmpty())) {
      std::string command(line);
      for (size_t at; (at = command.find(root_)) != std::string::npos;) {
        command.replace(at, root_.size(), "ROOT");
      }
      out.push_back(command);
    }
    return out;
  }

  // "step:STATE" for every event that is not STARTED.
  std::vector<std::string> Steps() {
    std::vector<std::string> out;
    for (const v1::InstallNcclEvent& e : events_) {
      if (!e.has_step() || e.step().state() == v1::INSTALL_STEP_STATE_STARTED) continue;
      out.push_back(absl::StrCat(e.step().step(), ":",
                                 v1::InstallStepState_Name(e.step().state()).substr(19)));
    }
    return out;
  }

  const v1::InstallNcclResult* Result() {
    return !events_.empty() && events_.back().has_result() ? &events_.back().result() : nullptr;
  }

  std::string dir_, root_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<ProcessRunner> runner_;
  std::unique_ptr<NcclLocator> locator_;
  std::vector<v1::InstallNcclEvent> events_;
};

TEST_F(NcclInstallTest, AptFollowsNvidiasRepositoryStepsForAnArmNode) {
  ASSERT_TRUE(Install(v1::InstallNcclRequest()).ok());

  const std::string deb = "ROOT/var/cache/sparkfleet/cuda-keyring_1.1-1_all.deb";
  EXPECT_THAT(Commands(),
              ElementsAre(absl::StrCat("curl -fsSL --retry 3 --max-time 300 -o ", deb,
                                       " https://developer.download.nvidia.com/compute/cuda/"
                                       "repos/ubuntu2404/sbsa/cuda-keyring_1.1-1_all.deb"),
                          "dpkg -i " + deb, "apt-get update",
                          "apt-get install -y --no-install-recommends libnccl2 libnccl-dev"));
  EXPECT_THAT(Steps(), ElementsAre("check:CHANGED", "cuda-keyring:CHANGED", "apt-update:CHANGED",
                                   "apt-install:CHANGED", "verify:UNCHANGED"));
  ASSERT_NE(Result(), nullptr);
  EXPECT_TRUE(Result()->installed_now());
  EXPECT_EQ(Result()->version(), "2.27.7-1+cuda13.0");
  EXPECT_THAT(Result()->library_path(), HasSubstr("/libnccl.so.2"));
  EXPECT_EQ(Result()->changes(0).path(), "/usr/share/keyrings/cuda-archive-keyring.gpg");
  EXPECT_EQ(Result()->changes(1).path(), "/etc/apt/sources.list.d/cuda-ubuntu2404-sbsa.list");
}

TEST_F(NcclInstallTest, ASecondRunChangesNothingAndRunsNothing) {
  ASSERT_TRUE(Install(v1::InstallNcclRequest()).ok());
  size_t commands = Commands().size();

  ASSERT_TRUE(Install(v1::InstallNcclRequest()).ok());

  EXPECT_EQ(Commands().size(), commands);
  EXPECT_THAT(Steps(), ElementsAre("check:UNCHANGED"));
  ASSERT_NE(Result(), nullptr);
  EXPECT_FALSE(Result()->installed_now());
  EXPECT_EQ(Result()->version(), "2.27.7-1+cuda13.0");
}

TEST_F(NcclInstallTest, APinnedVersionIsInstalledEvenOverAnotherOne) {
  Write("/var/lib/dpkg/status",
        "Package: cuda-keyring\nStatus: install ok installed\nVersion: 1.1-1\n\n"
        "Package: libnccl2\nStatus: install ok installed\nVersion: 2.27.7-1+cuda13.0\n\n"
        "Package: libnccl-dev\nStatus: install ok installed\nVersion: 2.27.7-1+cuda13.0\n");
  v1::InstallNcclRequest request;
  request.set_version("2.26.2-1+cuda12.8");

  ASSERT_TRUE(Install(request, "x86_64").ok());

  EXPECT_THAT(Commands(), ElementsAre("apt-get update",
                                      "apt-get install -y --no-install-recommends "
                                      "--allow-downgrades libnccl2=2.26.2-1+cuda12.8 "
                                      "libnccl-dev=2.26.2-1+cuda12.8"));
  EXPECT_THAT(Steps(), ::testing::Contains("cuda-keyring:UNCHANGED"));
}

TEST_F(NcclInstallTest, AnAptFailureEndsTheStreamWithAptsMessage) {
  setenv("FAKE_APT_INSTALL_FAIL", "1", 1);

  absl::Status status = Install(v1::InstallNcclRequest());

  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("apt-get install -y --no-install-recommends libnccl2"));
  EXPECT_THAT(status.message(), HasSubstr("exit status 100"));
  EXPECT_THAT(status.message(), HasSubstr("E: Unable to locate package libnccl2"));
  EXPECT_EQ(Steps().back(), "apt-install:FAILED");
  EXPECT_EQ(Result(), nullptr);
}

TEST_F(NcclInstallTest, ADownloadFailureIsRetryable) {
  setenv("FAKE_CURL_FAIL", "1", 1);

  absl::Status status = Install(v1::InstallNcclRequest());

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("Could not resolve host"));
  EXPECT_EQ(Commands().size(), 1u);  // nothing after the failed download
}

TEST_F(NcclInstallTest, ADryRunSaysWhatItWouldDoAndRunsNothing) {
  v1::InstallNcclRequest request;
  request.set_dry_run(true);

  ASSERT_TRUE(Install(request, "x86_64").ok());

  EXPECT_TRUE(Commands().empty());
  EXPECT_THAT(Steps(), ElementsAre("check:CHANGED", "cuda-keyring:CHANGED", "apt-update:CHANGED",
                                   "apt-install:CHANGED"));
  EXPECT_THAT(events_[1].step().message(), HasSubstr("repos/ubuntu2404/x86_64/cuda-keyring"));
  EXPECT_TRUE(Result()->installed_now());
}

TEST_F(NcclInstallTest, AnUnservedDistributionIsAPreconditionNotAGuess) {
  Write("/etc/os-release", "ID=fedora\nVERSION_ID=40\n");
  absl::Status status = Install(v1::InstallNcclRequest());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("no \"fedora40\""));
  EXPECT_THAT(status.message(), HasSubstr("nccl.install: source"));
}

TEST_F(NcclInstallTest, SourceBuildFollowsTheSparkPlaybookOnce) {
  Write("/usr/local/cuda/bin/nvcc", "");
  v1::InstallNcclRequest request;
  request.set_method(v1::NCCL_INSTALL_METHOD_SOURCE);
  request.set_source_tag("v2.27.7-1");

  ASSERT_TRUE(Install(request).ok());

  const std::string src = "ROOT/var/cache/sparkfleet/nccl-src/v2.27.7-1";
  EXPECT_THAT(
      Commands(),
      ElementsAre("git clone --depth 1 --branch v2.27.7-1 "
                  "https://github.com/NVIDIA/nccl.git " +
                      src,
                  "make -C " + src +
                      " -j4 src.build CUDA_HOME=ROOT/usr/local/cuda "
                      "NVCC_GENCODE=-gencode=arch=compute_121,code=sm_121",
                  "make -C " + src + " src.install PREFIX=ROOT/opt/sparkfleet/nccl/v2.27.7-1"));
  ASSERT_NE(Result(), nullptr);
  EXPECT_EQ(Result()->version(), "2.27.7");
  EXPECT_EQ(Result()->library_path(), "/opt/sparkfleet/nccl/v2.27.7-1/lib/libnccl.so.2");

  ASSERT_TRUE(Install(request).ok());
  EXPECT_THAT(Steps(), ElementsAre("check:UNCHANGED"));
  EXPECT_EQ(Commands().size(), 3u);
}

TEST_F(NcclInstallTest, SourceBuildWithoutNvccNamesWhatIsMissing) {
  v1::InstallNcclRequest request;
  request.set_method(v1::NCCL_INSTALL_METHOD_SOURCE);
  request.set_source_tag("v2.27.7-1");
  absl::Status status = Install(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("needs nvcc (/usr/local/cuda/bin/nvcc)"));
}

TEST(ValidateInstallNcclRequest, RefusesWhatCouldNotBePassedSafely) {
  v1::InstallNcclRequest request;
  request.set_version("2.27.7; rm -rf /");
  EXPECT_EQ(ValidateInstallNcclRequest(request).code(), absl::StatusCode::kInvalidArgument);
  request = {};
  request.set_method(v1::NCCL_INSTALL_METHOD_SOURCE);
  EXPECT_THAT(ValidateInstallNcclRequest(request).message(), HasSubstr("source_tag"));
  request.set_source_tag("--upload-pack=x");
  EXPECT_FALSE(ValidateInstallNcclRequest(request).ok());
  request.set_source_tag("v2.27.7-1");
  request.set_install_prefix("/opt/../etc");
  EXPECT_FALSE(ValidateInstallNcclRequest(request).ok());
  request.set_install_prefix("");
  EXPECT_TRUE(ValidateInstallNcclRequest(request).ok());
}

TEST(ValidateInstallNcclRequest, RefusesOptionsSystemPrefixesAndExtraCompilerFlags) {
  v1::InstallNcclRequest request;
  request.set_version("--help");
  EXPECT_THAT(ValidateInstallNcclRequest(request).message(), HasSubstr("version"));
  request = {};
  request.set_method(v1::NCCL_INSTALL_METHOD_SOURCE);
  request.set_source_tag("master");
  EXPECT_THAT(ValidateInstallNcclRequest(request).message(), HasSubstr("source_tag"));
  request.set_source_tag("v2.27.7-1");
  for (const char* prefix : {"/", "/etc", "/usr", "/opt/-x", "/usr/local/../../etc"}) {
    request.set_install_prefix(prefix);
    EXPECT_THAT(ValidateInstallNcclRequest(request).message(), HasSubstr("install_prefix"))
        << prefix;
  }
  request.set_install_prefix("/usr/local/nccl");
  request.set_nvcc_gencode(
      "-gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_121,code=compute_121");
  EXPECT_TRUE(ValidateInstallNcclRequest(request).ok());
  request.set_nvcc_gencode("-gencode=arch=compute_121,code=sm_121 -Xcompiler=-fplugin=x");
  EXPECT_THAT(ValidateInstallNcclRequest(request).message(), HasSubstr("nvcc_gencode"));
}

TEST(CudaRepository, NamesDistributionArchAndGencode) {
  EXPECT_EQ(*CudaRepoDistribution("ID=ubuntu\nVERSION_ID=\"22.04\"\n"), "ubuntu2204");
  EXPECT_EQ(*CudaRepoArch("aarch64"), "sbsa");
  EXPECT_EQ(*CudaRepoArch("x86_64"), "x86_64");
  EXPECT_FALSE(CudaRepoArch("riscv64").ok());
  EXPECT_EQ(GencodeFor("12.1"), "-gencode=arch=compute_121,code=sm_121");
  EXPECT_EQ(GencodeFor(""), "");
}

}  // namespace
}  // namespace sparkfleet
