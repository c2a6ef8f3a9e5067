#include "common/cluster_config.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/validate.h"
#include "common/yaml_document.h"

namespace sparkfleet {
namespace {

// What section parsers share besides the config they fill.
struct ParseContext {
  absl::string_view base_dir;
  const GetenvFunction& getenv;
  // Set when `agent.insecure: true`, to point at it once every node's address is known.
  std::optional<YamlField> insecure_field;
};

// Parses one top-level key's value into `config`.
using SectionParser = absl::Status (*)(const YamlField& value, ParseContext& context,
                                       ClusterConfig* config);

struct Section {
  absl::string_view key;
  SectionParser parse;
  bool required;
};

// A path as written in cluster.yaml: "~/" is $HOME, relative is relative to the file.
// Null or "" leaves `out` unchanged.
absl::Status ReadPath(const YamlField& field, const ParseContext& context, std::string* out) {
  std::string text;
  if (absl::Status status = field.ReadString(&text); !status.ok()) return status;
  if (text.empty()) return absl::OkStatus();
  if (text[0] == '~') {
    if (text.size() > 1 && text[1] != '/') {
      return field.Error("only \"~/\" (your own home) is expanded; write the full path");
    }
    std::optional<std::string> home = context.getenv("HOME");
    if (!home.has_value() || home->empty()) {
      return field.Error("cannot expand \"~\": HOME is not set; write the full path");
    }
    text = absl::StrCat(*home, text.substr(1));
  }
  *out = ResolveConfigPath(context.base_dir, text);
  return absl::OkStatus();
}

absl::Status ParseClusterName(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return value.ReadString(&config->cluster_name);
}

absl::Status ParseEnableTailscale(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return value.ReadBool(&config->enable_tailscale);
}

absl::Status ParseEnableNccl(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return value.ReadBool(&config->enable_nccl);
}

absl::Status ParseTailscaleAuthKey(const YamlField& value, ParseContext&, ClusterConfig* config) {
  // ReadString never quotes the value in its errors, which keeps the key secret.
  return value.ReadString(&config->tailscale_auth_key);
}

absl::Status ParseTailscaleAuthKeyFile(const YamlField& value, ParseContext& context,
                                       ClusterConfig* config) {
  return ReadPath(value, context, &config->tailscale_auth_key_file);
}

absl::Status ParseSshKeyPath(const YamlField& value, ParseContext& context, ClusterConfig* config) {
  return ReadPath(value, context, &config->ssh_key_path);
}

absl::Status ParseDefaultUser(const YamlField& value, ParseContext&, ClusterConfig* config) {
  if (absl::Status status = value.ReadString(&config->user); !status.ok()) return status;
  if (config->user.empty()) return absl::OkStatus();
  return value.Invalid(ValidateUserName(config->user));
}

absl::Status ParseAgentTls(const YamlField& value, const ParseContext& context,
                           ClusterConfig* config) {
  absl::StatusOr<YamlMap> tls = value.AsMap();
  if (!tls.ok()) return tls.status();
  constexpr absl::string_view kKeys[] = {"ca", "cert", "key"};
  if (absl::Status status = tls->CheckKeys(kKeys); !status.ok()) return status;
  if (tls->entries().empty()) return absl::OkStatus();
  std::string* targets[] = {&config->tls_ca, &config->tls_cert, &config->tls_key};
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<YamlField> path = tls->Require(kKeys[i], "ca, cert and key go together");
    if (!path.ok()) return path.status();
    if (absl::Status status = ReadPath(*path, context, targets[i]); !status.ok()) return status;
    if (targets[i]->empty()) return path->Error("must not be empty");
  }
  return absl::OkStatus();
}

absl::Status ParseAgent(const YamlField& value, ParseContext& context, ClusterConfig* config) {
  absl::StatusOr<YamlMap> agent = value.AsMap();
  if (!agent.ok()) return agent.status();
  constexpr absl::string_view kKeys[] = {"port", "insecure", "tls"};
  if (absl::Status status = agent->CheckKeys(kKeys); !status.ok()) return status;
  if (std::optional<YamlField> port = agent->Find("port")) {
    if (absl::Status status = port->ReadPort(&config->agent_port); !status.ok()) return status;
  }
  if (std::optional<YamlField> insecure = agent->Find("insecure")) {
    if (absl::Status status = insecure->ReadBool(&config->insecure); !status.ok()) return status;
    if (config->insecure) context.insecure_field = *insecure;
  }
  if (std::optional<YamlField> tls = agent->Find("tls")) {
    return ParseAgentTls(*tls, context, config);
  }
  return absl::OkStatus();
}

// Where a parsed node's identifying values were written, for duplicate messages.
struct NodeMarks {
  YamlField hostname;
  YamlField ip;
};

absl::StatusOr<YamlField> ReadRequired(const YamlMap& map, absl::string_view key,
                                       std::string* out) {
  absl::StatusOr<YamlField> field = map.Require(key);
  if (!field.ok()) return field.status();
  if (absl::Status status = field->ReadNonEmptyString(out); !status.ok()) return status;
  return field;
}

absl::Status ParseNodeUser(const YamlMap& map, const ClusterConfig& config, ClusterNode* node) {
  std::optional<YamlField> user = map.Find("user");
  if (!user.has_value() || user->is_null()) {
    if (config.user.empty()) {
      return map.Require("user", "or set a default with a top-level \"user\"").status();
    }
    node->user = config.user;
    return absl::OkStatus();
  }
  if (absl::Status status = user->ReadNonEmptyString(&node->user); !status.ok()) return status;
  return user->Invalid(ValidateUserName(node->user));
}

absl::StatusOr<NodeMarks> ParseNode(const YamlField& value, const ClusterConfig& config,
                                    ClusterNode* node) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"hostname", "ip", "user", "port"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  if (value.is_null()) return value.Error("expected a map with hostname, ip and user");
  absl::StatusOr<YamlField> hostname = ReadRequired(*map, "hostname", &node->hostname);
  if (!hostname.ok()) return hostname.status();
  if (absl::Status s = hostname->Invalid(ValidateHostname(node->hostname)); !s.ok()) return s;
  absl::StatusOr<YamlField> ip = ReadRequired(*map, "ip", &node->ip);
  if (!ip.ok()) return ip.status();
  if (absl::Status s = ip->Invalid(ValidateIpAddress(node->ip)); !s.ok()) return s;
  if (absl::Status s = ParseNodeUser(*map, config, node); !s.ok()) return s;
  node->port = config.agent_port;
  if (std::optional<YamlField> port = map->Find("port")) {
    if (absl::Status s = port->ReadPort(&node->port); !s.ok()) return s;
  }
  return NodeMarks{*std::move(hostname), *std::move(ip)};
}

