// The pure half of nfs_share.h: validation, the exports and fstab lines, and reading
// etab and /proc/mounts.
#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/validate.h"
#include "node_agent/ops/nfs_share.h"

namespace sparkfleet {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("ConfigureNfs: ", field, ": ", why));
}

absl::Status Check(absl::string_view field, const absl::Status& status) {
  return status.ok() ? status : Invalid(field, status.message());
}

bool AllCharsIn(absl::string_view text, absl::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || extra.find(c) != extra.npos;
  });
}

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text), "\"");
}

// The rules below started as cluster.yaml's (common/cluster_config_setup.h) and are
// stricter where hostile input showed the need (system directories, option syntax);
// none of the characters allowed can split an exports(5) or fstab(5) field.

constexpr size_t kMaxOptionsBytes = 1024;

// System directories: exporting one hands the node's own files to the clients, and
// mounting over one hides them from the node itself.
constexpr absl::string_view kSystemDirectories[] = {"bin",   "boot",  "dev",    "etc",  "lib",
                                                    "lib32", "lib64", "libx32", "proc", "root",
                                                    "run",   "sbin",  "sys",    "usr"};

// Absolute, normalized, not "/" nor in a system directory; letters, digits and
// ". _ - + @".
absl::Status ValidateSharePath(absl::string_view path) {
  if (!absl::StartsWith(path, "/"))
    return absl::InvalidArgumentError(Quoted(path) + " is not an absolute path");
  if (path == "/") {
    return absl::InvalidArgumentError("\"/\" is the root directory; name a directory under it");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path.substr(1), '/');
  for (absl::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(
          Quoted(path) + " is not a normalized path (no empty, \".\" or \"..\" parts)");
    }
    if (!AllCharsIn(part, "._-+@")) {
      return absl::InvalidArgumentError(Quoted(path) +
                                        " may hold only letters, digits, '/' and \". _ - + @\"");
    }
  }
  for (absl::string_view system : kSystemDirectories) {
    if (parts[0] == system) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(path), " is in /", system,
                       ", a system directory; share a directory of its own (/srv/sparkfleet)"));
    }
  }
  return absl::OkStatus();
}

// A comma-separated option list, each option a name ("rw", "x-systemd.automount") or
// name=value ("anonuid=1000", "sec=krb5:sys"): names start with a letter, digit or '_'.
absl::Status ValidateShareOptions(absl::string_view options) {
  if (options.size() > kMaxOptionsBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "is ", options.size(), " bytes; an option list is at most ", kMaxOptionsBytes));
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
  return absl::InvalidArgumentError(
      Quoted(options) +
      " is not an option list (name or name=value, separated by ',': rw,sync,no_subtree_check)");
}

bool IsIpv4Cidr(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  int prefix = -1;
  return parts.size() == 2 && !IsIpv6(parts[0]) && ValidateIpAddress(parts[0]).ok() &&
         !parts[1].empty() && AllCharsIn(parts[1], "") && absl::SimpleAtoi(parts[1], &prefix) &&
         prefix >= 0 && prefix <= 32;
}

// An exports(5) client: an IP address, an IPv4 CIDR or a host name. Wildcards ("*",
// "*.lan") are refused: they would export the cluster's files to anyone who can reach
// the server, and the coordinator always knows the clients' addresses.
absl::Status ValidateShareClient(absl::string_view client) {
  if (ValidateIpAddress(client).ok() || IsIpv4Cidr(client) || ValidateHostname(client).ok()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      Quoted(client) + " is not an IP address, an IPv4 CIDR or a host name (no wildcards)");
}

// Fields that belong to the other role must be empty: a request mixing them is a bug in
// the caller, and silently ignoring half of it would hide that.
absl::Status CheckUnset(const std::vector<std::pair<absl::string_view, bool>>& fields,
                        absl::string_view role) {
  for (const auto& [field, set] : fields) {
    if (set)
      return Invalid(field, absl::StrCat("is not used by the ", role, " role; leave it empty"));
  }
  return absl::OkStatus();
}

