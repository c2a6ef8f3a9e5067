// The five files the agent manages, each with the real operation that writes it, for the
// fault tests: node_agent/ops/file_faults_test.cc (a full disk and a read-only
// filesystem through FaultEnv) and tests/integration/fault_kill_test.cc (SIGKILL in the
// middle of the write).
//
//   for (const ManagedFile& file : ManagedFiles()) {
//     file.seed(root);                                    // what the operation needs
//     absl::Status s = file.write(env, runner, 1);        // variant 0 or 1 of the file
//   }
//
// The runner must have ScriptTools' programs (sshd, systemctl and netplan, all
// succeeding); ConfigureLink waits on a clock that only moves when it sleeps. The two
// variants differ in content, never in path or mode. Header only, like
// tests/fakes/scripted_process_runner.h, since both a unit and an integration test
// binary use it.
#ifndef SPARKFLEET_TESTS_INTEGRATION_FAULT_MANAGED_FILES_H_
#define SPARKFLEET_TESTS_INTEGRATION_FAULT_MANAGED_FILES_H_

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "node_agent/ops/hosts_file.h"
#include "node_agent/ops/nccl_conf.h"
#include "node_agent/ops/netplan_link.h"
#include "node_agent/ops/ssh_trust.h"
#include "node_agent/ops/sshd_hardening.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet::testing {

struct ManagedFile {
  std::string name;  // a test-name-safe label: "nccl_conf"
  std::string path;  // node path
  mode_t mode = 0644;
  // Puts under `root` what the operation needs before its first run.
  std::function<void(const std::string& root)> seed;
  // Writes variant 0 or 1 with the operation; its status.
  std::function<absl::Status(Env& env, ProcessRunner& runner, int variant)> write;
};

// For gtest's messages about a parameterized test.
inline void PrintTo(const ManagedFile& file, std::ostream* out) { *out << file.path; }

// sshd -t, systemctl try-reload-or-restart and netplan apply, all exiting 0.
inline void ScriptTools(ScriptedProcessRunner& runner) {
  for (const char* tool : {"sshd", "systemctl", "netplan"}) {
    runner.Script(tool, [](const std::vector<std::string>&, const ProcessOptions&) {
      ProcessResult result;
      result.exit_code = 0;
      return result;
    });
  }
}

namespace fault_files_internal {

inline void Put(const std::string& root, const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(root + path).parent_path());
  std::ofstream(root + path, std::ios::binary) << text;
}

constexpr char kUserKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPQsYi2ywfz8br0PJTyN8p6Bsu+5abA9egjU3TuzqSWb "
    "nvidia@spark-001";
constexpr char kPeerKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJPJqZe2OfgWlPdHoAzrmhGpn8DGGzynmMixrlIGwzhb "
    "nvidia@spark-002";

inline absl::Status WriteNccl(Env& env, ProcessRunner&, int variant) {
  v1::WriteNcclConfRequest request;
  (*request.mutable_env())["NCCL_SOCKET_IFNAME"] = variant == 0 ? "=enP7s7" : "=enp1s0f1np1";
  (*request.mutable_env())["NCCL_DEBUG"] = "WARN";
  return WriteNcclConf(env, request, v1::ProbeReply(),
                       {"spark-001", "test", absl::FromUnixSeconds(1767225600)})
      .status();
}

inline absl::Status WriteHosts(Env& env, ProcessRunner&, int variant) {
  v1::ConfigureHostsRequest request;
  for (int i = 1; i <= 2 + variant; ++i) {
    v1::HostEntry* entry = request.add_entries();
    entry->set_address(absl::StrCat("192.168.1.10", i));
    entry->add_names(absl::StrCat("spark-00", i, ".cluster"));
    entry->add_names(absl::StrCat("spark-00", i));
  }
  return ConfigureHosts(env, request).status();
}

inline absl::Status WriteAuthorizedKeys(Env& env, ProcessRunner& runner, int variant) {
  v1::ConfigureSshRequest request;
  request.set_user("nvidia");
  request.add_authorized_keys(kUserKey);
  if (variant == 1) request.add_authorized_keys(kPeerKey);
  return ConfigureSsh(env, runner, request, "spark-001").status();
}

inline absl::Status WriteSshdDropIn(Env& env, ProcessRunner& runner, int variant) {
  std::map<std::string, std::string> options;
  if (variant == 1) options["MaxAuthTries"] = "3";
  return HardenSshd(env, runner, options, /*dry_run=*/false).status();
}

inline absl::Status WriteNetplan(Env& env, ProcessRunner& runner, int variant) {
  v1::ConfigureLinkRequest request;
  v1::LinkInterface* p1 = request.add_interfaces();
  p1->set_name("enp1s0f1np1");
  p1->add_addresses("192.168.100.10/24");
  p1->set_mtu_bytes(variant == 0 ? 9000 : 1500);
  v1::LinkInterface* p2 = request.add_interfaces();
  p2->set_name("enP2p1s0f1np1");
  p2->add_addresses("192.168.101.10/24");
  request.set_management_address("192.168.1.101");  // enP7s7 in the DGX Spark fixture
  auto now = std::make_shared<absl::Time>(absl::FromUnixSeconds(1'000'000));
  LinkWait wait;
  wait.now = [now] { return *now; };
  wait.sleep = [now](absl::Duration d) { *now += d; };
  return ConfigureLink(env, runner, request, wait).status();
}

}  // namespace fault_files_internal

// nccl.conf, /etc/hosts, authorized_keys, the sshd drop-in and the netplan file.
inline std::vector<ManagedFile> ManagedFiles() {
  using namespace fault_files_internal;  // NOLINT(build/namespaces): this header's own
  std::vector<ManagedFile> files;
  files.push_back(
      {"nccl_conf", "/etc/nccl.conf", 0644,
       [](const std::string& root) { std::filesystem::create_directories(root + "/etc"); },
       WriteNccl});
  files.push_back({"hosts", kHostsPath, 0644,
                   [](const std::string& root) {
                     Put(root, kHostsPath, "127.0.0.1\tlocalhost\n::1\tip6-localhost\n");
                   },
                   WriteHosts});
  files.push_back({"authorized_keys", "/home/nvidia/.ssh/authorized_keys", 0600,
                   [](const std::string& root) {
                     Put(root, "/etc/passwd",
                         absl::StrCat("root:x:0:0:root:/root:/bin/bash\nnvidia:x:", getuid(), ":",
                                      getgid(), ":,,,:/home/nvidia:/bin/bash\n"));
                     std::filesystem::create_directories(root + "/home/nvidia");
                   },
                   WriteAuthorizedKeys});
  files.push_back({"sshd_drop_in", kSshdDropInPath, 0644,
                   [](const std::string& root) {
                     Put(root, kSshdConfigPath,
                         "Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n");
                   },
                   WriteSshdDropIn});
  files.push_back({"netplan", kNetplanLinkPath, 0600,
                   [](const std::string& root) {
                     std::filesystem::copy(
                         std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark",
                         root,
                         std::filesystem::copy_options::recursive |
                             std::filesystem::copy_options::copy_symlinks);
                     std::filesystem::create_directories(root + "/etc/netplan");
                   },
                   WriteNetplan});
  return files;
}

}  // namespace sparkfleet::testing

#endif  // SPARKFLEET_TESTS_INTEGRATION_FAULT_MANAGED_FILES_H_