// The address's bytes, so "::1" and "0:0::1" compare equal.
std::string CanonicalIp(const std::string& ip) {
  unsigned char bytes[16];
  if (inet_pton(AF_INET, ip.c_str(), bytes) == 1) return std::string(bytes, bytes + 4);
  if (inet_pton(AF_INET6, ip.c_str(), bytes) == 1) return std::string(bytes, bytes + 16);
  return ip;
}

// Finds the second use of a node's name or of its agent address, in one pass (clusters
// may have hundreds of nodes). Names compare like DNS names, without case; addresses by
// their bytes. Two nodes may share an address on different ports (the loopback demo).
class UniqueNodes {
 public:
  absl::Status Add(const ClusterNode& node, NodeMarks marks) {
    size_t index = marks_.size();
    auto [name, new_name] = by_name_.emplace(absl::AsciiStrToLower(node.hostname), index);
    if (!new_name) {
      return marks.hostname.Error(absl::StrCat("\"", node.hostname, "\" is already the name of ",
                                               First(name->second, marks_[name->second].hostname)));
    }
    std::string address = absl::StrCat(CanonicalIp(node.ip), "/", node.port);
    auto [other, new_address] = by_address_.emplace(address, index);
    if (!new_address) {
      return marks.ip.Error(absl::StrCat(FormatHostPort(node.ip, node.port),
                                         " is already the agent address of ",
                                         First(other->second, marks_[other->second].ip),
                                         "; nodes on one address need different ports"));
    }
    marks_.push_back(std::move(marks));
    return absl::OkStatus();
  }