absl::Status ValidateServer(const v1::ConfigureNfsRequest& r) {
  if (absl::Status s = CheckUnset({{"server_address", !r.server_address().empty()},
                                   {"remote_path", !r.remote_path().empty()},
                                   {"mount_point", !r.mount_point().empty()},
                                   {"mount_options", !r.mount_options().empty()}},
                                  "server");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = Check("export_path", ValidateSharePath(r.export_path())); !s.ok()) return s;
  if (r.export_clients().empty()) {
    return Invalid("export_clients", "name the clients (addresses, CIDRs or host names)");
  }
  for (int i = 0; i < r.export_clients_size(); ++i) {
    absl::Status s = ValidateShareClient(r.export_clients(i));
    if (!s.ok()) return Check(absl::StrCat("export_clients[", i, "]"), s);
  }
  if (r.export_options().empty()) return absl::OkStatus();
  return Check("export_options", ValidateShareOptions(r.export_options()));
}

absl::Status ValidateClient(const v1::ConfigureNfsRequest& r) {
  if (absl::Status s = CheckUnset({{"export_path", !r.export_path().empty()},
                                   {"export_clients", !r.export_clients().empty()},
                                   {"export_options", !r.export_options().empty()}},
                                  "client");
      !s.ok()) {
    return s;
  }
  if (!ValidateIpAddress(r.server_address()).ok() && !ValidateHostname(r.server_address()).ok()) {
    return Invalid("server_address", absl::StrCat("\"", absl::CHexEscape(r.server_address()),
                                                  "\" is neither an IP address nor a host name"));
  }
  if (absl::Status s = Check("remote_path", ValidateSharePath(r.remote_path())); !s.ok()) return s;
  if (absl::Status s = Check("mount_point", ValidateSharePath(r.mount_point())); !s.ok()) return s;
  if (r.mount_options().empty()) return absl::OkStatus();
  return Check("mount_options", ValidateShareOptions(r.mount_options()));
}

// Whitespace-separated fields of each line of a table file (etab, /proc/mounts).
std::vector<std::vector<absl::string_view>> Rows(absl::string_view text) {
  std::vector<std::vector<absl::string_view>> rows;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!fields.empty()) rows.push_back(std::move(fields));
  }
  return rows;
}

}  // namespace

absl::Status ValidateConfigureNfsRequest(const v1::ConfigureNfsRequest& request) {
  switch (request.role()) {
    case v1::NFS_ROLE_SERVER:
      return ValidateServer(request);
    case v1::NFS_ROLE_CLIENT:
      return ValidateClient(request);
    default:
      return Invalid("role", "set NFS_ROLE_SERVER (export) or NFS_ROLE_CLIENT (mount)");
  }
}

std::string RenderNfsExports(const v1::ConfigureNfsRequest& request) {
  const std::string& options =
      request.export_options().empty() ? kDefaultExportOptions : request.export_options();
  std::set<std::string> clients(request.export_clients().begin(), request.export_clients().end());
  std::string line = request.export_path();
  for (const std::string& client : clients) absl::StrAppend(&line, " ", client, "(", options, ")");
  return absl::StrCat(
      "# Written by sparkfleet (spark-agent, ConfigureNfs): the cluster's shared directory.\n"
      "# Edits are overwritten by the next `sparkctl nfs`; change cluster.yaml instead.\n",
      line, "\n");
}

std::string NfsMountSource(const v1::ConfigureNfsRequest& request) {
  const std::string& server = request.server_address();
  const bool v6 = server.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", server, v6 ? "]" : "", ":", request.remote_path());
}

std::string RenderNfsFstabLine(const v1::ConfigureNfsRequest& request) {
  const std::string& options =
      request.mount_options().empty() ? kDefaultMountOptions : request.mount_options();
  return absl::StrCat(NfsMountSource(request), " ", request.mount_point(), " nfs ", options,
                      " 0 0\n");
}

bool EtabListsExport(absl::string_view etab, absl::string_view path) {
  for (const auto& row : Rows(etab)) {
    if (row[0] == path) return true;
  }
  return false;
}

std::optional<std::string> MountedFrom(absl::string_view proc_mounts,
                                       absl::string_view mount_point) {
  std::optional<std::string> source;
  for (const auto& row : Rows(proc_mounts)) {
    if (row.size() >= 2 && row[1] == mount_point) source = std::string(row[0]);
  }
  return source;
}

}  // namespace sparkfleet
