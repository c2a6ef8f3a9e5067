// Mutual-TLS credentials for sparkfleet's servers (spark-agent, sparkctl serve) and
// clients (sparkctl), made from the PEM files `sparkctl pki` writes.
//
// Both sides present a certificate signed by the cluster CA and verify the other's
// against it, so a peer with no certificate, or one from another CA, fails the TLS
// handshake (the client sees UNAVAILABLE) before any of our code runs.
//
// Host-name checking on the client: gRPC checks the server's certificate against the
// host in the channel's target. Agent certificates carry their node name as a DNS SAN
// and their addresses as IP SANs, so dialing "192.168.1.10:50151" checks the IP SAN. To
// reach a node by an address its certificate does not list (a NAT or tailnet address),
// set the expected name with SetExpectedServerName() on the channel's arguments.
#ifndef SPARKFLEET_COMMON_TLS_H_
#define SPARKFLEET_COMMON_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sparkfleet {

// Paths of the PEM files one side of a connection needs.
struct TlsFiles {
  std::string ca;    // the cluster CA certificate, which every peer must be signed by
  std::string cert;  // this side's certificate
  std::string key;   // this side's private key, matching `cert`
};

// Server credentials that require and verify a client certificate signed by files.ca.
// INVALID_ARGUMENT naming the file when one is not PEM of the expected kind or the key
// does not belong to the certificate; the errno-derived code (NOT_FOUND,
// PERMISSION_DENIED, ...) naming the file when one cannot be read.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Channel credentials that trust only files.ca and present files.cert/files.key. Same
// errors as MakeServerCredentials().
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(
    const TlsFiles& files);

// Makes the channel check the server's certificate for `server_name` (a node name in
// its DNS SAN) instead of the host in the target. Only the name checked changes: the
// certificate must still be signed by the cluster CA.
void SetExpectedServerName(grpc::ChannelArguments& arguments, const std::string& server_name);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_TLS_H_
