#include "node_agent/ops/ssh_trust.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/managed_block.h"
#include "common/unified_diff.h"
#include "node_agent/ops/file_edit.h"
#include "node_agent/ops/ssh_keys.h"
#include "node_agent/ops/sshd_hardening.h"

namespace sparkfleet {
namespace {

constexpr char kPasswdPath[] = "/etc/passwd";
constexpr char kHostKeyDir[] = "/etc/ssh";
constexpr mode_t kSshDirMode = 0700;
constexpr mode_t kPrivateMode = 0600;
constexpr mode_t kPublicMode = 0644;

absl::Status SymlinkRefused(const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(path,
                   " is a symlink; spark-agent does not write or chown through links in a "
                   "user's ~/.ssh: replace it with the file or directory itself"));
}

absl::Status RefuseSymlink(Env& env, const std::string& path) {
  absl::StatusOr<FileInfo> info = env.Lstat(path);
  return info.ok() && info->is_symlink ? SymlinkRefused(path) : absl::OkStatus();
}

// A report for a file that does not exist yet, whose content is shown as `shown`.
v1::ChangeReport NewFileReport(const std::string& path, absl::string_view shown) {
  v1::ChangeReport report;
  report.set_path(path);
  report.set_changed(true);
  report.set_diff(absl::StrCat("--- /dev/null\n+++ ", path, "\n@@ new file @@\n", shown));
  return report;
}

// Gives an existing file or directory `mode` and the user as owner; on a dry run only
// says whether that would change anything.
absl::StatusOr<v1::ChangeReport> EnsureOwned(Env& env, const SshUser& user, const std::string& path,
                                             mode_t mode, bool dry_run) {
  absl::StatusOr<FileInfo> info = env.Lstat(path);
  if (!info.ok()) return info.status();
  if (info->is_symlink) return SymlinkRefused(path);
  v1::ChangeReport report;
  report.set_path(path);
  report.set_changed((info->mode & 07777) != mode || info->uid != user.account.uid ||
                     info->gid != user.account.gid);
  if (report.changed() && !dry_run) {
    absl::Status set = env.SetOwnerAndMode(path, mode, user.account.uid, user.account.gid);
    if (!set.ok()) return set;
  }
  return report;
}

absl::StatusOr<v1::ChangeReport> EnsureSshDir(Env& env, const SshUser& user, bool dry_run) {
  absl::StatusOr<FileInfo> info = env.Lstat(user.ssh_dir);
  if (absl::IsNotFound(info.status())) {
    v1::ChangeReport report;
    report.set_path(user.ssh_dir);
    report.set_changed(true);
    if (dry_run) return report;
    absl::Status made = env.MakeDirs(user.ssh_dir, kSshDirMode);
    if (made.ok()) {
      made = env.SetOwnerAndMode(user.ssh_dir, kSshDirMode, user.account.uid, user.account.gid);
    }
    if (!made.ok()) return made;
    return report;
  }
  if (!info.ok()) return info.status();
  if (!info->is_symlink && !info->is_dir) {
    return absl::FailedPreconditionError(
        absl::StrCat(user.ssh_dir, " exists and is not a directory; move it away"));
  }
  return EnsureOwned(env, user, user.ssh_dir, kSshDirMode, dry_run);
}

// The file at `path` with its managed block's body set to `body`.
struct BlockEdit {
  v1::ChangeReport report;
  std::string content;  // the whole file after the edit
};

absl::StatusOr<BlockEdit> EditBlock(Env& env, const SshUser& user, const std::string& path,
                                    const std::string& body, bool dry_run) {
  if (absl::Status link = RefuseSymlink(env, path); !link.ok()) return link;
  absl::StatusOr<std::string> old = env.ReadFile(path);
  if (!old.ok() && !absl::IsNotFound(old.status())) return old.status();
  absl::StatusOr<std::string> text = ReplaceManagedBlock(old.ok() ? *old : "", body);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(path, " ", text.status().message()));
  }
  BlockEdit out;
  out.content = *std::move(text);
  out.report.set_path(path);
  if (!old.ok() && out.content.empty()) return out;  // nothing to add: no empty file made
  if (dry_run && !env.Exists(user.ssh_dir)) {
    out.report.set_changed(true);
    out.report.set_diff(UnifiedDiff("", out.content, "/dev/null", path));
    return out;
  }
  FileEdit edit;
  edit.path = path;
  edit.content = out.content;
  edit.options.mode = 0600;
  edit.options.uid = user.account.uid;
  edit.options.gid = user.account.gid;
  absl::StatusOr<v1::ChangeReport> report = ApplyFileEdit(env, edit, dry_run);
  if (!report.ok()) return report.status();
  out.report = *std::move(report);
  return out;
}

