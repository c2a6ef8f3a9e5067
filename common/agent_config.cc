#include "common/agent_config.h"

#include <filesystem>
#include <optional>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/validate.h"
#include "common/yaml_document.h"

namespace sparkfleet {
namespace {

constexpr absl::string_view kKeys[] = {"listen",
                                       "root",
                                       "tls_cert",
                                       "tls_key",
                                       "tls_ca",
                                       "insecure",
                                       "node_name",
                                       "tool_path",
                                       "nccl_search_path",
                                       "nccl_worker",
                                       "max_concurrent_calls"};

// HOST:PORT as ParseHostPort reads it, except that port 0 ("any free port", which
// tests use) is allowed too.
absl::Status ReadListen(const YamlField& field, std::string* out) {
  std::string text;
  if (absl::Status status = field.ReadNonEmptyString(&text); !status.ok()) return status;
  absl::StatusOr<HostPort> parsed = ParseHostPort(text, 50151);
  if (!parsed.ok() && absl::EndsWith(text, ":0") &&
      ParseHostPort(absl::StrCat(text.substr(0, text.size() - 1), "1"), 50151).ok()) {
    parsed = HostPort{};
  }
  if (!parsed.ok()) return field.Invalid(parsed.status());
  *out = std::move(text);
  return absl::OkStatus();
}

absl::Status ReadPath(const YamlField& field, absl::string_view base_dir, std::string* out) {
  std::string text;
  if (absl::Status status = field.ReadString(&text); !status.ok()) return status;
  if (!text.empty()) *out = ResolveConfigPath(base_dir, text);
  return absl::OkStatus();
}

absl::Status ReadPathList(const YamlField& field, absl::string_view base_dir,
                          std::vector<std::string>* out) {
  std::vector<std::string> paths;
  if (absl::Status status = field.ReadStringList(&paths); !status.ok()) return status;
  for (std::string& path : paths) {
    if (path.empty()) return field.Error("an empty directory name is not allowed");
    path = ResolveConfigPath(base_dir, path);
  }
  *out = std::move(paths);
  return absl::OkStatus();
}

absl::Status ReadRoot(const YamlField& field, absl::string_view base_dir, std::string* out) {
  std::string root;
  if (absl::Status status = ReadPath(field, base_dir, &root); !status.ok()) return status;
  if (root.empty()) return absl::OkStatus();
  if (root.front() != '/') {
    return field.Error(absl::StrCat("\"", root, "\" is not an absolute directory"));
  }
  *out = std::move(root);
  return absl::OkStatus();
}

absl::Status ReadNodeName(const YamlField& field, std::string* out) {
  if (absl::Status status = field.ReadString(out); !status.ok()) return status;
  if (out->empty()) return absl::OkStatus();
  return field.Invalid(ValidateHostname(*out));
}

absl::Status ReadMaxConcurrentCalls(const YamlField& field, int* out) {
  int64_t value = *out;
  if (absl::Status status = field.ReadInt(&value); !status.ok()) return status;
  if (value < 1 || value > kMaxMaxConcurrentCalls) {
    return field.Error(absl::StrCat(value, " is not in 1..", kMaxMaxConcurrentCalls));
  }
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

// One key's value into `config`.
absl::Status ReadKey(const YamlField& field, absl::string_view key, absl::string_view base_dir,
                     AgentConfig* config) {
  if (key == "listen") return ReadListen(field, &config->listen);
  if (key == "root") return ReadRoot(field, base_dir, &config->root);
  if (key == "tls_cert") return ReadPath(field, base_dir, &config->tls_cert);
  if (key == "tls_key") return ReadPath(field, base_dir, &config->tls_key);
  if (key == "tls_ca") return ReadPath(field, base_dir, &config->tls_ca);
  if (key == "insecure") return field.ReadBool(&config->insecure);
  if (key == "node_name") return ReadNodeName(field, &config->node_name);
  if (key == "tool_path") return ReadPathList(field, base_dir, &config->tool_path);
  if (key == "nccl_search_path") return ReadPathList(field, base_dir, &config->nccl_search_path);
  if (key == "nccl_worker") return ReadPath(field, base_dir, &config->nccl_worker);
  if (key == "max_concurrent_calls") {
    return ReadMaxConcurrentCalls(field, &config->max_concurrent_calls);
  }
  return absl::InternalError(absl::StrCat("agent.yaml key \"", key, "\" has no reader"));
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(absl::string_view yaml_text,
                                             absl::string_view file_name,
                                             absl::string_view base_dir) {
  absl::StatusOr<YamlDocument> doc = YamlDocument::Parse(yaml_text, file_name);
  if (!doc.ok()) return doc.status();
  absl::StatusOr<YamlMap> top = doc->Root().AsMap();
  if (!top.ok()) return top.status();
  if (absl::Status status = top->CheckKeys(kKeys); !status.ok()) return status;
  AgentConfig config;
  for (absl::string_view key : kKeys) {
    std::optional<YamlField> field = top->Find(key);
    if (!field.has_value()) continue;
    if (absl::Status status = ReadKey(*field, key, base_dir, &config); !status.ok()) {
      return status;
    }
  }
  return config;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadConfigFile(path);
  if (!text.ok()) return text.status();
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  std::string base_dir = error ? "" : absolute.parent_path().string();
  return ParseAgentConfig(*text, path, base_dir);
}

}  // namespace sparkfleet
