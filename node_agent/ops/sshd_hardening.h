// sshd hardening as a drop-in, the sshd part of NodeAgent.ConfigureSsh:
//
//   # Written by spark-agent (sparkfleet ConfigureSsh); edits here are overwritten.
//   PasswordAuthentication no
//   KbdInteractiveAuthentication no
//   PermitRootLogin prohibit-password
//   MaxAuthTries 3                         <- cluster.yaml's sshd options, sorted
//
// in /etc/ssh/sshd_config.d/10-sparkfleet.conf. sshd keeps the FIRST value it reads for
// a keyword, and Debian 12 / Ubuntu 24.04 read `Include /etc/ssh/sshd_config.d/*.conf`
// at the top of sshd_config, in name order. cloud-init images carry
// 50-cloud-init.conf with "PasswordAuthentication yes": our file must sort before it,
// hence "10-". An option from cluster.yaml with the same keyword as a default replaces it
// (the admin's explicit choice wins).
//
// A node must never lose SSH because of us. The sequence is: snapshot the drop-in, write
// it, `sshd -t -f /etc/ssh/sshd_config`; when sshd rejects it the snapshot is put back
// (or the new file removed) and sshd is not reloaded. Only a changed drop-in is
// validated and reloaded, with `systemctl try-reload-or-restart ssh.service`: plain
// `reload` fails while a socket-activated ssh.service (Ubuntu 24.04) has not started
// yet, and then there is nothing to reload (sshd reads the file when it starts). When
// the reload fails the snapshot is put back too and the error returned.
//
// A dry run only renders and diffs: it does not run `sshd -t`, which would need the
// proposed file written where sshd reads it.
#ifndef SPARKFLEET_NODE_AGENT_OPS_SSHD_HARDENING_H_
#define SPARKFLEET_NODE_AGENT_OPS_SSHD_HARDENING_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "common/sshd_options.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

inline constexpr char kSshdConfigPath[] = "/etc/ssh/sshd_config";
inline constexpr char kSshdDropInPath[] = "/etc/ssh/sshd_config.d/10-sparkfleet.conf";

// The drop-in's content. Pure.
// REQUIRES: every option passes ValidateSshdOption.
std::string RenderSshdDropIn(const std::map<std::string, std::string>& options);

// OK when `sshd_config` reads sshd_config.d/*.conf before it sets any of `keywords`
// (lower case) itself; FAILED_PRECONDITION naming the line otherwise, since the drop-in
// would then be ignored. Pure.
[[nodiscard]] absl::Status CheckSshdConfigReadsDropIns(
    absl::string_view sshd_config, const std::map<std::string, std::string>& options);

struct SshdChange {
  v1::ChangeReport report;  // the drop-in
  bool reloaded = false;    // sshd was (on a dry run: would be) reloaded
};

// Renders, compares and, unless `dry_run`, writes, validates and reloads as described
// above. FAILED_PRECONDITION when sshd_config is missing or does not read the drop-ins,
// when sshd or systemctl is not installed, when `sshd -t` rejects the new file (its last
// lines quoted; the previous drop-in is back, sshd not reloaded) or the reload fails.
// INTERNAL when the previous drop-in could not be put back.
// REQUIRES: every option passes ValidateSshdOption.
[[nodiscard]] absl::StatusOr<SshdChange> HardenSshd(
    Env& env, ProcessRunner& runner, const std::map<std::string, std::string>& options,
    bool dry_run);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_SSHD_HARDENING_H_
