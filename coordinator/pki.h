// The cluster's certificate authority, as `sparkctl pki` drives it.
//
// One directory holds the CA (ca.crt, ca.key) and the certificates it issues
// (NAME.crt, NAME.key). Keys are ECDSA P-256; key files are written 0600 and atomically
// (temp file, rename), so a reader never sees half a key. Node certificates name the node
// and its addresses in SANs (server and client auth); client certificates carry their
// role as a URI SAN (common/roles.h), which the agent's allow-list reads.
//
//   InitCa("/etc/sparkfleet/pki");
//   IssueNodeCertificate("/etc/sparkfleet/pki", "spark-001", {"192.168.100.10"});
//   IssueClientCertificate("/etc/sparkfleet/pki", "admin", Role::kAdmin);
//
// Errors are statuses: INVALID_ARGUMENT for a bad name, address or validity;
// ALREADY_EXISTS for a second InitCa; FAILED_PRECONDITION when issuing without a CA;
// the errno-derived code naming the path for I/O; INTERNAL with OpenSSL's error text.
#ifndef SPARKFLEET_COORDINATOR_PKI_H_
#define SPARKFLEET_COORDINATOR_PKI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/roles.h"

namespace sparkfleet {

// Name of the CA's files in the directory; no issued certificate may take it.
inline constexpr absl::string_view kCaName = "ca";
inline constexpr int kCaValidityDays = 3650;
inline constexpr int kDefaultValidityDays = 365;
inline constexpr int kMaxValidityDays = 3650;

// DIR/NAME.crt and DIR/NAME.key.
std::string CertificatePath(absl::string_view dir, absl::string_view name);
std::string PrivateKeyPath(absl::string_view dir, absl::string_view name);

// Creates `dir` (mode 0700) if needed and a self-signed CA in it: ca.key (0600) and
// ca.crt (CA:TRUE, keyCertSign, valid kCaValidityDays). ALREADY_EXISTS when either file
// is there: replacing a CA would orphan every certificate it signed.
[[nodiscard]] absl::Status InitCa(const std::string& dir);

// Writes DIR/NODE_NAME.crt and .key for a spark-agent: serverAuth and clientAuth, SANs
// DNS:node_name, DNS:each of `extra_names` (aliases such as an FQDN) and IP:each of
// `ips`, signed by the CA in `dir`. Replaces an earlier certificate for the same node
// (re-issuing after an address change).
// REQUIRES: node_name and extra_names are RFC 1123 host names, node_name other than "ca";
// ips are IP literals.
[[nodiscard]] absl::Status IssueNodeCertificate(const std::string& dir,
                                                const std::string& node_name,
                                                const std::vector<std::string>& ips,
                                                int validity_days = kDefaultValidityDays,
                                                const std::vector<std::string>& extra_names = {});

// Writes DIR/CLIENT_NAME.crt and .key for a client such as sparkctl: clientAuth, with
// the URI SAN of `role`. Replaces an earlier certificate of the same name.
// REQUIRES: client_name is an RFC 1123 host name other than "ca"; role is not kNone.
[[nodiscard]] absl::Status IssueClientCertificate(const std::string& dir,
                                                  const std::string& client_name, Role role,
                                                  int validity_days = kDefaultValidityDays);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_PKI_H_
