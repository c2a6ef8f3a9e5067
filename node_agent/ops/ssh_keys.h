// OpenSSH public keys and the two files SSH trust is made of, as text: what
// ConfigureSsh accepts in a request and what it writes into the managed blocks of
// ~/.ssh/authorized_keys and ~/.ssh/known_hosts. Pure functions, no I/O; the operations
// that read and write the files are in ssh_trust.h.
//
//   authorized_keys block:  "ssh-ed25519 AAAAC3... nvidia@spark-001"
//   known_hosts block:      "spark-001,192.168.100.11 ssh-ed25519 AAAAC3..."
//
// Every key is checked the way sshd would read it: a type from a known set, base64 data
// that decodes, and whose first field (the key type inside the blob) matches the type
// written before it. Options in front of a key (from=, command=) are not accepted: the
// cluster's keys need none, and a line with options is a line sshd interprets.
#ifndef SPARKFLEET_NODE_AGENT_OPS_SSH_KEYS_H_
#define SPARKFLEET_NODE_AGENT_OPS_SSH_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

// One OpenSSH public key line: "TYPE BASE64 [COMMENT]".
struct SshPublicKey {
  std::string type;     // "ssh-ed25519"
  std::string blob;     // the base64 key data, as written
  std::string comment;  // may be empty; never holds a newline

  // "TYPE BASE64 COMMENT" (without the comment when it is empty).
  std::string Line() const;
};

// Parses one public key line (surrounding whitespace ignored). INVALID_ARGUMENT saying
// what is wrong: an unknown type (the accepted ones are listed), data that is not base64
// or does not hold a key of the written type, a newline or control character, an
// over-long line.
[[nodiscard]] absl::StatusOr<SshPublicKey> ParseSshPublicKey(absl::string_view line);

// A known_hosts host pattern: a host name, an IP address, or "[host]:port" for a port
// other than 22 (ssh looks up port 22 as the plain name). No wildcards or negations.
[[nodiscard]] absl::Status ValidateKnownHostName(absl::string_view name);

// The authorized_keys block body: one line per distinct key (same type and data: the
// first one is kept), in the given order, each ending in '\n'.
// REQUIRES: every line parses with ParseSshPublicKey.
std::string RenderAuthorizedKeys(const std::vector<std::string>& key_lines);

// The known_hosts block body: "name1,name2 TYPE BASE64\n" per entry, in request order;
// host key comments are dropped.
// REQUIRES: ValidateConfigureSshRequest accepted the entries.
std::string RenderKnownHosts(const google::protobuf::RepeatedPtrField<v1::KnownHost>& hosts);

// How many key lines `authorized_keys` holds (non-empty lines that are not comments):
// hardening turns password login off, which needs at least one.
int CountAuthorizedKeys(absl::string_view authorized_keys);

// INVALID_ARGUMENT naming the field ("ConfigureSshRequest.authorized_keys[3]: ...")
// when the user, a key, a known host name or key, or an sshd option is not acceptable.
[[nodiscard]] absl::Status ValidateConfigureSshRequest(const v1::ConfigureSshRequest& request);

// INVALID_ARGUMENT when the user name or the key comment is not acceptable (a comment
// is up to 256 bytes of letters, digits, spaces and "@ . _ + - : = , ( )", not starting
// with '-').
[[nodiscard]] absl::Status ValidateGenerateSshKeyRequest(const v1::GenerateSshKeyRequest& request);

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_SSH_KEYS_H_
