#include "common/nccl_config.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/yaml_document.h"

namespace sparkfleet {
namespace {

constexpr int kMaxGidIndex = 255;
constexpr char kShellSpecial[] = "$`;|&<>(){}\\'\"*?!";
constexpr size_t kMaxNcclValueBytes = 1023;  // NCCL's nccl.conf line buffer, minus the NUL

absl::Status ParseInstall(const YamlField& field, NcclInstall* out) {
  std::string word;
  if (absl::Status status = field.ReadString(&word); !status.ok()) return status;
  if (field.is_null()) return absl::OkStatus();
  for (NcclInstall install : {NcclInstall::kNone, NcclInstall::kApt, NcclInstall::kSource}) {
    if (word == NcclInstallName(install)) {
      *out = install;
      return absl::OkStatus();
    }
  }
  return field.Error(
      absl::StrCat("expected none, apt or source, got \"", absl::CHexEscape(word), "\""));
}

// `env: {KEY: value}`; each key and value checked where it is written.
absl::Status ParseEnv(const YamlField& field, std::map<std::string, std::string>* out) {
  absl::StatusOr<YamlMap> map = field.AsMap();
  if (!map.ok()) return map.status();
  for (const YamlEntry& entry : map->entries()) {
    if (absl::Status why = ValidateNcclKey(entry.key); !why.ok()) {
      return field.document().Error(entry.key_mark,
                                    absl::StrCat(field.ChildPath(entry.key), " ", why.message()));
    }
    YamlField value(field.document(), entry.value, field.ChildPath(entry.key));
    std::string text;
    if (absl::Status status = value.ReadNonEmptyString(&text); !status.ok()) return status;
    if (absl::Status status = value.Invalid(ValidateNcclValue(text)); !status.ok()) return status;
    (*out)[entry.key] = std::move(text);
  }
  return absl::OkStatus();
}

absl::Status ParseNodeSettings(const YamlField& field, NcclNodeSettings* out) {
  absl::StatusOr<YamlMap> map = field.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"env", "gid_index"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  if (std::optional<YamlField> env = map->Find("env")) {
    if (absl::Status status = ParseEnv(*env, &out->env); !status.ok()) return status;
  }
  if (std::optional<YamlField> gid = map->Find("gid_index"); gid && !gid->is_null()) {
    int64_t index = -1;
    if (absl::Status status = gid->ReadInt(&index); !status.ok()) return status;
    if (index < 0 || index > kMaxGidIndex) {
      return gid->Error(absl::StrCat("must be a GID table index 0..", kMaxGidIndex, ", got ", index,
                                     " (see `sparkctl probe`, column GID(auto))"));
    }
    if (out->env.count("NCCL_IB_GID_INDEX") > 0) {
      return gid->Error("NCCL_IB_GID_INDEX is also in this node's env; keep one of the two");
    }
    out->gid_index = static_cast<int>(index);
  }
  return absl::OkStatus();
}

absl::Status ParseNodes(const YamlField& field, const std::vector<std::string>& hostnames,
                        std::map<std::string, NcclNodeSettings>* out) {
  absl::StatusOr<YamlMap> map = field.AsMap();
  if (!map.ok()) return map.status();
  for (const YamlEntry& entry : map->entries()) {
    const std::string* known = nullptr;
    for (const std::string& hostname : hostnames) {
      if (absl::EqualsIgnoreCase(hostname, entry.key)) known = &hostname;
    }
    if (known == nullptr) {
      return field.document().Error(entry.key_mark,
                                    absl::StrCat(field.ChildPath(entry.key), ": \"", entry.key,
                                                 "\" is not a node of this cluster; nodes are ",
                                                 absl::StrJoin(hostnames, ", ")));
    }
    YamlField value(field.document(), entry.value, field.ChildPath(entry.key));
    if (out->count(*known) > 0) return value.Error("this node is already listed");
    if (absl::Status status = ParseNodeSettings(value, &(*out)[*known]); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status ParseConfPath(const YamlField& field, std::string* out) {
  std::string path;
  if (absl::Status status = field.ReadString(&path); !status.ok()) return status;
  if (path.empty()) return absl::OkStatus();
  if (absl::Status status = field.Invalid(ValidateNcclConfPath(path)); !status.ok()) return status;
  *out = std::move(path);
  return absl::OkStatus();
}

// The key's own position, since the message is about the key.
absl::Status RefuseClusterWideGidIndex(const YamlField& env) {
  absl::StatusOr<YamlMap> map = env.AsMap();
  if (!map.ok()) return map.status();
  for (const YamlEntry& entry : map->entries()) {
    if (entry.key != "NCCL_IB_GID_INDEX") continue;
    return env.document().Error(
        entry.key_mark,
        absl::StrCat(env.ChildPath(entry.key),
                     ": the RoCE v2 GID index differs between nodes and drifts; leave it "
                     "automatic, or pin it per node with nccl.nodes.<hostname>.gid_index"));
  }
  return absl::OkStatus();
}

// `nccl.version` or `nccl.source_tag`, checked by `validate`.
absl::Status ParseToken(const YamlField& field, std::string* out,
                        absl::Status (*validate)(absl::string_view)) {
  std::string text;
  if (absl::Status status = field.ReadString(&text); !status.ok()) return status;
  if (!text.empty()) {
    if (absl::Status status = field.Invalid(validate(text)); !status.ok()) return status;
  }
  *out = std::move(text);
  return absl::OkStatus();
}

// True when every byte of `text` is a letter, a digit or one of `extra`.
bool OnlyChars(absl::string_view text, absl::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains(extra, c);
  });
}

}  // namespace

absl::string_view NcclInstallName(NcclInstall install) {
  switch (install) {
    case NcclInstall::kNone:
      return "none";
    case NcclInstall::kApt:
      return "apt";
    case NcclInstall::kSource:
      return "source";
  }
  return "?";
}

std::map<std::string, std::string> NcclConfig::EnvFor(const std::string& hostname) const {
  std::map<std::string, std::string> merged = env;
  auto node = nodes.find(hostname);
  if (node == nodes.end()) return merged;
  for (const auto& [key, value] : node->second.env) merged[key] = value;
  if (node->second.gid_index.has_value()) {
    merged["NCCL_IB_GID_INDEX"] = absl::StrCat(*node->second.gid_index);
  }
  return merged;
}

std::string NcclConfig::ConfPath() const {
  return conf_path.empty() ? kDefaultNcclConfPath : conf_path;
}

absl::Status ValidateNcclKey(absl::string_view key) {
  bool well_formed = absl::StartsWith(key, "NCCL_") && key.size() > 5;
  for (char c : key) {
    well_formed = well_formed && (absl::ascii_isupper(c) || absl::ascii_isdigit(c) || c == '_');
  }
  if (!well_formed) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(key),
                     "\" is not an NCCL variable name (NCCL_ then A-Z, 0-9 and _)"));
  }
  if (key == "NCCL_CONF_FILE") {
    return absl::InvalidArgumentError(
        "\"NCCL_CONF_FILE\" only works in the environment; NCCL ignores it in nccl.conf");
  }
  return absl::OkStatus();
}

