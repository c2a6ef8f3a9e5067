// SIGKILL in the middle of writing each managed file (nccl.conf, /etc/hosts,
// authorized_keys, the sshd drop-in, the netplan file), thousands of times: afterwards the
// file is always exactly the old or the new content, never torn, never missing, with its
// mode, and once it has changed its backup exists (old or new content too). What a kill
// can leave is at most one temp file named after the killed process, beside the file:
// counted, checked and removed each time.
//
// KillMidWrite forks a writer (no exec: an exec of a gRPC-linked binary costs ~80 ms,
// thousands would not fit) that runs the real operation on a rooted Env in a loop,
// alternating the two variants, and kills it after a random delay of up to three
// operation lengths: 2000 kills per file, or as many as fit in 8 s on a loaded machine
// (SPARKFLEET_FAULT_KILLS, SPARKFLEET_FAULT_SECONDS). The delays are seeded; the seed is
// printed and SPARKFLEET_FAULT_SEED repeats it. The root is on /dev/shm where there is
// one: a killed process leaves the page cache as it was, so fsync does not change what a
// kill can tear, and tmpfs makes a write take microseconds instead of fsync's ~10 ms.
//
// KillAgentMidRpc does the same through a real spark-agent: 10 WriteNcclConf and 10
// ConfigureHosts RPCs, each with the agent SIGKILLed after a random part of the RPC's
// measured length, then restarted on the same root.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/env.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node_agent/ops/nccl_conf.h"
#include "sparkfleet/v1/agent.grpc.pb.h"
#include "tests/integration/fault_managed_files.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

constexpr int kDefaultKillsPerFile = 2000;
// A loaded machine gets fewer kills per file rather than a test timeout.
constexpr int kDefaultSecondsPerFile = 8;
constexpr int kAgentKillsPerRpc = 10;
constexpr char kTempMark[] = ".sparkfleet-tmp.";

int EnvInt(const char* name, int fallback) {
  const char* text = std::getenv(name);
  int value = 0;
  return text != nullptr && absl::SimpleAtoi(text, &value) && value > 0 ? value : fallback;
}

uint64_t Seed() {
  const char* text = std::getenv("SPARKFLEET_FAULT_SEED");
  uint64_t seed = 0;
  if (text != nullptr && absl::SimpleAtoi(text, &seed)) return seed;
  return std::random_device{}();
}

std::optional<std::string> Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Shown(const std::optional<std::string>& text) {
  if (!text) return "<missing>";
  return text->size() > 300 ? absl::StrCat(text->substr(0, 300), "...") : *text;
}

// A scratch directory on tmpfs (/dev/shm) when there is one, removed on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code error;
    std::string base =
        std::filesystem::is_directory("/dev/shm", error) && access("/dev/shm", W_OK) == 0
            ? "/dev/shm"
            : std::filesystem::temp_directory_path().string();
    std::string pattern = base + "/sparkfleet-fault-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Removes the temp files process `pid` left in `dir` (host path); how many there were.
// Any other name not in `known` is a failure.
int ClearLeftovers(const std::string& dir, pid_t pid, const std::set<std::string>& known) {
  const std::string mine = absl::StrCat(kTempMark, pid, ".");
  int left = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (absl::StrContains(name, mine)) {
      ++left;
      std::filesystem::remove(entry.path());
    } else {
      EXPECT_TRUE(known.count(name) > 0) << "unexpected " << entry.path();
    }
  }
  return left;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// The forked writer: the operation in a loop, variants alternating, until killed.
[[noreturn]] void WriteUntilKilled(const ManagedFile& file, const std::string& root, int variant,
                                   int ready_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
  std::unique_ptr<Env> env = NewRootedEnv(root);
  ScriptedProcessRunner runner;
  ScriptTools(runner);
  const char ready = 'r';
  if (write(ready_fd, &ready, 1) != 1) _exit(2);
  close(ready_fd);
  for (;; variant ^= 1) {
    if (!file.write(*env, runner, variant).ok()) _exit(3);
  }
}