 private:
  static std::string First(size_t index, const YamlField& where) {
    return absl::StrCat("nodes[", index, "] (line ", where.mark().line, ", column ",
                        where.mark().column, ")");
  }

  std::vector<NodeMarks> marks_;
  absl::flat_hash_map<std::string, size_t> by_name_;
  absl::flat_hash_map<std::string, size_t> by_address_;
};

absl::Status ParseNodes(const YamlField& value, ParseContext&, ClusterConfig* config) {
  absl::StatusOr<std::vector<YamlField>> items = value.AsList();
  if (!items.ok()) return items.status();
  if (items->empty()) {
    return value.Error("at least one node is required: - {hostname: ..., ip: ..., user: ...}");
  }
  UniqueNodes unique;
  for (const YamlField& item : *items) {
    ClusterNode node;
    absl::StatusOr<NodeMarks> marks = ParseNode(item, *config, &node);
    if (!marks.ok()) return marks.status();
    if (absl::Status status = unique.Add(node, *std::move(marks)); !status.ok()) return status;
    config->nodes.push_back(std::move(node));
  }
  return absl::OkStatus();
}

std::vector<std::string> Hostnames(const ClusterConfig& config) {
  std::vector<std::string> hostnames;
  for (const ClusterNode& node : config.nodes) hostnames.push_back(node.hostname);
  return hostnames;
}

// After `nodes`: per-node overrides must name a node.
absl::Status ParseNccl(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return ParseNcclSection(value, Hostnames(*config), &config->nccl);
}