absl::Status ValidateNcclValue(absl::string_view value) {
  if (value.empty()) {
    return absl::InvalidArgumentError("\"\" is empty; leave the key out to keep NCCL's default");
  }
  if (value.size() > kMaxNcclValueBytes) {
    return absl::InvalidArgumentError(absl::StrCat("is ", value.size(),
                                                   " bytes; NCCL reads at most ",
                                                   kMaxNcclValueBytes, " bytes of a value"));
  }
  for (char c : value) {
    if (c == '#' || !absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CHexEscape(value),
          "\" holds whitespace, '#' or a control character; NCCL would keep it in the value"));
    }
  }
  // No NCCL variable takes these, and nccl.conf is also sourced by shell scripts
  // (`set -a; . /etc/nccl.conf`), where they would run commands.
  if (value.find_first_of(kShellSpecial) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(value), "\" holds one of ", kShellSpecial,
                     " which no NCCL variable takes and a shell sourcing nccl.conf would run"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNcclPackageVersion(absl::string_view version) {
  if (version.empty() || version.size() > 64 || !absl::ascii_isdigit(version[0]) ||
      !OnlyChars(version, ".+:~-")) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(version),
                     "\" is not an apt package version (e.g. 2.27.7-1+cuda13.0)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNcclSourceTag(absl::string_view tag) {
  if (tag.size() < 2 || tag.size() > 64 || tag[0] != 'v' || !absl::ascii_isdigit(tag[1]) ||
      !OnlyChars(tag, "._-")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", absl::CHexEscape(tag), "\" is not an NCCL release tag (e.g. v2.27.7-1)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateNcclConfPath(absl::string_view path) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(path), "\" ", why));
  };
  if (!absl::StartsWith(path, "/")) return invalid("is not an absolute path");
  std::vector<absl::string_view> parts = absl::StrSplit(path.substr(1), '/');
  for (absl::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") {
      return invalid("is not a normalized path (no empty, \".\" or \"..\" parts)");
    }
    for (char c : part) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && !absl::StrContains("._-+@", c)) {
        return invalid("may hold only letters, digits, '/' and \". _ - + @\"");
      }
    }
  }
  bool under_etc = parts.size() >= 2 && parts[0] == "etc";
  bool under_root = parts.size() >= 2 && parts[0] == "root";
  bool under_home = parts.size() >= 3 && parts[0] == "home";
  if (!under_etc && !under_root && !under_home) {
    return invalid("is not under /etc/, /root/ or /home/<user>/, where nccl.conf files live");
  }
  // Without these rules the path could name /etc/passwd, ~/.bashrc or a file other
  // programs read (/etc/apt/apt.conf.d/x.conf), and the agent would replace it.
  absl::string_view name = parts.back();
  if (!absl::StrContains(name, "nccl") || !absl::EndsWith(name, ".conf")) {
    return invalid(
        "is not an NCCL configuration file (its name holds \"nccl\" and ends in "
        "\".conf\", like /etc/nccl.conf or ~/.nccl.conf)");
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (absl::EndsWith(parts[i], ".d")) {
      return invalid(absl::StrCat("is in \"", parts[i],
                                  "\", a drop-in directory another program reads files from"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseNcclSection(const YamlField& value, const std::vector<std::string>& hostnames,
                              NcclConfig* out) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"install",   "version", "source_tag",
                                         "conf_path", "env",     "nodes"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  if (std::optional<YamlField> install = map->Find("install")) {
    if (absl::Status status = ParseInstall(*install, &out->install); !status.ok()) return status;
  }
  if (std::optional<YamlField> version = map->Find("version")) {
    if (absl::Status status = ParseToken(*version, &out->version, ValidateNcclPackageVersion);
        !status.ok())
      return status;
  }
  if (std::optional<YamlField> tag = map->Find("source_tag")) {
    if (absl::Status status = ParseToken(*tag, &out->source_tag, ValidateNcclSourceTag);
        !status.ok())
      return status;
  }
  if (std::optional<YamlField> path = map->Find("conf_path")) {
    if (absl::Status status = ParseConfPath(*path, &out->conf_path); !status.ok()) return status;
  }
  if (std::optional<YamlField> env = map->Find("env")) {
    if (absl::Status status = ParseEnv(*env, &out->env); !status.ok()) return status;
    if (absl::Status status = RefuseClusterWideGidIndex(*env); !status.ok()) return status;
  }
  if (std::optional<YamlField> nodes = map->Find("nodes")) {
    return ParseNodes(*nodes, hostnames, &out->nodes);
  }
  return absl::OkStatus();
}

}  // namespace sparkfleet