// Forks a writer of `variant` (then the other, and so on) and SIGKILLs it `delay_us`
// after it started; its pid, reaped.
pid_t KillWriter(const ManagedFile& file, const std::string& root, int variant, int64_t delay_us) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    WriteUntilKilled(file, root, variant, ready[1]);
  }
  close(ready[1]);
  char byte = 0;
  const bool started = pid > 0 && read(ready[0], &byte, 1) == 1;
  close(ready[0]);
  if (pid < 0) return -1;
  if (started) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(started && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended on its own (status " << status << "; 3: the operation failed)";
  return pid;
}

class KillMidWrite : public ::testing::TestWithParam<ManagedFile> {
 protected:
  // The two contents as the operation writes them, the file at variant 1, and how long
  // one write takes.
  void SetUp() override {
    root_ = scratch_.path();
    file().seed(root_);
    std::unique_ptr<Env> env = NewRootedEnv(root_);
    ScriptedProcessRunner runner;
    ScriptTools(runner);
    for (int variant : {0, 1}) {
      ASSERT_TRUE(file().write(*env, runner, variant).ok());
      content_[variant] = env->ReadFile(file().path).value_or("");
    }
    ASSERT_NE(content_[0], content_[1]);
    constexpr int kTimed = 20;  // ending with variant 1
    const absl::Time start = absl::Now();
    for (int i = 0; i < kTimed; ++i) ASSERT_TRUE(file().write(*env, runner, i % 2).ok());
    op_us_ = absl::ToInt64Microseconds((absl::Now() - start) / kTimed);
    known_ = Names(HostDir());  // the file, its backup and its neighbours
  }

  const ManagedFile& file() const { return GetParam(); }
  std::string HostFile() const { return root_ + file().path; }
  std::string HostDir() const { return std::filesystem::path(HostFile()).parent_path(); }

  // Checks what killing writer `pid` left, which was variant `before`; the variant the
  // file is now, or -1 when it is neither (torn, missing).
  int CheckKill(int kill, pid_t pid, int before) {
    std::optional<std::string> now = Slurp(HostFile());
    const int variant = now == content_[0] ? 0 : now == content_[1] ? 1 : -1;
    EXPECT_NE(variant, -1) << "kill " << kill << " left " << file().path << " as " << Shown(now);
    if (variant < 0) return variant;
    struct stat st;
    EXPECT_EQ(stat(HostFile().c_str(), &st) == 0 ? st.st_mode & 07777 : 0, file().mode);
    std::optional<std::string> backup = Slurp(root_ + BackupPathFor(file().path));
    EXPECT_TRUE(!backup || *backup == content_[0] || *backup == content_[1])
        << "kill " << kill << " left the backup as " << Shown(backup);
    EXPECT_TRUE(variant == before || backup.has_value())
        << "kill " << kill << " changed " << file().path << " without a backup";
    const int left = ClearLeftovers(HostDir(), pid, known_);
    EXPECT_LE(left, 1) << "kill " << kill << ": one write at a time, one temp file at most";
    temp_files_ += left;
    return variant;
  }

  ScratchDir scratch_;
  std::string root_;
  std::string content_[2];
  int64_t op_us_ = 0;
  std::set<std::string> known_;
  int temp_files_ = 0;
};

