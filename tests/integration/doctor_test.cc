// `sparkctl doctor` against three real spark-agents on DGX Spark fixture roots (loopback,
// mTLS), with doubles of ping and chronyc on the agents' --tool-path:
// - a clean cluster: exit 0, no error, and a do-not-fragment ping of MTU - 28 bytes over
//   both link interfaces from every node to every other node;
// - problems planted in the roots and the ping double: a link MTU fallen back to 1500, a
//   path that drops full-size frames, a hostname that differs from cluster.yaml: exit 2,
//   each reported with its id, severity and nodes;
// - a node whose agent is down: reported as unknown (info), never as an error, while the
//   other nodes are checked.
// Nothing under any root changes.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace sparkfleet::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

constexpr int kNodes = 3;

// ping's double: logs its argv, and answers as iputils ping does, losing every echo to
// an address listed in $SPARKFLEET_DOCTOR_DIR/ping-drop.
constexpr char kPingDouble[] = R"(#!/bin/sh
echo "ping $*" >> "$SPARKFLEET_DOCTOR_DIR/ping.log"
for target; do :; done
if [ -f "$SPARKFLEET_DOCTOR_DIR/ping-drop" ] && grep -qxF "$target" "$SPARKFLEET_DOCTOR_DIR/ping-drop"; then
  echo "PING $target ($target) 8972(9000) bytes of data."
  echo ""
  echo "--- $target ping statistics ---"
  echo "3 packets transmitted, 0 received, 100% packet loss, time 2040ms"
  exit 1
fi
echo "PING $target ($target) 8972(9000) bytes of data."
echo ""
echo "--- $target ping statistics ---"
echo "3 packets transmitted, 3 received, 0% packet loss, time 402ms"
echo "rtt min/avg/max/mdev = 0.101/0.120/0.140/0.016 ms"
)";

// chronyc -c tracking on a synchronized node.
constexpr char kChronyDouble[] = R"(#!/bin/sh
echo "C0A80101,192.168.1.1,3,1767225600.0,0.000012,0.0,0.0,-2.3,0.0,0.05,0.0005,0.0003,64.2,Normal"
)";

std::string Slurp(const std::string& path) { return ClusterHarness::ReadFile(path); }

void Put(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

void PutTool(const std::string& path, const std::string& text) {
  Put(path, text);
  chmod(path.c_str(), 0755);
}

// Every regular file under `root` with its content.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files[entry.path().string()] = Slurp(entry.path().string());
  }
  return files;
}

struct DoctorFinding {
  std::string id;
  std::string severity;
  std::vector<std::string> nodes;
  std::string seen;
};

std::vector<DoctorFinding> ParseFindings(const std::string& json) {
  google::protobuf::Struct doc;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &doc);
  EXPECT_TRUE(parsed.ok()) << json;
  std::vector<DoctorFinding> findings;
  for (const auto& value : doc.fields().at("findings").list_value().values()) {
    const auto& fields = value.struct_value().fields();
    DoctorFinding finding{fields.at("id").string_value(),
                          fields.at("severity").string_value(),
                          {},
                          fields.at("seen").string_value()};
    for (const auto& node : fields.at("nodes").list_value().values()) {
      finding.nodes.push_back(node.string_value());
    }
    findings.push_back(std::move(finding));
  }
  return findings;
}

std::string Describe(const std::vector<DoctorFinding>& findings) {
  std::string text;
  for (const DoctorFinding& f : findings) {
    absl::StrAppend(&text, f.severity, " ", f.id, " [", absl::StrJoin(f.nodes, ","), "] ", f.seen,
                    "\n");
  }
  return text;
}

const DoctorFinding* Find(const std::vector<DoctorFinding>& findings, const std::string& id) {
  for (const DoctorFinding& finding : findings) {
    if (finding.id == id) return &finding;
  }
  return nullptr;
}

class DoctorIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tools = cluster_.dir() + "/tools";
    PutTool(tools + "/ping", kPingDouble);
    PutTool(tools + "/chronyc", kChronyDouble);
    Put(cluster_.dir() + "/ping.log", "");
    setenv("SPARKFLEET_DOCTOR_DIR", cluster_.dir().c_str(), 1);
    for (int i = 0; i < kNodes; ++i) {
      const std::string name = absl::StrCat("spark-00", i + 1);
      const std::string seed = cluster_.dir() + "/seed-" + name;
      ASSERT_NO_FATAL_FAILURE(WriteSeed(seed, name, i));
      absl::StatusOr<AgentProcess*> agent =
          cluster_.StartAgent(name, {"--tool-path=" + tools}, seed);
      ASSERT_TRUE(agent.ok()) << agent.status();
      agents_.push_back(*agent);
    }
    std::string yaml = "cluster_name: doctor\nuser: nvidia\nnodes:\n";
    for (const AgentProcess* agent : agents_) {
      absl::StrAppend(&yaml, "  - {hostname: ", agent->name, ", ip: 127.0.0.1, port: ", agent->port,
                      "}\n");
    }
    absl::StrAppend(&yaml,
                    "agent:\n  tls: {ca: pki/ca.crt, cert: pki/admin.crt, key: pki/admin.key}\n"
                    "link:\n  interfaces:\n"
                    "    - {name: enp1s0f1np1, subnet: 192.168.100.0/24}\n"
                    "    - {name: enP2p1s0f1np1, subnet: 192.168.101.0/24}\n");
    yaml_ = cluster_.dir() + "/cluster.yaml";
    Put(yaml_, yaml);
  }

  void TearDown() override { unsetenv("SPARKFLEET_DOCTOR_DIR"); }

  // A DGX Spark as sparkfleet leaves it: its hostname, node i's addresses on the link
  // (.10 + i, as link.host_offset computes them) and on the LAN, the cluster user, NCCL
  // and CUDA from their packages.
  void WriteSeed(const std::string& seed, const std::string& name, int i) {
    std::filesystem::copy(
        std::string(SPARKFLEET_SOURCE_DIR) + "/tests/testdata/sysfs/dgx-spark", seed,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    Put(seed + "/proc/sys/kernel/hostname", name + "\n");
    Put(seed + "/etc/hostname", name + "\n");
    const std::string addresses = seed + "/etc/sparkfleet/fixture-addresses";
    Put(addresses,
        absl::StrReplaceAll(Slurp(addresses),
                            {{"192.168.100.10/", absl::StrCat("192.168.100.", 10 + i, "/")},
                             {"192.168.101.10/", absl::StrCat("192.168.101.", 10 + i, "/")},
                             {"192.168.1.101/", absl::StrCat("192.168.1.", 101 + i, "/")}}));
    Put(seed + "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nnvidia:x:1000:1000:NVIDIA:/home/nvidia:/bin/bash\n");
    std::filesystem::create_directories(seed + "/home/nvidia");
    Put(seed + "/var/lib/dpkg/status",
        "Package: libnccl2\nStatus: install ok installed\nVersion: 2.27.7-1+cuda13.0\n\n");
    Put(seed + "/usr/local/cuda/version.json",
        R"({"cuda": {"name": "CUDA SDK", "version": "13.0.1"}})");
  }

  ProcessResult Doctor() {
    return cluster_.RunSparkctl({"-c", yaml_, "--timeout", "20", "--json", "doctor"},
                                absl::Seconds(120));
  }

  std::vector<std::map<std::string, std::string>> Roots() const {
    std::vector<std::map<std::string, std::string>> roots;
    for (const AgentProcess* agent : agents_) roots.push_back(Snapshot(agent->root));
    return roots;
  }

  // The DF pings the agents ran: "INTERFACE TARGET" for each.
  std::vector<std::string> DfPings() const {
    std::vector<std::string> pings;
    for (absl::string_view line :
         absl::StrSplit(Slurp(cluster_.dir() + "/ping.log"), '\n', absl::SkipEmpty())) {
      std::vector<std::string> argv = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (!absl::StrContains(line, " -M do ")) continue;
      std::string interface;
      for (size_t k = 0; k + 1 < argv.size(); ++k) {
        if (argv[k] == "-I") interface = argv[k + 1];
      }
      EXPECT_THAT(line, HasSubstr(" -s 8972 ")) << "MTU 9000 - 28";
      pings.push_back(absl::StrCat(interface, " ", argv.back()));
    }
    return pings;
  }

  ClusterHarness cluster_;
  std::vector<AgentProcess*> agents_;
  std::string yaml_;
};

