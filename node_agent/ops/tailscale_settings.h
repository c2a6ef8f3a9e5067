// What TailscaleUp checks and keeps: the request's validation, the settings it asks for,
// the record of the last successful `up` (no secret in it), and the auth key's file.
// Pure functions apart from SecretFile, which writes through the Env.
#ifndef SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_SETTINGS_H_
#define SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_SETTINGS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "node_agent/ops/tailscale_status.h"
#include "sparkfleet/v1/agent.pb.h"

namespace sparkfleet {

inline constexpr char kTailscaleUpRecordPath[] = "/var/lib/sparkfleet/tailscale-up.json";

// INVALID_ARGUMENT for a hostname that is not an RFC 1123 name, a route that is not a
// CIDR prefix (or has host bits set, or is /0), more than 64 routes, a timeout over an
// hour, or an auth key that is not "tskey-..." (the key's value is never quoted).
[[nodiscard]] absl::Status ValidateTailscaleUpRequest(const v1::TailscaleUpRequest& request);

// The settings `request` asks for; the hostname defaults to `node_name`, routes are
// sorted and without duplicates. REQUIRES: the request is valid.
TailscaleSettings WantedTailscaleSettings(const v1::TailscaleUpRequest& request,
                                          absl::string_view node_name);

// The recorded settings' file content, and back; nullopt for a file that is not one.
std::string RenderTailscaleUpRecord(const TailscaleSettings& settings);
std::optional<TailscaleSettings> ParseTailscaleUpRecord(absl::string_view text);

// `text` with every occurrence of `secret` replaced by "<redacted>".
std::string RedactSecret(absl::string_view text, absl::string_view secret);

// A file holding a secret, 0600 under a 0700 directory, removed on destruction.
class SecretFile {
 public:
  // Writes `secret` to `dir`/<prefix><random>. Errors never contain the secret.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SecretFile>> Create(Env& env,
                                                                          absl::string_view dir,
                                                                          absl::string_view prefix,
                                                                          absl::string_view secret);
  SecretFile(const SecretFile&) = delete;
  SecretFile& operator=(const SecretFile&) = delete;
  ~SecretFile();

  const std::string& path() const { return path_; }  // node path

 private:
  SecretFile(Env& env, std::string path) : env_(env), path_(std::move(path)) {}
  Env& env_;
  const std::string path_;
};

}  // namespace sparkfleet

#endif  // SPARKFLEET_NODE_AGENT_OPS_TAILSCALE_SETTINGS_H_