absl::StatusOr<ProcessResult> RunSshKeygen(ProcessRunner& runner,
                                           const std::vector<std::string>& argv) {
  ProcessOptions options;
  options.timeout = absl::Seconds(30);
  options.env = {{"LC_ALL", "C"}};
  options.max_output_bytes = 64 << 10;
  absl::StatusOr<ProcessResult> ran = runner.Run(argv, options);
  if (absl::IsNotFound(ran.status())) {
    return absl::FailedPreconditionError(
        "ssh-keygen is not installed on this node: apt-get install openssh-client");
  }
  if (ran.ok() && !ran->ok()) {
    std::vector<absl::string_view> lines =
        absl::StrSplit(ran->stderr_text, '\n', absl::SkipWhitespace());
    return absl::FailedPreconditionError(absl::StrCat("ssh-keygen ", ran->Describe(),
                                                      lines.empty() ? "" : ": ",
                                                      lines.empty() ? "" : lines.back()));
  }
  return ran;
}

// Makes the key pair (or, on a dry run, says it would) and reports both files.
absl::Status MakeKeyPair(Env& env, ProcessRunner& runner, const SshUser& user,
                         const std::string& private_path, const std::string& comment, bool dry_run,
                         v1::GenerateSshKeyReply& reply) {
  const std::string public_path = private_path + ".pub";
  *reply.add_changes() = NewFileReport(private_path, "+<redacted>\n");
  if (dry_run) {
    *reply.add_changes() = NewFileReport(public_path, "+<new ed25519 public key>\n");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> stale = env.ReadFile(public_path);  // a .pub left alone
  absl::StatusOr<ProcessResult> made =
      RunSshKeygen(runner, {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f",
                            env.HostPath(private_path)});
  if (!made.ok()) return made.status();
  absl::Status set =
      env.SetOwnerAndMode(private_path, kPrivateMode, user.account.uid, user.account.gid);
  if (set.ok()) {
    set = env.SetOwnerAndMode(public_path, kPublicMode, user.account.uid, user.account.gid);
  }
  if (!set.ok()) return set;
  absl::StatusOr<std::string> key = env.ReadFile(public_path);
  if (!key.ok()) return key.status();
  v1::ChangeReport* report = reply.add_changes();
  report->set_path(public_path);
  report->set_changed(true);
  report->set_diff(UnifiedDiff(stale.ok() ? *stale : "", *key,
                               stale.ok() ? public_path : "/dev/null", public_path));
  return absl::OkStatus();
}

// An existing private key: right owner and mode, and its .pub (derived when missing).
absl::Status KeepKeyPair(Env& env, ProcessRunner& runner, const SshUser& user,
                         const std::string& private_path, bool dry_run,
                         v1::GenerateSshKeyReply& reply) {
  const std::string public_path = private_path + ".pub";
  absl::StatusOr<v1::ChangeReport> owned =
      EnsureOwned(env, user, private_path, kPrivateMode, dry_run);
  if (!owned.ok()) return owned.status();
  *reply.add_changes() = *std::move(owned);
  if (env.Lstat(public_path).ok()) {
    owned = EnsureOwned(env, user, public_path, kPublicMode, dry_run);
    if (!owned.ok()) return owned.status();
    *reply.add_changes() = *std::move(owned);
    return absl::OkStatus();
  }
  if (dry_run) {
    *reply.add_changes() = NewFileReport(public_path, "+<public key of the existing key>\n");
    return absl::OkStatus();
  }
  absl::StatusOr<ProcessResult> derived =
      RunSshKeygen(runner, {"ssh-keygen", "-y", "-f", env.HostPath(private_path)});
  if (!derived.ok()) return derived.status();
  FileEdit edit;
  edit.path = public_path;
  edit.content = derived->stdout_text;
  edit.options = {kPublicMode, user.account.uid, user.account.gid, /*backup=*/false};
  absl::StatusOr<v1::ChangeReport> written = ApplyFileEdit(env, edit, /*dry_run=*/false);
  if (!written.ok()) return written.status();
  *reply.add_changes() = *std::move(written);
  return absl::OkStatus();
}

// /etc/ssh/ssh_host_*_key.pub, one line each, in name order.
std::vector<std::string> HostPublicKeys(Env& env) {
  std::vector<std::string> keys;
  absl::StatusOr<std::vector<std::string>> names = env.ListDir(kHostKeyDir);
  if (!names.ok()) return keys;
  for (const std::string& name : *names) {
    if (!absl::StartsWith(name, "ssh_host_") || !absl::EndsWith(name, "_key.pub")) continue;
    const std::string path = absl::StrCat(kHostKeyDir, "/", name);
    absl::StatusOr<std::string> text = env.ReadFile(path);
    std::string line =
        text.ok() ? std::string(absl::StripAsciiWhitespace(text->substr(0, text->find('\n')))) : "";
    if (!ParseSshPublicKey(line).ok()) {
      LogWarning("skipping host key ", path, ": not a readable public key");
      continue;
    }
    keys.push_back(std::move(line));
  }
  return keys;
}

}  // namespace