TEST_P(KillMidWrite, TheFileIsAlwaysTheOldOrTheNewContentAndABackupExists) {
  const int kills = EnvInt("SPARKFLEET_FAULT_KILLS", kDefaultKillsPerFile);
  const absl::Duration budget =
      absl::Seconds(EnvInt("SPARKFLEET_FAULT_SECONDS", kDefaultSecondsPerFile));
  const uint64_t seed = Seed();
  std::cout << "[ seed ] " << file().name << ": SPARKFLEET_FAULT_SEED=" << seed << std::endl;
  std::mt19937_64 random(seed);
  // Kills land anywhere in the first few writes, also before the first one starts.
  std::uniform_int_distribution<int64_t> delay_us(0, std::clamp<int64_t>(3 * op_us_, 100, 5000));

  int current = 1, done = 0, changed = 0, failures = 0;
  const absl::Time start = absl::Now();
  while (done < kills && absl::Now() - start < budget && failures == 0) {
    std::filesystem::remove(root_ + BackupPathFor(file().path));  // each change makes it
    const pid_t pid = KillWriter(file(), root_, current ^ 1, delay_us(random));
    ASSERT_GT(pid, 0) << "fork: " << std::strerror(errno);
    const int now = CheckKill(done++, pid, current);
    changed += now >= 0 && now != current;
    if (now >= 0) current = now;
    failures = ::testing::Test::HasFailure();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cout << "[ kills ] " << file().name << ": " << done << " kills in " << seconds
            << " s (one write ~" << op_us_ << " us, delays 0.." << delay_us.max()
            << " us): changed " << changed << ", killed between temp file and rename "
            << temp_files_ << (failures ? ", FAILED" : ", none torn") << std::endl;
  RecordProperty("kills", done);
  RecordProperty("changed", changed);
  RecordProperty("temp_files_left", temp_files_);
  EXPECT_GT(changed, 0) << "no kill came after a whole write: the delays are too short";
}

INSTANTIATE_TEST_SUITE_P(ManagedFiles, KillMidWrite, ::testing::ValuesIn(ManagedFiles()),
                         [](const ::testing::TestParamInfo<ManagedFile>& info) {
                           return info.param.name;
                         });

// --- Through a real agent ----------------------------------------------------------

// One spark-agent on a DGX Spark fixture root, killed and restarted on the same root.
class KilledAgent {
 public:
  explicit KilledAgent(ClusterHarness& cluster) : cluster_(cluster) {}

  // The first start seeds the root; later ones reuse it.
  void Start() {
    const bool first = agent_ == nullptr;
    // StartAgent waits for the port file, which still names the killed agent's port.
    std::filesystem::remove(absl::StrCat(cluster_.dir(), "/", kName, "/agent.port"));
    absl::StatusOr<AgentProcess*> agent = cluster_.StartAgent(
        kName, {},
        first ? std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark" : "");
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *agent;
    auto credentials = MakeClientCredentials(
        {cluster_.pki() + "/ca.crt", cluster_.pki() + "/admin.crt", cluster_.pki() + "/admin.key"});
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", agent_->port), *credentials);
    ASSERT_TRUE(
        channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)));
    stub_ = v1::NodeAgent::NewStub(channel);
  }
  void Kill() { agent_->process->Signal(SIGKILL); }
  bool Reaped() { return agent_->process->WaitExit(absl::Seconds(10)).has_value(); }
  pid_t pid() const { return agent_->process->pid(); }
  const std::string& root() const { return agent_->root; }
  v1::NodeAgent::Stub& stub() { return *stub_; }

 private:
  static constexpr char kName[] = "spark-001";
  ClusterHarness& cluster_;
  AgentProcess* agent_ = nullptr;
  std::unique_ptr<v1::NodeAgent::Stub> stub_;
};

std::unique_ptr<grpc::ClientContext> Deadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

// One RPC that rewrites a file, and how to recognise each variant's content.
struct FileRpc {
  std::string path;
  std::function<grpc::Status(v1::NodeAgent::Stub&, int variant)> call;
  // Whether `text` is variant `variant`, given what a completed call wrote (`written`).
  std::function<bool(const std::string& text, const std::string& written)> same;
};

FileRpc NcclConfRpc() {
  FileRpc rpc;
  rpc.path = "/etc/nccl.conf";
  rpc.call = [](v1::NodeAgent::Stub& stub, int variant) {
    v1::WriteNcclConfRequest request;
    (*request.mutable_env())["NCCL_SOCKET_IFNAME"] = variant == 0 ? "=enP7s7" : "=enp1s0f1np1";
    v1::WriteNcclConfReply reply;
    return stub.WriteNcclConf(Deadline().get(), request, &reply);
  };
  // The header has the time of writing: same length, same body.
  rpc.same = [](const std::string& text, const std::string& written) {
    return text.size() == written.size() && NcclConfBodyOf(text) == NcclConfBodyOf(written) &&
           absl::StartsWith(text, "# Written by sparkfleet (spark-agent ");
  };
  return rpc;
}