// A positive number ("90", "0.5"); the message names the field and the value.
absl::Status ReadPositiveNumber(const YamlField& field, std::optional<double>* out) {
  if (field.is_null()) return absl::OkStatus();
  std::string text;
  if (absl::Status status = field.ReadString(&text); !status.ok()) return status;
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value) || value <= 0) {
    return field.Error(absl::StrCat("expected a positive number, got \"", text, "\""));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseValidation(const YamlField& value, ParseContext&, ClusterConfig* config) {
  absl::StatusOr<YamlMap> validation = value.AsMap();
  if (!validation.ok()) return validation.status();
  constexpr absl::string_view kKeys[] = {"min_bandwidth_gbps", "max_latency_ms", "require_ssh"};
  if (absl::Status status = validation->CheckKeys(kKeys); !status.ok()) return status;
  ValidationThresholds& out = config->validation;
  if (std::optional<YamlField> field = validation->Find("min_bandwidth_gbps")) {
    if (absl::Status s = ReadPositiveNumber(*field, &out.min_bandwidth_gbps); !s.ok()) return s;
  }
  if (std::optional<YamlField> field = validation->Find("max_latency_ms")) {
    if (absl::Status s = ReadPositiveNumber(*field, &out.max_latency_ms); !s.ok()) return s;
  }
  if (std::optional<YamlField> field = validation->Find("require_ssh")) {
    if (!field->is_null()) {
      bool require = false;
      if (absl::Status s = field->ReadBool(&require); !s.ok()) return s;
      out.require_ssh = require;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseSsh(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return ParseSshSection(value, &config->ssh);
}

// After `nodes`: link.nodes and nfs.server name nodes; addresses depend on their count.
absl::Status ParseLink(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return ParseLinkSection(value, Hostnames(*config), &config->link);
}

absl::Status ParseNfs(const YamlField& value, ParseContext&, ClusterConfig* config) {
  return ParseNfsSection(value, Hostnames(*config), &config->nfs);
}

// Parsed in this order, not the file's: `user` and `agent` set defaults for `nodes`.
// A new section (nccl, validation, link, nfs, tailscale, ssh) is one row and one function.
constexpr Section kSections[] = {
    {"cluster_name", &ParseClusterName, false},
    {"enable_tailscale", &ParseEnableTailscale, false},
    {"enable_nccl", &ParseEnableNccl, false},
    {"tailscale_auth_key", &ParseTailscaleAuthKey, false},
    {"tailscale_auth_key_file", &ParseTailscaleAuthKeyFile, false},
    {"ssh_key_path", &ParseSshKeyPath, false},
    {"user", &ParseDefaultUser, false},
    {"agent", &ParseAgent, false},
    {"nodes", &ParseNodes, true},
    {"nccl", &ParseNccl, false},
    {"validation", &ParseValidation, false},
    {"ssh", &ParseSsh, false},
    {"link", &ParseLink, false},
    {"nfs", &ParseNfs, false},
};

// Plaintext gRPC never leaves the machine: refuse it when any agent is elsewhere.
absl::Status CheckInsecureOnLoopback(const ParseContext& context, const ClusterConfig& config) {
  if (!context.insecure_field.has_value()) return absl::OkStatus();
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    const ClusterNode& node = config.nodes[i];
    if (IsLoopbackAddress(node.ip)) continue;
    std::string where = absl::StrCat("nodes[", i, "] \"", node.hostname, "\" is on ", node.ip);
    return context.insecure_field->document().Error(
        context.insecure_field->mark(),
        absl::StrCat("agent.insecure is only allowed when every node is on a loopback address; ",
                     where, ": configure agent.tls instead"));
  }
  return absl::OkStatus();
}

// Checks that span sections, run once every section is parsed.
using ConfigCheck = absl::Status (*)(const ParseContext& context, const ClusterConfig& config);
constexpr ConfigCheck kChecks[] = {&CheckInsecureOnLoopback};

}  // namespace

std::string ClusterConfig::primary_node() const {
  return nodes.empty() ? "" : nodes.front().hostname;
}

absl::StatusOr<ClusterConfig> ParseClusterConfig(absl::string_view yaml_text,
                                                 absl::string_view file_name,
                                                 absl::string_view base_dir,
                                                 const GetenvFunction& getenv) {
  absl::StatusOr<YamlDocument> doc = YamlDocument::Parse(yaml_text, file_name);
  if (!doc.ok()) return doc.status();
  absl::StatusOr<YamlMap> top = doc->Root().AsMap();
  if (!top.ok()) return top.status();
  std::vector<absl::string_view> known;
  for (const Section& section : kSections) known.push_back(section.key);
  if (absl::Status status = top->CheckKeys(known); !status.ok()) return status;

  ClusterConfig config;
  ParseContext context{base_dir, getenv, std::nullopt};
  for (const Section& section : kSections) {
    std::optional<YamlField> value = top->Find(section.key);
    if (!value.has_value() && section.required) return top->Require(section.key).status();
    if (!value.has_value()) continue;
    if (absl::Status status = section.parse(*value, context, &config); !status.ok()) {
      return status;
    }
  }
  for (ConfigCheck check : kChecks) {
    if (absl::Status status = check(context, config); !status.ok()) return status;
  }
  std::optional<std::string> env_key = getenv("TAILSCALE_AUTH_KEY");
  if (env_key.has_value() && !env_key->empty()) config.tailscale_auth_key = *env_key;
  return config;
}

std::optional<std::string> ProcessGetenv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadConfigFile(path);
  if (!text.ok()) return text.status();
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  std::string base_dir = error ? "" : absolute.parent_path().string();
  return ParseClusterConfig(*text, path, base_dir, &ProcessGetenv);
}

}  // namespace sparkfleet
