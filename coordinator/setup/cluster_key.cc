#include "coordinator/setup/cluster_key.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "coordinator/setup/setup_requests.h"

namespace sparkfleet {
namespace {

constexpr absl::Duration kKeygenTimeout = absl::Seconds(30);

// The key comment: sparkfleet@NAME with NAME reduced to characters a comment keeps.
std::string KeyComment(absl::string_view cluster_name) {
  std::string name;
  for (char c : cluster_name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      name.push_back(c);
    }
  }
  return absl::StrCat("sparkfleet@", name.empty() ? "cluster" : name);
}

// An ed25519 public key of 32 zero bytes: well-formed, and nobody's.
std::string PlaceholderKey(absl::string_view cluster_name) {
  std::string blob("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
  blob.append(32, '\0');
  return absl::StrCat("ssh-ed25519 ", absl::Base64Escape(blob), " ", KeyComment(cluster_name),
                      "-not-made-yet");
}

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::StatusOr<ProcessResult> RunKeygen(ProcessRunner& runner,
                                        const std::vector<std::string>& argv) {
  ProcessOptions options;
  options.timeout = kKeygenTimeout;
  absl::StatusOr<ProcessResult> result = runner.Run(argv, options);
  if (!result.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ssh-keygen: ", result.status().message(),
                     "; install openssh-client on this machine"));
  }
  return result;
}

// The public line of a key pair whose .pub file is gone: `ssh-keygen -y` prints it.
// -P "" keeps ssh-keygen from asking for a passphrase on the terminal.
absl::StatusOr<std::string> DerivePublicKey(Env& env, ProcessRunner& runner,
                                            const std::string& path) {
  absl::StatusOr<ProcessResult> result =
      RunKeygen(runner, {"ssh-keygen", "-y", "-P", "", "-f", env.HostPath(path)});
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ".pub is missing and ssh-keygen -y could not derive it (",
                     result->Describe(), ": ", absl::StripAsciiWhitespace(result->stderr_text),
                     "); restore the .pub file or point ssh_key_path at an unencrypted key"));
  }
  return std::string(absl::StripAsciiWhitespace(result->stdout_text));
}

absl::Status CreateKey(Env& env, ProcessRunner& runner, const std::string& path,
                       absl::string_view cluster_name) {
  if (absl::Status status = env.MakeDirs(ParentDirectory(path), 0700); !status.ok()) {
    return status;
  }
  absl::StatusOr<ProcessResult> result =
      RunKeygen(runner, {"ssh-keygen", "-t", "ed25519", "-N", "", "-C", KeyComment(cluster_name),
                         "-f", env.HostPath(path), "-q"});
  if (!result.ok()) return result.status();
  if (!result->ok()) {
    return absl::InternalError(
        absl::StrCat("ssh-keygen could not make ", path, " (", result->Describe(),
                     "): ", absl::StripAsciiWhitespace(result->stderr_text)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClusterKey> EnsureClusterKey(Env& env, ProcessRunner& runner,
                                            const std::string& private_key_path,
                                            absl::string_view cluster_name, bool create) {
  if (private_key_path.empty()) {
    return absl::FailedPreconditionError(
        "cluster.yaml has no ssh_key_path; set it (e.g. ~/.ssh/id_ed25519_spark) and the "
        "key pair is made there");
  }
  ClusterKey key;
  if (!env.Exists(private_key_path)) {
    if (!create) {
      key.missing = true;
      key.public_key = PlaceholderKey(cluster_name);
      return key;
    }
    if (absl::Status status = CreateKey(env, runner, private_key_path, cluster_name);
        !status.ok()) {
      return status;
    }
    key.created = true;
  }
  std::string public_path = absl::StrCat(private_key_path, ".pub");
  absl::StatusOr<std::string> line = env.ReadFile(public_path);
  if (absl::IsNotFound(line.status())) line = DerivePublicKey(env, runner, private_key_path);
  if (!line.ok()) return line.status();
  absl::StatusOr<PublicKey> parsed = ParsePublicKey(*line);
  if (!parsed.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(public_path, " ", parsed.status().message()));
  }
  key.public_key = parsed->Line();
  return key;
}

}  // namespace sparkfleet