TEST_F(DoctorIntegration, CleanClusterHasNoErrorAndPingsEveryPeerOverEveryLinkInterface) {
  auto before = Roots();
  ProcessResult run = Doctor();
  std::vector<DoctorFinding> findings = ParseFindings(run.stdout_text);
  std::cout << Describe(findings);
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text << Describe(findings);
  for (const DoctorFinding& finding : findings) {
    EXPECT_NE(finding.severity, "error") << Describe(findings);
  }
  const DoctorFinding* versions = Find(findings, "versions");
  ASSERT_NE(versions, nullptr) << Describe(findings);
  EXPECT_THAT(versions->seen, HasSubstr("NCCL 2.27.7-1+cuda13.0"));
  EXPECT_THAT(versions->seen, HasSubstr("CUDA 13.0.1"));

  std::vector<std::string> expected;
  for (int from = 0; from < kNodes; ++from) {
    for (int to = 0; to < kNodes; ++to) {
      if (from == to) continue;
      expected.push_back(absl::StrCat("enp1s0f1np1 192.168.100.", 10 + to));
      expected.push_back(absl::StrCat("enP2p1s0f1np1 192.168.101.", 10 + to));
    }
  }
  EXPECT_THAT(DfPings(), UnorderedElementsAreArray(expected));
  EXPECT_EQ(Roots(), before) << "doctor changed a node's files";
}

TEST_F(DoctorIntegration, PlantedProblemsAreReportedWithTheirNodesAndExitTwo) {
  // spark-002's first link half fell back to 1500; full-size frames to spark-003's second
  // half are dropped on the way; spark-003 was renamed behind cluster.yaml's back.
  Put(agents_[1]->root + "/sys/class/net/enp1s0f1np1/mtu", "1500\n");
  Put(cluster_.dir() + "/ping-drop", "192.168.101.12\n");
  Put(agents_[2]->root + "/proc/sys/kernel/hostname", "spark-3b\n");

  ProcessResult run = Doctor();
  std::vector<DoctorFinding> findings = ParseFindings(run.stdout_text);
  std::cout << Describe(findings);
  EXPECT_EQ(run.exit_code, 2) << run.stderr_text << Describe(findings);

  const DoctorFinding* low = Find(findings, "link-mtu-low");
  ASSERT_NE(low, nullptr) << Describe(findings);
  EXPECT_EQ(low->severity, "error");
  EXPECT_EQ(low->nodes, std::vector<std::string>{"spark-002"});
  EXPECT_THAT(low->seen, HasSubstr("enp1s0f1np1"));

  const DoctorFinding* mismatch = Find(findings, "link-mtu-mismatch");
  ASSERT_NE(mismatch, nullptr) << Describe(findings);
  EXPECT_EQ(mismatch->severity, "error");

  const DoctorFinding* blocked = Find(findings, "link-mtu-blocked");
  ASSERT_NE(blocked, nullptr) << Describe(findings);
  EXPECT_EQ(blocked->severity, "error");
  EXPECT_THAT(blocked->nodes, Contains("spark-003"));
  EXPECT_THAT(blocked->seen, HasSubstr("to spark-003 (192.168.101.12)"));
  EXPECT_THAT(blocked->seen, Not(HasSubstr("192.168.101.11)")));

  const DoctorFinding* hostname = Find(findings, "hostname-mismatch");
  ASSERT_NE(hostname, nullptr) << Describe(findings);
  EXPECT_EQ(hostname->nodes, std::vector<std::string>{"spark-003"});
  EXPECT_THAT(hostname->seen, HasSubstr("spark-3b"));
}

TEST_F(DoctorIntegration, NodeWhoseAgentIsDownIsUnknownNotAnError) {
  agents_[2]->process->Signal(SIGKILL);
  ASSERT_TRUE(agents_[2]->process->WaitExit(absl::Seconds(10)).has_value());

  ProcessResult run = Doctor();
  std::vector<DoctorFinding> findings = ParseFindings(run.stdout_text);
  std::cout << Describe(findings);
  EXPECT_EQ(run.exit_code, 0) << run.stderr_text << Describe(findings);
  std::set<std::string> unknown_nodes;
  for (const DoctorFinding& finding : findings) {
    EXPECT_NE(finding.severity, "error") << Describe(findings);
    if (finding.id == "unknown") unknown_nodes.insert(finding.nodes.begin(), finding.nodes.end());
  }
  EXPECT_THAT(unknown_nodes, Contains("spark-003")) << Describe(findings);
  EXPECT_EQ(unknown_nodes.count("spark-001"), 0u) << Describe(findings);
  // The two live nodes still checked each other's link.
  EXPECT_THAT(DfPings(), Contains("enp1s0f1np1 192.168.100.11"));
  EXPECT_THAT(DfPings(), Not(Contains("enp1s0f1np1 192.168.100.12")));
}

}  // namespace
}  // namespace sparkfleet::testing
