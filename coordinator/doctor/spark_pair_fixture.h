// Test fixture for doctor's checks: two copies of tests/testdata/sysfs/dgx-spark made
// into a clean Spark pair (spark-001, spark-002) as sparkfleet leaves it: hostnames set,
// the cluster user "spark" (uid/gid 1000) in /etc/passwd, NCCL from dpkg, and the
// /etc/nccl.conf WriteNcclConf renders from the node's own probe. A test changes one
// thing in a tree (or in the gathered facts) and runs the checks; Gather() collects the
// facts the way the agent does: ProbeHardware, ReadNcclConf, CollectDoctorFacts and
// NodeInfoReader on a rooted Env, chronyc answered by a scripted runner.
//
// Only for tests (coordinator_test links sparkfleet_agent).
#ifndef SPARKFLEET_COORDINATOR_DOCTOR_SPARK_PAIR_FIXTURE_H_
#define SPARKFLEET_COORDINATOR_DOCTOR_SPARK_PAIR_FIXTURE_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/env.h"
#include "coordinator/doctor/doctor_checks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node_agent/info/doctor_facts.h"
#include "node_agent/info/node_info.h"
#include "node_agent/ops/nccl_conf.h"
#include "node_agent/ops/nccl_conf_reader.h"
#include "node_agent/probe/probe.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet::testing {

inline constexpr char kClusterUser[] = "spark";
// chronyc -c tracking on a synchronized node.
inline constexpr char kChronySynchronized[] =
    "C0A80101,192.168.1.1,3,1767225600.0,0.000012,0.0,0.0,-2.3,0.0,0.05,0.0005,0.0003,64.2,"
    "Normal\n";
inline constexpr char kChronyUnsynchronized[] =
    "00000000,,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,1.0,1.0,0.0,Not synchronised\n";

// Every finding but the "versions" info line, which a healthy cluster has too.
inline std::vector<Finding> Problems(const std::vector<Finding>& findings) {
  std::vector<Finding> problems;
  for (const Finding& finding : findings) {
    if (finding.id != "versions") problems.push_back(finding);
  }
  return problems;
}

// A finding with this id and severity about exactly these nodes.
inline ::testing::Matcher<const Finding&> IsFinding(const std::string& id, Severity severity,
                                                    std::vector<std::string> nodes) {
  return ::testing::AllOf(::testing::Field(&Finding::id, id),
                          ::testing::Field(&Finding::severity, severity),
                          ::testing::Field(&Finding::nodes, ::testing::ElementsAreArray(nodes)));
}

// For assertion messages: one line per finding.
inline std::string Describe(const std::vector<Finding>& findings) {
  std::string text = findings.empty() ? "no findings\n" : "";
  for (const Finding& finding : findings) {
    absl::StrAppend(&text, SeverityName(finding.severity), " ", finding.id, " [",
                    absl::StrJoin(finding.nodes, ","), "] ", finding.seen, "\n");
  }
  return text;
}

class SparkPairFixture : public ::testing::Test {
 protected:
  static constexpr int kNodes = 2;

  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-doctor-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    dir_ = pattern;
    for (int i = 0; i < kNodes; ++i) {
      roots_[i] = absl::StrCat(dir_, "/", names_[i]);
      std::filesystem::copy(
          std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark", roots_[i],
          std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
      MakeClean(i);
    }
    config_.user = kClusterUser;
    config_.nodes = {{names_[0], "192.168.1.101", kClusterUser, kDefaultAgentPort},
                     {names_[1], "192.168.1.102", kClusterUser, kDefaultAgentPort}};
    config_.link.enabled = true;
    config_.link.interfaces = {{"enp1s0f1np1", "192.168.100.0/24"},
                               {"enP2p1s0f1np1", "192.168.101.0/24"}};
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  // ---- Changing a tree

  void Write(int node, const std::string& path, const std::string& text) {
    std::filesystem::path file(roots_[node] + path);
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::trunc) << text;
  }

