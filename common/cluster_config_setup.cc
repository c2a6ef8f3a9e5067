// cluster.yaml's `ssh` and `nfs` sections and the validators they share with the
// coordinator's request builders. The `link` section is in cluster_config_link.cc.
#include "common/cluster_config_setup.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/sshd_options.h"
#include "common/validate.h"
#include "common/yaml_document.h"

namespace sparkfleet {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text), "\" ", why));
}

constexpr size_t kMaxNfsOptionsBytes = 1024;

// System directories: exporting one hands the node's own files to the clients, and
// mounting over one hides them from the node itself.
constexpr absl::string_view kSystemDirectories[] = {"bin",   "boot",  "dev",    "etc",  "lib",
                                                    "lib32", "lib64", "libx32", "proc", "root",
                                                    "run",   "sbin",  "sys",    "usr"};

bool AllCharsIn(absl::string_view text, absl::string_view extra) {
  for (char c : text) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && !absl::StrContains(extra, c)) {
      return false;
    }
  }
  return true;
}

absl::Status ParseSshOptions(const YamlField& value, std::map<std::string, std::string>* out) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  absl::flat_hash_set<std::string> seen;
  for (const YamlEntry& entry : map->entries()) {
    YamlField field(value.document(), entry.value, value.ChildPath(entry.key));
    std::string text;
    if (absl::Status status = field.ReadNonEmptyString(&text); !status.ok()) return status;
    if (absl::Status status = ValidateConfigSshdOption(entry.key, text); !status.ok()) {
      return value.document().Error(entry.key_mark,
                                    absl::StrCat(field.path(), ": ", status.message()));
    }
    if (!seen.insert(absl::AsciiStrToLower(entry.key)).second) {
      return value.document().Error(
          entry.key_mark, absl::StrCat(field.path(), ": sshd keywords ignore case; \"", entry.key,
                                       "\" is given twice"));
    }
    (*out)[entry.key] = text;
  }
  return absl::OkStatus();
}

// `enabled:` of a section that is on by being present.
absl::Status ReadEnabled(const YamlMap& map, bool* enabled) {
  *enabled = true;
  std::optional<YamlField> field = map.Find("enabled");
  if (!field.has_value()) return absl::OkStatus();
  return field->ReadBool(enabled);
}

absl::Status ReadNfsPath(const YamlMap& map, absl::string_view key, std::string* out) {
  std::optional<YamlField> field = map.Find(key);
  if (!field.has_value() || field->is_null()) return absl::OkStatus();
  if (absl::Status status = field->ReadNonEmptyString(out); !status.ok()) return status;
  return field->Invalid(ValidateConfigNfsPath(*out));
}

absl::Status ReadNfsOptions(const YamlMap& map, absl::string_view key, std::string* out) {
  std::optional<YamlField> field = map.Find(key);
  if (!field.has_value() || field->is_null()) return absl::OkStatus();
  if (absl::Status status = field->ReadNonEmptyString(out); !status.ok()) return status;
  return field->Invalid(ValidateConfigNfsOptions(*out));
}

absl::Status ReadNfsServer(const YamlMap& map, const std::vector<std::string>& hostnames,
                           NfsSettings* out) {
  out->server = hostnames.empty() ? "" : hostnames.front();
  if (std::optional<YamlField> field = map.Find("server"); field && !field->is_null()) {
    if (absl::Status status = field->ReadNonEmptyString(&out->server); !status.ok()) {
      return status;
    }
    auto known = std::find_if(hostnames.begin(), hostnames.end(), [&](const std::string& name) {
      return absl::EqualsIgnoreCase(name, out->server);
    });
    if (known == hostnames.end()) {
      return field->Error(absl::StrCat("\"", out->server, "\" is not a hostname from `nodes`"));
    }
    out->server = *known;
  }
  if (std::optional<YamlField> field = map.Find("server_address"); field && !field->is_null()) {
    if (absl::Status s = field->ReadNonEmptyString(&out->server_address); !s.ok()) return s;
    return field->Invalid(ValidateIpAddress(out->server_address));
  }
  return absl::OkStatus();
}