absl::StatusOr<SshUser> FindSshUser(Env& env, const std::string& user,
                                    const std::string& node_name) {
  absl::StatusOr<std::string> passwd = env.ReadFile(kPasswdPath);
  if (!passwd.ok()) return passwd.status();
  std::optional<PasswdEntry> entry = FindPasswdEntry(*passwd, user);
  if (!entry) {
    return absl::FailedPreconditionError(
        absl::StrCat("user \"", user, "\" does not exist on ", node_name, " (not in ", kPasswdPath,
                     "); create it (useradd -m ", user, ") or fix the user in cluster.yaml"));
  }
  absl::StatusOr<FileInfo> home =
      entry->home.front() == '/' ? env.Stat(entry->home) : absl::NotFoundError("relative");
  if (!home.ok() || !home->is_dir) {
    return absl::FailedPreconditionError(absl::StrCat("home directory ", entry->home, " of user \"",
                                                      user, "\" does not exist on ", node_name));
  }
  SshUser found{*std::move(entry), ""};
  found.ssh_dir = found.account.home == "/" ? "/.ssh" : found.account.home + "/.ssh";
  return found;
}

absl::StatusOr<v1::GenerateSshKeyReply> GenerateSshKey(Env& env, ProcessRunner& runner,
                                                       const v1::GenerateSshKeyRequest& request,
                                                       const std::string& node_name) {
  absl::StatusOr<SshUser> user = FindSshUser(env, request.user(), node_name);
  if (!user.ok()) return user.status();
  v1::GenerateSshKeyReply reply;
  reply.set_private_key_path(user->ssh_dir + "/id_ed25519");
  reply.set_public_key_path(user->ssh_dir + "/id_ed25519.pub");
  absl::StatusOr<v1::ChangeReport> dir = EnsureSshDir(env, *user, request.dry_run());
  if (!dir.ok()) return dir.status();
  *reply.add_changes() = *std::move(dir);
  for (const std::string& path : {reply.private_key_path(), reply.public_key_path()}) {
    if (absl::Status link = RefuseSymlink(env, path); !link.ok()) return link;
  }
  absl::StatusOr<FileInfo> existing = env.Lstat(reply.private_key_path());
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  const std::string comment =
      request.comment().empty() ? absl::StrCat(request.user(), "@", node_name) : request.comment();
  absl::Status keys = existing.ok() ? KeepKeyPair(env, runner, *user, reply.private_key_path(),
                                                  request.dry_run(), reply)
                                    : MakeKeyPair(env, runner, *user, reply.private_key_path(),
                                                  comment, request.dry_run(), reply);
  if (!keys.ok()) return keys;
  absl::StatusOr<std::string> key = env.ReadFile(reply.public_key_path());
  if (key.ok()) {
    reply.set_public_key(std::string(absl::StripAsciiWhitespace(key->substr(0, key->find('\n')))));
  }
  for (std::string& host_key : HostPublicKeys(env)) reply.add_host_public_keys(host_key);
  return reply;
}

absl::StatusOr<v1::ConfigureSshReply> ConfigureSsh(Env& env, ProcessRunner& runner,
                                                   const v1::ConfigureSshRequest& request,
                                                   const std::string& node_name) {
  absl::StatusOr<SshUser> user = FindSshUser(env, request.user(), node_name);
  if (!user.ok()) return user.status();
  v1::ConfigureSshReply reply;
  absl::StatusOr<v1::ChangeReport> dir = EnsureSshDir(env, *user, request.dry_run());
  if (!dir.ok()) return dir.status();
  *reply.add_changes() = *std::move(dir);
  std::vector<std::string> keys(request.authorized_keys().begin(), request.authorized_keys().end());
  absl::StatusOr<BlockEdit> authorized = EditBlock(env, *user, user->ssh_dir + "/authorized_keys",
                                                   RenderAuthorizedKeys(keys), request.dry_run());
  if (!authorized.ok()) return authorized.status();
  *reply.add_changes() = authorized->report;
  absl::StatusOr<BlockEdit> known =
      EditBlock(env, *user, user->ssh_dir + "/known_hosts", RenderKnownHosts(request.known_hosts()),
                request.dry_run());
  if (!known.ok()) return known.status();
  *reply.add_changes() = known->report;
  if (!request.harden_sshd()) return reply;

  if (CountAuthorizedKeys(authorized->content) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("not hardening sshd on ", node_name, ": user \"", request.user(),
                     "\" has no authorized key, and the drop-in turns password login off; send the "
                     "cluster's keys first"));
  }
  std::map<std::string, std::string> options(request.sshd_options().begin(),
                                             request.sshd_options().end());
  absl::StatusOr<SshdChange> sshd = HardenSshd(env, runner, options, request.dry_run());
  if (!sshd.ok()) return sshd.status();
  *reply.add_changes() = std::move(sshd->report);
  reply.set_sshd_reloaded(sshd->reloaded);
  return reply;
}

}  // namespace sparkfleet