  std::string Read(int node, const std::string& path) {
    std::ifstream in(roots_[node] + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void Replace(int node, const std::string& path, const std::string& from, const std::string& to) {
    std::string text = Read(node, path);
    ASSERT_NE(text.find(from), std::string::npos) << path << " lacks " << from;
    Write(node, path, absl::StrReplaceAll(text, {{from, to}}));
  }

  void SetNcclPackage(int node, const std::string& version) {
    Write(node, "/var/lib/dpkg/status",
          absl::StrCat("Package: libnccl2\nStatus: install ok installed\nVersion: ", version,
                       "\n\n"));
  }

  void SetPasswd(int node, const std::string& spark_line) {
    Write(node, "/etc/passwd", absl::StrCat("root:x:0:0:root:/root:/bin/bash\n", spark_line, "\n"));
  }

  // The /etc/nccl.conf `sparkctl nccl` writes on this tree (nccl.env NCCL_DEBUG=WARN).
  void WriteSparkfleetNcclConf(int node) {
    std::unique_ptr<Env> env = NewRootedEnv(roots_[node]);
    v1::WriteNcclConfRequest request;
    request.set_cluster_address(node == 0 ? "192.168.1.101" : "192.168.1.102");
    (*request.mutable_env())["NCCL_DEBUG"] = "WARN";
    absl::StatusOr<NcclConfBody> body =
        RenderNcclConfBody(request, ProbeHardware(*env, v1::ProbeRequest()));
    ASSERT_TRUE(body.ok()) << body.status();
    NcclConfAuthor author{names_[node], "test", absl::FromUnixSeconds(1767225600)};
    Write(node, "/etc/nccl.conf", NcclConfHeader(author) + body->text);
  }

  // ---- Gathering

  DoctorNodeFacts Gather(int node) {
    std::unique_ptr<Env> env = NewRootedEnv(roots_[node]);
    DoctorNodeFacts facts;
    facts.node = names_[node];
    if (cuda_[node].empty()) {  // the toolkit without its version.json
      std::filesystem::remove(roots_[node] + "/usr/local/cuda/version.json");
      Write(node, "/usr/local/cuda/bin/nvcc", "");
    } else {
      Write(node, "/usr/local/cuda/version.json",
            absl::StrCat(R"({"cuda": {"name": "CUDA SDK", "version": ")", cuda_[node], "\"}}"));
    }
    NodeInfoReader reader(*env, names_[node]);
    facts.info = reader.Read();
    facts.probe = ProbeHardware(*env, v1::ProbeRequest());
    v1::ReadNcclConfRequest conf_request;
    conf_request.set_user(kClusterUser);
    conf_request.set_conf_path("/etc/nccl.conf");
    absl::StatusOr<v1::ReadNcclConfReply> conf = ReadNcclConf(*env, conf_request, process_[node]);
    if (conf.ok()) {
      facts.nccl_conf = *conf;
    } else {
      facts.unknown["ReadNcclConf"] = std::string(conf.status().message());
    }
    ScriptedProcessRunner runner;
    if (!chrony_[node].empty()) {
      std::string chrony = chrony_[node];
      runner.Script("chronyc", [chrony](const std::vector<std::string>&, const ProcessOptions&) {
        ProcessResult result;
        result.exit_code = 0;
        result.stdout_text = chrony;
        return result;
      });
    }
    v1::GetDoctorFactsRequest facts_request;
    facts_request.add_users(kClusterUser);
    absl::Time node_now = kSent + absl::Milliseconds(1) + clock_offset_[node];
    facts.facts = CollectDoctorFacts(*env, runner, facts_request, [node_now] { return node_now; });
    facts.facts_sent = kSent;
    facts.facts_received = kSent + absl::Milliseconds(2);
    const std::string peer = names_[1 - node];
    const std::string suffix = node == 0 ? ".11" : ".10";
    facts.mtu_probes = {{peer, "enp1s0f1np1", "192.168.100" + suffix, 9000, true, ""},
                        {peer, "enP2p1s0f1np1", "192.168.101" + suffix, 9000, true, ""}};
    return facts;
  }

  DoctorInput Input() {
    DoctorInput input;
    input.config = config_;
    for (int i = 0; i < kNodes; ++i) input.nodes.push_back(Gather(i));
    return input;
  }

  std::vector<Finding> Check() { return RunDoctorChecks(Input()); }

  const absl::Time kSent = absl::FromUnixSeconds(1767225600);
  std::string dir_;
  std::string names_[kNodes] = {"spark-001", "spark-002"};
  std::string roots_[kNodes];
  ClusterConfig config_;
  std::string cuda_[kNodes] = {"13.0.1", "13.0.1"};  // "" = nvcc without version.json
  std::string chrony_[kNodes] = {kChronySynchronized, kChronySynchronized};  // "" = none
  absl::Duration clock_offset_[kNodes];
  NcclProcessFacts process_[kNodes];

 private:
  void MakeClean(int node) {
    Write(node, "/proc/sys/kernel/hostname", names_[node] + "\n");
    Write(node, "/etc/hostname", names_[node] + "\n");
    if (node == 1) {
      Replace(node, "/etc/sparkfleet/fixture-addresses", "192.168.100.10/", "192.168.100.11/");
      Replace(node, "/etc/sparkfleet/fixture-addresses", "192.168.101.10/", "192.168.101.11/");
      Replace(node, "/etc/sparkfleet/fixture-addresses", "192.168.1.101/", "192.168.1.102/");
    }
    SetPasswd(node, "spark:x:1000:1000:Spark:/home/spark:/bin/bash");
    std::filesystem::create_directories(roots_[node] + "/home/spark");
    SetNcclPackage(node, "2.27.7-1+cuda13.0");
    WriteSparkfleetNcclConf(node);
  }
};

}  // namespace sparkfleet::testing

#endif  // SPARKFLEET_COORDINATOR_DOCTOR_SPARK_PAIR_FIXTURE_H_
