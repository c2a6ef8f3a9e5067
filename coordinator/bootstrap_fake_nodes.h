// Test support for coordinator/bootstrap_test.cc: nodes as doubles of ssh and scp see
// them (installed files, the unit's state, every remote command), on a
// ScriptedProcessRunner. Only tests include this file.
#ifndef SPARKFLEET_COORDINATOR_BOOTSTRAP_FAKE_NODES_H_
#define SPARKFLEET_COORDINATOR_BOOTSTRAP_FAKE_NODES_H_

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/process_runner.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet::testing {

inline std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size));
}

inline ProcessResult Exit(int code, std::string out = "", std::string err = "") {
  ProcessResult result;
  result.exit_code = code;
  result.stdout_text = std::move(out);
  result.stderr_text = std::move(err);
  return result;
}

// The nodes as ssh and scp doubles see them: installed files, the unit's state, and
// every remote command (unquoted words) that ran. A test may make one command fail.
class FakeNodes {
 public:
  struct Node {
    bool root = false;
    bool sudo_ok = true;
    std::string machine = "aarch64";
    std::map<std::string, std::string> installed;  // path -> content
    std::map<std::string, std::string> modes;      // path -> install -m
    std::map<std::string, std::string> staged;     // name -> content
    std::string active = "inactive";
    std::string enabled = "";
    std::vector<std::string> commands;
  };

  explicit FakeNodes(ScriptedProcessRunner& runner) {
    runner.Script("ssh", [this](const auto& argv, const ProcessOptions&) { return Ssh(argv); });
    runner.Script("scp", [this](const auto& argv, const ProcessOptions&) { return Scp(argv); });
  }

  Node& operator[](const std::string& ip) {
    absl::MutexLock lock(&mu_);
    return nodes_[ip];
  }
  // The first remote command starting with `prefix` answers `result` instead.
  void Fail(const std::string& prefix, ProcessResult result) {
    absl::MutexLock lock(&mu_);
    failures_[prefix] = std::move(result);
  }

 private:
  ProcessResult Ssh(const std::vector<std::string>& argv) {
    auto at = std::find(argv.begin(), argv.end(), "-l");
    std::string ip = at[2];
    std::vector<std::string> words;
    for (auto it = at + 3; it != argv.end(); ++it) {
      EXPECT_TRUE(it->size() >= 2 && it->front() == '\'' && it->back() == '\'') << *it;
      words.push_back(it->substr(1, it->size() - 2));
    }
    absl::MutexLock lock(&mu_);
    Node& node = nodes_[ip];
    std::string command = absl::StrJoin(words, " ");
    node.commands.push_back(command);
    for (const auto& [prefix, result] : failures_) {
      if (absl::StartsWith(command, prefix)) return result;
    }
    if (words[0] == "sudo") {
      if (!node.sudo_ok) return Exit(1, "", "sudo: a password is required");
      words.erase(words.begin(), words.begin() + 2);
    }
    return Run(node, words);
  }

  ProcessResult Run(Node& node, const std::vector<std::string>& w) {
    if (w[0] == "id") return Exit(0, node.root ? "0\n" : "1000\n");
    if (w[0] == "uname") return Exit(0, node.machine + "\n");
    if (w[0] == "true" || w[0] == "rm") return Exit(0);
    if (w[0] == "mktemp") return Exit(0, "/tmp/sparkfleet-bootstrap.Ab12Cd34Ef\n");
    if (w[0] == "sha256sum") {
      std::string out, err;
      for (size_t i = 2; i < w.size(); ++i) {
        auto it = node.installed.find(w[i]);
        if (it == node.installed.end()) {
          absl::StrAppend(&err, "sha256sum: ", w[i], ": No such file or directory\n");
        } else {
          absl::StrAppend(&out, Sha256(it->second), "  ", w[i], "\n");
        }
      }
      return Exit(err.empty() ? 0 : 1, out, err);
    }
    if (w[0] == "install") {  // install -D -m MODE DIR/NAME DEST
      node.installed[w[5]] = node.staged[std::string(w[4].substr(w[4].rfind('/') + 1))];
      node.modes[w[5]] = w[3];
      return Exit(0);
    }
    if (w[0] == "systemctl" && w[1] == "show") {
      return Exit(
          0, absl::StrCat("ActiveState=", node.active, "\nUnitFileState=", node.enabled, "\n"));
    }
    if (w[0] == "systemctl") {
      if (w[1] == "enable") node.enabled = "enabled";
      if (w[1] == "enable" || w[1] == "restart") node.active = "active";
      return Exit(0);
    }
    if (w[0] == "journalctl") return Exit(0, "spark-agent: node.key: permission denied\n");
    return Exit(127, "", "unexpected command");
  }

  ProcessResult Scp(const std::vector<std::string>& argv) {
    std::string target = argv.back();
    std::string ip = target.substr(target.find('@') + 1);
    ip = ip.substr(0, ip.find(':'));
    auto first = std::find(argv.begin(), argv.end(), "-q") + 1;
    absl::MutexLock lock(&mu_);
    for (auto it = first; it + 1 != argv.end(); ++it) {
      std::ifstream in(*it, std::ios::binary);
      std::stringstream content;
      content << in.rdbuf();
      nodes_[ip].staged[it->substr(it->rfind('/') + 1)] = content.str();
    }
    nodes_[ip].commands.push_back("scp");
    return Exit(0);
  }

  absl::Mutex mu_;
  std::map<std::string, Node> nodes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ProcessResult> failures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sparkfleet::testing

#endif  // SPARKFLEET_COORDINATOR_BOOTSTRAP_FAKE_NODES_H_