FileRpc HostsRpc() {
  FileRpc rpc;
  rpc.path = "/etc/hosts";
  rpc.call = [](v1::NodeAgent::Stub& stub, int variant) {
    v1::ConfigureHostsRequest request;
    for (int i = 1; i <= 2 + variant; ++i) {
      v1::HostEntry* entry = request.add_entries();
      entry->set_address(absl::StrCat("192.168.1.10", i));
      entry->add_names(absl::StrCat("spark-00", i));
    }
    v1::ConfigureHostsReply reply;
    return stub.ConfigureHosts(Deadline().get(), request, &reply);
  };
  rpc.same = [](const std::string& text, const std::string& written) { return text == written; };
  return rpc;
}

class KillAgentMidRpc : public ::testing::TestWithParam<FileRpc (*)()> {};

TEST_P(KillAgentMidRpc, TheFileIsTheOldOrTheNewContentWithTheOldOneAsBackup) {
  const FileRpc rpc = GetParam()();
  const uint64_t seed = Seed();
  std::cout << "[ seed ] " << rpc.path << ": SPARKFLEET_FAULT_SEED=" << seed << std::endl;
  std::mt19937_64 random(seed);
  ClusterHarness cluster;
  KilledAgent agent(cluster);
  ASSERT_NO_FATAL_FAILURE(agent.Start());
  const std::string host_file = agent.root() + rpc.path;
  const std::string host_backup = agent.root() + BackupPathFor(rpc.path);
  std::ofstream(agent.root() + "/etc/hosts") << "127.0.0.1\tlocalhost\n";

  // Each variant once to the end (what it writes), then timed round trips.
  std::string written[2];
  for (int variant : {0, 1}) {
    grpc::Status status = rpc.call(agent.stub(), variant);
    ASSERT_TRUE(status.ok()) << status.error_message();
    written[variant] = Slurp(host_file).value_or("");
  }
  constexpr int kTimed = 4;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kTimed; ++i) ASSERT_TRUE(rpc.call(agent.stub(), i % 2).ok());
  const int64_t rpc_us = absl::ToInt64Microseconds((absl::Now() - start) / kTimed);
  std::uniform_int_distribution<int64_t> delay_us(0, rpc_us * 3 / 2);
  int current = 1;

  int changed = 0, answered = 0, temp_files = 0;
  const std::set<std::string> known = Names(agent.root() + "/etc");
  for (int i = 0; i < kAgentKillsPerRpc; ++i) {
    const std::optional<std::string> old = Slurp(host_file);
    const std::optional<std::string> old_backup = Slurp(host_backup);
    ASSERT_TRUE(old.has_value());
    const int variant = current ^ 1;
    const int64_t delay = delay_us(random);
    const pid_t pid = agent.pid();
    grpc::Status status;
    std::thread call([&] { status = rpc.call(agent.stub(), variant); });
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    agent.Kill();
    call.join();
    ASSERT_TRUE(agent.Reaped());
    answered += status.ok();

    const std::optional<std::string> now = Slurp(host_file);
    const std::optional<std::string> backup = Slurp(host_backup);
    ASSERT_TRUE(now == old || (now && rpc.same(*now, written[variant])))
        << "kill " << i << " (after " << delay << " us) left " << rpc.path << " as " << Shown(now);
    if (now != old) {
      ++changed;
      current = variant;
      EXPECT_EQ(backup, old) << "kill " << i << ": the backup is not the file it replaced";
    } else {
      EXPECT_TRUE(backup == old_backup || backup == old) << "backup: " << Shown(backup);
    }
    if (status.ok()) {
      EXPECT_NE(now, old) << "an answered call must have changed the file";
    }
    temp_files += ClearLeftovers(agent.root() + "/etc", pid, known);
    ASSERT_NO_FATAL_FAILURE(agent.Start());
  }
  std::cout << "[ kills ] " << rpc.path << ": " << kAgentKillsPerRpc << " agents killed (RPC ~"
            << rpc_us << " us, delays 0.." << delay_us.max() << " us): changed " << changed
            << ", answered before the kill " << answered << ", killed between temp file and "
            << "rename " << temp_files << ", torn 0" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Rpcs, KillAgentMidRpc, ::testing::Values(&NcclConfRpc, &HostsRpc),
                         [](const ::testing::TestParamInfo<FileRpc (*)()>& info) {
                           return info.param == &NcclConfRpc ? "WriteNcclConf" : "ConfigureHosts";
                         });

}  // namespace
}  // namespace sparkfleet::testing
