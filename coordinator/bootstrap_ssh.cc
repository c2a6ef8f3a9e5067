#include "coordinator/bootstrap_ssh.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

bool IsSafeChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("._/+@=,-").find(c) != absl::string_view::npos;
}

absl::Status CheckNode(const ClusterNode& node) {
  if (absl::Status s = ValidateUserName(node.user); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("node ", node.hostname, ": user: ", s.message(),
                                                   " (set `user` in cluster.yaml)"));
  }
  if (absl::Status s = ValidateIpAddress(node.ip); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("node ", node.hostname, ": ip: ", s.message()));
  }
  return absl::OkStatus();
}

// The options ssh and scp share. `port_flag` is -p for ssh, -P for scp.
absl::StatusOr<std::vector<std::string>> CommonArgv(const std::string& program,
                                                    const SshConnection& ssh,
                                                    const ClusterNode& node,
                                                    const std::string& port_flag) {
  if (absl::Status s = CheckNode(node); !s.ok()) return s;
  if (absl::Status s = CheckLocalPathForSsh("ssh key", ssh.key_path); !s.ok()) return s;
  if (absl::Status s = CheckLocalPathForSsh("known hosts file", ssh.known_hosts_path); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePort(ssh.port); !s.ok()) return s;
  int connect_timeout_s = ssh.connect_timeout_s < 1 ? 1 : ssh.connect_timeout_s;
  return std::vector<std::string>{
      program,
      "-i",
      ssh.key_path,
      // Only our key: an agent holding many keys would exhaust sshd's MaxAuthTries.
      "-o",
      "IdentitiesOnly=yes",
      // Never prompt for a password or a passphrase: fail instead.
      "-o",
      "BatchMode=yes",
      "-o",
      ssh.accept_new_host_keys ? "StrictHostKeyChecking=accept-new" : "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=" + ssh.known_hosts_path,
      "-o",
      absl::StrCat("ConnectTimeout=", connect_timeout_s),
      // Errors only, so that stderr's last line is the reason a step failed.
      "-o",
      "LogLevel=ERROR",
      port_flag,
      absl::StrCat(ssh.port),
  };
}

}  // namespace

absl::Status CheckLocalPathForSsh(absl::string_view what, absl::string_view path) {
  if (IsSafeRemoteWord(path)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", absl::CHexEscape(path),
                   "\" may only have letters, digits and ._/+@=,- (ssh would misread other "
                   "characters); move or link it to such a path"));
}

bool IsSafeRemoteWord(absl::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    if (!IsSafeChar(c)) return false;
  }
  return true;
}

absl::StatusOr<std::string> RemoteWord(absl::string_view word) {
  if (!IsSafeRemoteWord(word)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(word),
                     "\" cannot be sent to a node's shell: only non-empty words of letters, "
                     "digits and ._/+@=,- are"));
  }
  return absl::StrCat("'", word, "'");
}

absl::StatusOr<std::vector<std::string>> SshArgv(const SshConnection& ssh, const ClusterNode& node,
                                                 const std::vector<std::string>& remote_command) {
  absl::StatusOr<std::vector<std::string>> argv = CommonArgv("ssh", ssh, node, "-p");
  if (!argv.ok()) return argv.status();
  if (remote_command.empty()) return absl::InvalidArgumentError("empty remote command");
  // -T: no terminal; the command's output is read, never shown to a person.
  for (const char* word : {"-T", "-l"}) argv->push_back(word);
  argv->push_back(node.user);
  argv->push_back(node.ip);
  for (const std::string& word : remote_command) {
    absl::StatusOr<std::string> quoted = RemoteWord(word);
    if (!quoted.ok()) return quoted.status();
    argv->push_back(*std::move(quoted));
  }
  return argv;
}

absl::StatusOr<std::vector<std::string>> ScpArgv(const SshConnection& ssh, const ClusterNode& node,
                                                 const std::vector<std::string>& local_files,
                                                 const std::string& remote_dir) {
  absl::StatusOr<std::vector<std::string>> argv = CommonArgv("scp", ssh, node, "-P");
  if (!argv.ok()) return argv.status();
  if (local_files.empty()) return absl::InvalidArgumentError("scp: no files to copy");
  // The remote path is not quoted: scp's SFTP mode (the default) does not hand it to a
  // shell and would keep the quotes. The safe set makes it mean the same either way.
  if (!IsSafeRemoteWord(remote_dir) || remote_dir.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("remote directory \"", absl::CHexEscape(remote_dir),
                     "\" is not an absolute path of letters, digits and ._/+@=,-"));
  }
  argv->push_back("-q");
  for (const std::string& file : local_files) {
    if (absl::Status s = CheckLocalPathForSsh("file to copy", file); !s.ok()) return s;
    argv->push_back(file);
  }
  std::string host = IsIpv6(node.ip) ? absl::StrCat("[", node.ip, "]") : node.ip;
  argv->push_back(absl::StrCat(node.user, "@", host, ":", remote_dir, "/"));
  return argv;
}

std::map<std::string, std::string> ParseSha256Sums(absl::string_view text) {
  std::map<std::string, std::string> sums;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    // "HEX  PATH" (text mode) or "HEX *PATH" (binary mode).
    if (line.size() < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) continue;
    absl::string_view hex = line.substr(0, 64);
    bool is_hex = true;
    for (char c : hex) is_hex = is_hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
    if (!is_hex) continue;
    sums[std::string(line.substr(66))] = absl::AsciiStrToLower(hex);
  }
  return sums;
}

std::map<std::string, std::string> ParseSystemctlShow(absl::string_view text) {
  std::map<std::string, std::string> properties;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    properties[std::string(kv.first)] = std::string(absl::StripAsciiWhitespace(kv.second));
  }
  return properties;
}

std::string LastLine(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    absl::string_view line = absl::StripAsciiWhitespace(*it);
    if (!line.empty()) return std::string(line);
  }
  return "";
}

}  // namespace sparkfleet
