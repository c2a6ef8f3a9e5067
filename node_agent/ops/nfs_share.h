// The cluster's shared directory over NFS: the operation behind NodeAgent.ConfigureNfs.
//
// Server role (the primary node): the export directory is made if missing (0755), and
// sparkfleet owns the whole of /etc/exports.d/sparkfleet.exports:
//
//   # Written by sparkfleet ...
//   /srv/sparkfleet 192.168.100.0/24(rw,sync,no_subtree_check) spark-002(rw,sync,...)
//
// then `exportfs -ra`. The export is active when /var/lib/nfs/etab (exportfs's record
// of what the kernel exports) lists the directory; an unchanged file whose export is not
// active gets `exportfs -ra` again. When exportfs fails after a change, the previous
// file is put back and `exportfs -ra` runs again.
//
// Client role: one line in the managed block of /etc/fstab,
//
//   192.168.100.10:/srv/sparkfleet /srv/sparkfleet nfs defaults,_netdev 0 0
//
// the mount point made if missing, then `mount MOUNT_POINT` unless /proc/mounts shows
// it mounted from that source already. When mount fails, /etc/fstab is put back, so no
// half-done mount is left for the next boot. A mount point mounted from elsewhere, or
// named by an fstab line outside the block, is refused before anything changes.
//
// Dry runs report diffs (and directories that would be made) and run nothing.
#ifndef SPARKFLEET_NODE_AGENT_OPS_NFS_SHARE_H_
#define SPARKFLEET_NODE_AGENT_OPS_NFS_SHARE_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

inline constexpr char kNfsExportsPath[] = "/etc/exports.d/sparkfleet.exports";
inline constexpr char kFstabPath[] = "/etc/fstab";
inline constexpr char kNfsEtabPath[] = "/var/lib/nfs/etab";
inline constexpr char kProcMountsPath[] = "/proc/mounts";
inline constexpr char kDefaultExportOptions[] = "rw,sync,no_subtree_check";
inline constexpr char kDefaultMountOptions[] = "defaults,_netdev";

// INVALID_ARGUMENT naming the field unless the role is set and its fields are valid
// (the same rules as cluster.yaml's nfs section: absolute normalized paths, not "/";
// clients are IP addresses, IPv4 CIDRs or host names, never "*"; options are comma
// lists without spaces) and the other role's fields are empty.
[[nodiscard]] absl::Status ValidateConfigureNfsRequest(const v1::ConfigureNfsRequest& request);

// The whole exports file (server role): a header and one line; clients sorted. Pure.
std::string RenderNfsExports(const v1::ConfigureNfsRequest& request);

// The fstab line (client role), ending in '\n'. Pure.
std::string RenderNfsFstabLine(const v1::ConfigureNfsRequest& request);

// "SERVER:REMOTE", with brackets around an IPv6 server: the mount's source. Pure.
std::string NfsMountSource(const v1::ConfigureNfsRequest& request);

// Whether etab text lists `path` as exported. Pure.
bool EtabListsExport(absl::string_view etab, absl::string_view path);

// The source of the mount at `mount_point` in /proc/mounts text (the last one, which
// hides the others), or nullopt. Pure.
std::optional<std::string> MountedFrom(absl::string_view proc_mounts,
                                       absl::string_view mount_point);

// Exports or mounts (see the file comment). `cancelled` ends a hanging mount early.
// FAILED_PRECONDITION when exportfs / mount is not installed (nothing changed), when
// the mount point is in use as described above, or when exportfs / mount fails (its
// stderr in the message); UNAVAILABLE when it timed out. REQUIRES: the request is valid.
[[nodiscard]] absl::StatusOr<v1::ConfigureNfsReply> ConfigureNfs(
    Env& env, ProcessRunner& runner, const v1::ConfigureNfsRequest& request,
    const std::function<bool()>& cancelled = nullptr);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_NFS_SHARE_H_
