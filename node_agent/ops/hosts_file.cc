#include "node_agent/ops/hosts_file.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/managed_block.h"
#include "common/validate.h"
#include "node_agent/ops/file_edit.h"

namespace sparkfleet {
namespace {

absl::Status Prefixed(const absl::Status& status, absl::string_view field) {
  return absl::Status(status.code(),
                      absl::StrCat("ConfigureHosts: ", field, ": ", status.message()));
}

}  // namespace

absl::Status ValidateConfigureHostsRequest(const v1::ConfigureHostsRequest& request) {
  for (int i = 0; i < request.entries_size(); ++i) {
    const v1::HostEntry& entry = request.entries(i);
    const std::string field = absl::StrCat("entries[", i, "]");
    if (absl::Status s = ValidateIpAddress(entry.address()); !s.ok()) {
      return Prefixed(s, field + ".address");
    }
    if (entry.names().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ConfigureHosts: ", field, " (", entry.address(),
                       ") has no names; give the node's name and short name"));
    }
    for (int n = 0; n < entry.names_size(); ++n) {
      if (absl::Status s = ValidateHostname(entry.names(n)); !s.ok()) {
        return Prefixed(s, absl::StrCat(field, ".names[", n, "]"));
      }
    }
  }
  return absl::OkStatus();
}

std::string RenderHostsBlock(const v1::ConfigureHostsRequest& request) {
  std::string body;
  for (const v1::HostEntry& entry : request.entries()) {
    absl::StrAppend(&body, entry.address(), "\t", absl::StrJoin(entry.names(), " "), "\n");
  }
  return body;
}

absl::StatusOr<v1::ConfigureHostsReply> ConfigureHosts(Env& env,
                                                       const v1::ConfigureHostsRequest& request) {
  absl::StatusOr<std::string> old = env.ReadFile(kHostsPath);
  if (!old.ok() && !absl::IsNotFound(old.status())) return old.status();
  const std::string old_text = old.ok() ? *old : "";
  const std::string body = RenderHostsBlock(request);

  v1::ConfigureHostsReply reply;
  if (!old.ok() && body.empty()) {  // no file and nothing to put in it
    v1::ChangeReport* unchanged = reply.add_changes();
    unchanged->set_path(kHostsPath);
    return reply;
  }
  absl::StatusOr<std::string> text = ReplaceManagedBlock(old_text, body);
  if (!text.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(kHostsPath, ": ", text.status().message()));
  }
  FileEdit edit;
  edit.path = kHostsPath;
  edit.content = *std::move(text);
  if (old.ok()) {  // keep the file's own mode and owner
    absl::StatusOr<FileInfo> info = env.Stat(kHostsPath);
    if (!info.ok()) return info.status();
    edit.options.mode = info->mode & 07777;
    edit.options.uid = info->uid;
    edit.options.gid = info->gid;
  }
  absl::StatusOr<v1::ChangeReport> change = ApplyFileEdit(env, edit, request.dry_run());
  if (!change.ok()) return change.status();
  *reply.add_changes() = *std::move(change);
  return reply;
}

}  // namespace sparkfleet
