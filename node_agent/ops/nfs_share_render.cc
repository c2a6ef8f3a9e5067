// The pure half of nfs_share.h: validation, the exports and fstab lines, and reading
// etab and /proc/mounts.
#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/cluster_config_setup.h"
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
  if (absl::Status s = Check("export_path", ValidateConfigNfsPath(r.export_path())); !s.ok())
    return s;
  if (r.export_clients().empty()) {
    return Invalid("export_clients", "name the clients (addresses, CIDRs or host names)");
  }
  for (int i = 0; i < r.export_clients_size(); ++i) {
    absl::Status s = ValidateConfigNfsClient(r.export_clients(i));
    if (!s.ok()) return Check(absl::StrCat("export_clients[", i, "]"), s);
  }
  if (r.export_options().empty()) return absl::OkStatus();
  return Check("export_options", ValidateConfigNfsOptions(r.export_options()));
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
  if (absl::Status s = Check("remote_path", ValidateConfigNfsPath(r.remote_path())); !s.ok())
    return s;
  if (absl::Status s = Check("mount_point", ValidateConfigNfsPath(r.mount_point())); !s.ok())
    return s;
  if (r.mount_options().empty()) return absl::OkStatus();
  return Check("mount_options", ValidateConfigNfsOptions(r.mount_options()));
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