absl::Status ReadNfsClients(const YamlMap& map, std::vector<std::string>* out) {
  std::optional<YamlField> field = map.Find("clients");
  if (!field.has_value() || field->is_null()) return absl::OkStatus();
  absl::StatusOr<std::vector<YamlField>> items = field->AsList();
  if (!items.ok()) return items.status();
  for (const YamlField& item : *items) {
    std::string client;
    if (absl::Status status = item.ReadNonEmptyString(&client); !status.ok()) return status;
    if (absl::Status status = item.Invalid(ValidateConfigNfsClient(client)); !status.ok())
      return status;
    out->push_back(client);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Ipv4Cidr> ParseIpv4Cidr(absl::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  in_addr address{};
  int prefix = -1;
  if (parts.size() != 2 || inet_pton(AF_INET, parts[0].c_str(), &address) != 1 ||
      !AllCharsIn(parts[1], "") || !absl::SimpleAtoi(parts[1], &prefix) || prefix < 0 ||
      prefix > 32) {
    return Invalid(text, "is not an IPv4 address with a prefix length (192.168.100.0/24)");
  }
  return Ipv4Cidr{ntohl(address.s_addr), prefix};
}

std::string FormatIpv4Cidr(const Ipv4Cidr& cidr) {
  in_addr address{};
  address.s_addr = htonl(cidr.address);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return absl::StrCat(text, "/", cidr.prefix);
}

absl::Status ValidateConfigSshdOption(absl::string_view keyword, absl::string_view value) {
  if (absl::EqualsIgnoreCase(keyword, "port")) {
    return Invalid(keyword,
                   "is not changed by sparkfleet; set ssh.port to the port sshd listens on");
  }
  return ValidateSshdOption(keyword, value);
}

absl::Status ValidateConfigNfsPath(absl::string_view path) {
  if (!absl::StartsWith(path, "/")) return Invalid(path, "is not an absolute path");
  if (path == "/") return Invalid(path, "is the root directory; name a directory under it");
  std::vector<absl::string_view> parts = absl::StrSplit(path.substr(1), '/');
  for (absl::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") {
      return Invalid(path, "is not a normalized path (no empty, \".\" or \"..\" parts)");
    }
    if (!AllCharsIn(part, "._-+@")) {
      return Invalid(path, "may hold only letters, digits, '/' and \". _ - + @\"");
    }
  }
  for (absl::string_view system : kSystemDirectories) {
    if (parts[0] == system) {
      return Invalid(path, absl::StrCat("is in /", system,
                                        ", a system directory; share a directory of its own "
                                        "(/srv/sparkfleet)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateConfigNfsOptions(absl::string_view options) {
  if (options.size() > kMaxNfsOptionsBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "is ", options.size(), " bytes; an option list is at most ", kMaxNfsOptionsBytes));
  }
  bool ok = !options.empty();
  for (absl::string_view option : absl::StrSplit(options, ',')) {
    std::pair<absl::string_view, absl::string_view> name_value =
        absl::StrSplit(option, absl::MaxSplits('=', 1));
    absl::string_view name = name_value.first;
    ok = ok && !name.empty() &&
         (absl::ascii_isalnum(static_cast<unsigned char>(name[0])) || name[0] == '_');
    ok = ok && AllCharsIn(name, "_.-") && AllCharsIn(name_value.second, "_.:/+-@");
    ok = ok && !absl::StrContains(name_value.second, "..");
    if (!ok) break;
  }
  if (ok) return absl::OkStatus();
  return Invalid(options,
                 "is not an option list (name or name=value, separated by ',': "
                 "rw,sync,no_subtree_check)");
}

absl::Status ValidateConfigNfsClient(absl::string_view client) {
  if (ValidateIpAddress(client).ok() || ParseIpv4Cidr(client).ok() ||
      ValidateHostname(client).ok()) {
    return absl::OkStatus();
  }
  return Invalid(client, "is not an IP address, an IPv4 CIDR or a host name (no wildcards)");
}

absl::Status ParseSshSection(const YamlField& value, SshSettings* out) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"harden", "port", "options"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  if (std::optional<YamlField> harden = map->Find("harden")) {
    if (absl::Status status = harden->ReadBool(&out->harden); !status.ok()) return status;
  }
  if (std::optional<YamlField> port = map->Find("port")) {
    if (absl::Status status = port->ReadPort(&out->port); !status.ok()) return status;
  }
  if (std::optional<YamlField> options = map->Find("options")) {
    return ParseSshOptions(*options, &out->options);
  }
  return absl::OkStatus();
}

absl::Status ParseNfsSection(const YamlField& value, const std::vector<std::string>& hostnames,
                             NfsSettings* out) {
  absl::StatusOr<YamlMap> map = value.AsMap();
  if (!map.ok()) return map.status();
  constexpr absl::string_view kKeys[] = {"enabled",        "export_path",    "mount_point",
                                         "server",         "server_address", "clients",
                                         "export_options", "mount_options"};
  if (absl::Status status = map->CheckKeys(kKeys); !status.ok()) return status;
  if (absl::Status status = ReadEnabled(*map, &out->enabled); !status.ok()) return status;
  if (absl::Status s = ReadNfsPath(*map, "export_path", &out->export_path); !s.ok()) return s;
  if (absl::Status s = ReadNfsPath(*map, "mount_point", &out->mount_point); !s.ok()) return s;
  if (absl::Status s = ReadNfsServer(*map, hostnames, out); !s.ok()) return s;
  if (absl::Status s = ReadNfsClients(*map, &out->clients); !s.ok()) return s;
  if (absl::Status s = ReadNfsOptions(*map, "export_options", &out->export_options); !s.ok()) {
    return s;
  }
  return ReadNfsOptions(*map, "mount_options", &out->mount_options);
}

}  // namespace sparkfleet
