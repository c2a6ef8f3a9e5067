#include "common/agent_config.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The message of a parse that must fail with INVALID_ARGUMENT.
std::string Error(const std::string& text) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(text, "agent.yaml", "/etc/sparkfleet");
  EXPECT_FALSE(config.ok()) << "parsed:\n" << text;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(AgentConfigParse, EmptyFileGivesTheDefaults) {
  for (const char* text : {"", "# nothing set\n"}) {
    absl::StatusOr<AgentConfig> config = ParseAgentConfig(text, "agent.yaml");
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->listen, "0.0.0.0:50151");
    EXPECT_EQ(config->root, "/");
    EXPECT_FALSE(config->insecure);
    EXPECT_TRUE(config->tool_path.empty());
    EXPECT_EQ(config->node_name, "");
  }
}

TEST(AgentConfigParse, ReadsEveryKey) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(R"(listen: "[::1]:6000"
root: /srv/sandbox/spark-001/root
tls_cert: node.crt
tls_key: /keys/node.key
tls_ca: ../ca.crt
insecure: true
node_name: spark-001
tool_path: shims
nccl_search_path: [/opt/nccl/lib, lib]
nccl_worker: bin/spark-nccl-worker
)",
                                                        "agent.yaml", "/etc/sparkfleet");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "[::1]:6000");
  EXPECT_EQ(config->root, "/srv/sandbox/spark-001/root");
  EXPECT_EQ(config->tls_cert, "/etc/sparkfleet/node.crt");
  EXPECT_EQ(config->tls_key, "/keys/node.key");
  EXPECT_EQ(config->tls_ca, "/etc/ca.crt");
  EXPECT_TRUE(config->insecure);
  EXPECT_EQ(config->node_name, "spark-001");
  EXPECT_THAT(config->tool_path, ElementsAre("/etc/sparkfleet/shims"));
  EXPECT_THAT(config->nccl_search_path, ElementsAre("/opt/nccl/lib", "/etc/sparkfleet/lib"));
  EXPECT_EQ(config->nccl_worker, "/etc/sparkfleet/bin/spark-nccl-worker");
}

TEST(AgentConfigParse, PathsStayAsWrittenWithoutABaseDirectory) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig("tls_cert: node.crt\n", "agent.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls_cert, "node.crt");
  EXPECT_EQ(ParseAgentConfig("root: sandbox\n", "agent.yaml").status().message(),
            "agent.yaml:1:7: root: \"sandbox\" is not an absolute directory");
}

TEST(AgentConfigParse, ListenAcceptsHostOnlyAndPortZero) {
  for (const char* listen : {"127.0.0.1", "127.0.0.1:0", "localhost:7000", "[::]:50151"}) {
    absl::StatusOr<AgentConfig> config =
        ParseAgentConfig(std::string("listen: \"") + listen + "\"\n", "agent.yaml");
    ASSERT_TRUE(config.ok()) << listen << ": " << config.status();
    EXPECT_EQ(config->listen, listen);
  }
}

TEST(AgentConfigParse, BadListenHasLocation) {
  EXPECT_THAT(Error("root: /\nlisten: 0.0.0.0:99999\n"),
              HasSubstr("agent.yaml:2:9: listen \"0.0.0.0:99999\": port \"99999\" is not in"));
  EXPECT_THAT(Error("listen: \"bad host:1\"\n"),
              HasSubstr("agent.yaml:1:9: listen \"bad host:1\""));
  EXPECT_EQ(Error("listen: \"\"\n"), "agent.yaml:1:9: listen: must not be empty");
}

TEST(AgentConfigParse, UnknownKeySuggestsTheRightOne) {
  EXPECT_EQ(Error("insecure: false\ntls-cert: /x\n"),
            "agent.yaml:2:1: unknown key \"tls-cert\"; did you mean \"tls_cert\"?");
  EXPECT_EQ(Error("node-name: a\n"),
            "agent.yaml:1:1: unknown key \"node-name\"; did you mean \"node_name\"?");
}

TEST(AgentConfigParse, WrongTypes) {
  EXPECT_EQ(Error("insecure: sometimes\n"),
            "agent.yaml:1:11: insecure: expected true or false, got \"sometimes\"");
  EXPECT_EQ(Error("tool_path: {a: b}\n"),
            "agent.yaml:1:12: tool_path: expected a string or a list of strings, got a map");
  EXPECT_EQ(Error("tls_ca: [a, b]\n"), "agent.yaml:1:9: tls_ca: expected a string, got a list");
  EXPECT_EQ(Error("listen\n"), "agent.yaml:1:1: expected a map of keys and values, got a string");
}

TEST(AgentConfigParse, MaxConcurrentCallsIsAPositiveBoundedCount) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig("max_concurrent_calls: 32\n", "agent.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_concurrent_calls, 32);
  EXPECT_EQ(ParseAgentConfig("", "agent.yaml")->max_concurrent_calls, 256);
  EXPECT_EQ(Error("max_concurrent_calls: 0\n"),
            "agent.yaml:1:23: max_concurrent_calls: 0 is not in 1..65536");
  EXPECT_THAT(Error("max_concurrent_calls: lots\n"), HasSubstr("expected an integer"));
}

TEST(AgentConfigParse, NodeNameMustBeAHostName) {
  EXPECT_THAT(Error("node_name: spark 1\n"),
              HasSubstr("agent.yaml:1:12: node_name \"spark 1\" is not a valid host name"));
}

TEST(AgentConfigParse, DuplicateKeyNamesBothLines) {
  EXPECT_EQ(Error("root: /a\ninsecure: true\nroot: /b\n"),
            "agent.yaml:3:1: duplicate key \"root\" (first at line 1, column 1)");
}

TEST(AgentConfigParse, SyntaxErrorHasLocation) {
  EXPECT_EQ(Error("tool_path: [a, b\n"),
            "agent.yaml:2:1: invalid YAML: end of sequence flow not found");
}

TEST(AgentConfigLoad, ExampleFileLoads) {
  absl::StatusOr<AgentConfig> config =
      LoadAgentConfig(SPARKFLEET_SOURCE_DIR "/config/agent.yaml.example");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "0.0.0.0:50151");
  EXPECT_EQ(config->tls_ca, "/etc/sparkfleet/ca.crt");
}

TEST(AgentConfigLoad, UnreadableFileSaysWhy) {
  absl::StatusOr<AgentConfig> config = LoadAgentConfig("/nonexistent/agent.yaml");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(config.status().message(),
            "/nonexistent/agent.yaml: cannot read: No such file or directory");
}

}  // namespace
}  // namespace sparkfleet
