// The ssh and scp command lines `sparkctl bootstrap` runs to reach a node that has no
// agent yet, and the one function that quotes words for the node's shell.
//
// ssh joins the words of its remote command with spaces and hands the string to the
// remote user's login shell, so the remote side always goes through a shell. Every word
// we send is therefore checked against a fixed safe character set ([A-Za-z0-9._/+@=,-])
// and single-quoted by RemoteWord(); a word outside the set is refused, never escaped.
// Nothing else in sparkfleet builds remote command text.
//
// Host keys are checked on every connection: StrictHostKeyChecking=yes against
// `known_hosts_path`, or accept-new (record the key of a host seen for the first time,
// refuse a changed one) only when the user asked for it. Never "no".
#ifndef SPARKFLEET_COORDINATOR_BOOTSTRAP_SSH_H_
#define SPARKFLEET_COORDINATOR_BOOTSTRAP_SSH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cluster_config.h"

namespace sparkfleet {

struct SshConnection {
  std::string key_path;          // private key (-i), a path on the admin box
  std::string known_hosts_path;  // UserKnownHostsFile
  // StrictHostKeyChecking=accept-new instead of yes: trust a host's key on first contact.
  bool accept_new_host_keys = false;
  int connect_timeout_s = 10;  // ConnectTimeout
  uint16_t port = 22;          // sshd's port on every node
};

// True when `word` is not empty and only has characters of the safe set.
bool IsSafeRemoteWord(absl::string_view word);

// OK when `path`, a file on the admin box, can be handed to ssh or scp as it is (the
// safe set again: ssh's option parser splits on blanks and expands '%' and '~', and scp
// reads "a:b" as a host). INVALID_ARGUMENT naming `what` otherwise.
absl::Status CheckLocalPathForSsh(absl::string_view what, absl::string_view path);

// `word` in single quotes, for the remote shell. INVALID_ARGUMENT naming the word when
// it is empty or has a character outside the safe set.
absl::StatusOr<std::string> RemoteWord(absl::string_view word);

// `ssh -i KEY -o ... -p PORT -l USER IP 'word' 'word' ...`: runs `remote_command` (one
// argument per word, each quoted by RemoteWord) on `node` as node.user. INVALID_ARGUMENT
// when a word, the user, the address or a local path is not acceptable.
absl::StatusOr<std::vector<std::string>> SshArgv(const SshConnection& ssh, const ClusterNode& node,
                                                 const std::vector<std::string>& remote_command);

// `scp -i KEY -o ... -P PORT -q FILE... USER@IP:DIR/`: copies local files (keeping
// their names) into the node's directory `remote_dir`. Same errors as SshArgv.
absl::StatusOr<std::vector<std::string>> ScpArgv(const SshConnection& ssh, const ClusterNode& node,
                                                 const std::vector<std::string>& local_files,
                                                 const std::string& remote_dir);

// Parses `sha256sum` output ("HEX  PATH" per line) into PATH -> lower-case HEX. Lines
// that are not of that shape (a missing file is reported on stderr) are skipped.
std::map<std::string, std::string> ParseSha256Sums(absl::string_view text);

// Parses `systemctl show --property=A,B` output ("A=value" per line).
std::map<std::string, std::string> ParseSystemctlShow(absl::string_view text);

// The last non-empty line of a program's stderr (or stdout), trimmed; "" when none.
std::string LastLine(absl::string_view text);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_BOOTSTRAP_SSH_H_
