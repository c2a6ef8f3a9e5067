#include "node_agent/ops/sshd_hardening.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/unified_diff.h"
#include "node_agent/ops/file_edit.h"

namespace sparkfleet {
namespace {

constexpr size_t kMaxKeywordBytes = 64;
constexpr size_t kMaxValueBytes = 1024;
constexpr int kQuotedLines = 5;
constexpr char kDropInDir[] = "/etc/ssh/sshd_config.d";
constexpr char kReloadVerb[] = "try-reload-or-restart";
constexpr char kSshUnit[] = "ssh.service";

// What the drop-in always sets, in this order, unless an option replaces it.
const std::vector<std::pair<std::string, std::string>>& Defaults() {
  static const auto* defaults = new std::vector<std::pair<std::string, std::string>>{
      {"PasswordAuthentication", "no"},
      {"KbdInteractiveAuthentication", "no"},
      {"PermitRootLogin", "prohibit-password"},
  };
  return *defaults;
}

// The keyword of an sshd_config line ("Keyword value" or "Keyword=value"), lower case;
// empty for blank and comment lines.
std::string KeywordOf(absl::string_view line, absl::string_view* rest) {
  line = absl::StripAsciiWhitespace(line);
  if (line.empty() || line.front() == '#') return "";
  size_t end = line.find_first_of(" \t=");
  *rest = end == absl::string_view::npos ? absl::string_view() : line.substr(end + 1);
  return absl::AsciiStrToLower(line.substr(0, end));
}

// The last few non-empty lines a program printed (stderr, else stdout), one line.
std::string Tail(const ProcessResult& result) {
  const std::string& text = result.stderr_text.empty() ? result.stdout_text : result.stderr_text;
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.size() > kQuotedLines) lines.erase(lines.begin(), lines.end() - kQuotedLines);
  return lines.empty() ? "no output" : absl::StrJoin(lines, " | ");
}

absl::StatusOr<ProcessResult> RunTool(ProcessRunner& runner, std::vector<std::string> argv,
                                      absl::Duration timeout) {
  ProcessOptions options;
  options.timeout = timeout;
  options.env = {{"LC_ALL", "C"}};
  options.max_output_bytes = 64 << 10;
  return runner.Run(argv, options);
}

// `sshd -t` on the node's sshd_config: OK, or FAILED_PRECONDITION quoting sshd.
absl::Status CheckWithSshd(Env& env, ProcessRunner& runner) {
  absl::StatusOr<ProcessResult> ran =
      RunTool(runner, {"sshd", "-t", "-f", env.HostPath(kSshdConfigPath)}, absl::Seconds(30));
  if (!ran.ok()) return ran.status();
  if (ran->ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("`sshd -t` ", ran->Describe(), ": ", Tail(*ran)));
}

absl::Status CheckPrerequisites(Env& env, ProcessRunner& runner,
                                const std::map<std::string, std::string>& options) {
  absl::StatusOr<std::string> config = env.ReadFile(kSshdConfigPath);
  if (absl::IsNotFound(config.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat(kSshdConfigPath, " does not exist: install openssh-server first"));
  }
  if (!config.ok()) return config.status();
  if (absl::Status reads = CheckSshdConfigReadsDropIns(*config, options); !reads.ok()) {
    return reads;
  }
  for (const char* tool : {"sshd", "systemctl"}) {
    if (!runner.Find(tool).ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(tool,
                       " is not on the agent's PATH; the sshd drop-in needs it to be validated and "
                       "loaded (install openssh-server / run the agent under systemd)"));
    }
  }
  return absl::OkStatus();
}

// The report a dry run gives; the drop-in directory may not exist yet.
absl::StatusOr<v1::ChangeReport> Plan(Env& env, const FileEdit& edit) {
  if (env.Exists(kDropInDir)) return ApplyFileEdit(env, edit, /*dry_run=*/true);
  v1::ChangeReport report;
  report.set_path(edit.path);
  report.set_changed(true);
  report.set_diff(UnifiedDiff("", edit.content, "/dev/null", edit.path));
  return report;
}

// Puts the drop-in back after `why`, and says so.
absl::Status RollBack(Env& env, const FileSnapshot& snapshot, absl::string_view why,
                      absl::string_view after) {
  if (absl::Status restored = RestoreSnapshot(env, snapshot); !restored.ok()) {
    return absl::InternalError(absl::StrCat(why, "; putting back the previous ", kSshdDropInPath,
                                            " failed too (", restored.message(),
                                            "): fix or remove it by hand before sshd restarts"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(why, "; the previous drop-in ", kSshdDropInPath,
                   snapshot.content ? " was restored" : " was removed (there was none)", after));
}

// How the value of an accepted sshd keyword is written.
enum class SshdValue {
  kWord,        // yes, no, prohibit-password, VERBOSE, AUTH: letters, digits and '-'
  kAmount,      // 3, 10:30:100, 2m, 1G 1h: a digit first, then letters, digits, ':', ' '
  kAlgorithms,  // +ssh-rsa, -aes128-cbc, publickey,password: a list of algorithm names
  kPatterns,    // nvidia admin@10.0.0.0/8 !guest*: user or group patterns
};

struct SshdKeyword {
  const char* lower;  // the keyword in lower case
  SshdValue value;
};

// The keywords ConfigureSsh accepts: authentication, forwarding, limits, algorithms and
// who may log in. Keywords that name a file or a command sshd would read or run
// (Banner, AuthorizedKeysCommand, AuthorizedKeysFile, ForceCommand, Subsystem,
// ChrootDirectory, HostKey, PidFile, ...) or that move sshd (Port, ListenAddress) are not.
constexpr SshdKeyword kSshdKeywords[] = {
    {"addressfamily", SshdValue::kWord},
    {"allowagentforwarding", SshdValue::kWord},
    {"allowgroups", SshdValue::kPatterns},
    {"allowstreamlocalforwarding", SshdValue::kWord},
    {"allowtcpforwarding", SshdValue::kWord},
    {"allowusers", SshdValue::kPatterns},
    {"authenticationmethods", SshdValue::kAlgorithms},
    {"casignaturealgorithms", SshdValue::kAlgorithms},
    {"challengeresponseauthentication", SshdValue::kWord},
    {"ciphers", SshdValue::kAlgorithms},
    {"clientalivecountmax", SshdValue::kAmount},
    {"clientaliveinterval", SshdValue::kAmount},
    {"compression", SshdValue::kWord},
    {"denygroups", SshdValue::kPatterns},
    {"denyusers", SshdValue::kPatterns},
    {"disableforwarding", SshdValue::kWord},
    {"gatewayports", SshdValue::kWord},
    {"gssapiauthentication", SshdValue::kWord},
    {"hostbasedauthentication", SshdValue::kWord},
    {"hostkeyalgorithms", SshdValue::kAlgorithms},
    {"ignorerhosts", SshdValue::kWord},
    {"kbdinteractiveauthentication", SshdValue::kWord},
    {"kerberosauthentication", SshdValue::kWord},
    {"kexalgorithms", SshdValue::kAlgorithms},
    {"logingracetime", SshdValue::kAmount},
    {"loglevel", SshdValue::kWord},
    {"macs", SshdValue::kAlgorithms},
    {"maxauthtries", SshdValue::kAmount},
    {"maxsessions", SshdValue::kAmount},
    {"maxstartups", SshdValue::kAmount},
    {"passwordauthentication", SshdValue::kWord},
    {"permitemptypasswords", SshdValue::kWord},
    {"permitrootlogin", SshdValue::kWord},
    {"permittty", SshdValue::kWord},
    {"permittunnel", SshdValue::kWord},
    {"printlastlog", SshdValue::kWord},
    {"printmotd", SshdValue::kWord},
    {"pubkeyacceptedalgorithms", SshdValue::kAlgorithms},
    {"pubkeyacceptedkeytypes", SshdValue::kAlgorithms},
    {"pubkeyauthentication", SshdValue::kWord},
    {"rekeylimit", SshdValue::kAmount},
    {"strictmodes", SshdValue::kWord},
    {"syslogfacility", SshdValue::kWord},
    {"tcpkeepalive", SshdValue::kWord},
    {"usedns", SshdValue::kWord},
    {"usepam", SshdValue::kWord},
    {"x11forwarding", SshdValue::kWord},
};

const SshdKeyword* FindSshdKeyword(absl::string_view lower) {
  for (const SshdKeyword& known : kSshdKeywords) {
    if (lower == known.lower) return &known;
  }
  return nullptr;
}

// True when every byte of `text` is a letter, a digit or one of `extra`.
bool OnlyChars(absl::string_view text, absl::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains(extra, c);
  });
}

// The value's shape for its keyword; no accepted keyword takes a path, a command or
// shell text, so none of them gets past these.
absl::Status CheckSshdValue(const SshdKeyword& keyword, absl::string_view value) {
  const unsigned char first = static_cast<unsigned char>(value.front());
  bool ok = false;
  absl::string_view expected;
  switch (keyword.value) {
    case SshdValue::kWord:
      ok = absl::ascii_isalpha(first) && OnlyChars(value, "-");
      expected = "a word such as yes, no or prohibit-password";
      break;
    case SshdValue::kAmount:
      ok = absl::ascii_isdigit(first) && OnlyChars(value, ": ");
      expected = "a number, optionally with units or ':' (3, 2m, 10:30:100)";
      break;
    case SshdValue::kAlgorithms:
      ok = OnlyChars(value, "+-^@.,_ ") && !absl::StrContains(value, "--");
      expected = "a list of algorithm or method names (+ssh-rsa, aes256-gcm@openssh.com)";
      break;
    case SshdValue::kPatterns:
      ok = first != '-' && first != '/' && OnlyChars(value, "_.@*?!/:%,- ") &&
           !absl::StrContains(value, "..");
      expected = "user or group patterns (nvidia admin@10.0.0.0/8 !guest*)";
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(value), "\" is not ", expected));
}

}  // namespace

absl::Status ValidateSshdOption(absl::string_view keyword, absl::string_view value) {
  if (keyword.empty() || keyword.size() > kMaxKeywordBytes ||
      !std::all_of(keyword.begin(), keyword.end(),
                   [](char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)); })) {
    return absl::InvalidArgumentError("an sshd keyword is 1 to 64 letters");
  }
  std::string lower = absl::AsciiStrToLower(keyword);
  if (lower == "match" || lower == "include") {
    return absl::InvalidArgumentError(
        absl::StrCat(keyword, " changes how the rest of sshd_config is read; not accepted"));
  }
  bool control = std::any_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (value.empty() || value.size() > kMaxValueBytes || control || absl::StrContains(value, '#') ||
      absl::StripAsciiWhitespace(value) != value) {
    return absl::InvalidArgumentError(
        "the value must be 1 to 1024 bytes without '#', newlines, control characters or "
        "blanks at either end");
  }
  const SshdKeyword* known = FindSshdKeyword(lower);
  if (known == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        keyword,
        " is not one of the sshd keywords sparkfleet sets (authentication, forwarding, "
        "limits, algorithms, AllowUsers and the like); keywords that name files or commands "
        "(Banner, AuthorizedKeysCommand, ForceCommand, Subsystem, ...) are not accepted"));
  }
  return CheckSshdValue(*known, value);
}

std::string RenderSshdDropIn(const std::map<std::string, std::string>& options) {
  std::vector<std::pair<std::string, std::string>> lines = Defaults();
  for (const auto& [keyword, value] : options) {
    bool replaced = false;
    for (size_t i = 0; i < Defaults().size(); ++i) {
      if (!absl::EqualsIgnoreCase(lines[i].first, keyword)) continue;
      lines[i] = {keyword, value};
      replaced = true;
    }
    if (!replaced) lines.emplace_back(keyword, value);
  }
  std::string text =
      "# Written by spark-agent (sparkfleet ConfigureSsh); edits here are overwritten.\n"
      "# sshd keeps the first value it reads: this file sorts before 50-cloud-init.conf.\n";
  for (const auto& [keyword, value] : lines) absl::StrAppend(&text, keyword, " ", value, "\n");
  return text;
}

absl::Status CheckSshdConfigReadsDropIns(absl::string_view sshd_config,
                                         const std::map<std::string, std::string>& options) {
  std::set<std::string> ours = {"challengeresponseauthentication"};  // kbd-interactive's alias
  for (const auto& [keyword, value] : Defaults()) ours.insert(absl::AsciiStrToLower(keyword));
  for (const auto& [keyword, value] : options) ours.insert(absl::AsciiStrToLower(keyword));
  int number = 0;
  for (absl::string_view line : absl::StrSplit(sshd_config, '\n')) {
    ++number;
    absl::string_view rest;
    std::string keyword = KeywordOf(line, &rest);
    if (keyword == "include" && absl::StrContains(rest, "sshd_config.d/")) return absl::OkStatus();
    if (keyword == "match" || ours.count(keyword) > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          kSshdConfigPath, ":", number, ": ", absl::StripAsciiWhitespace(line),
          " comes before `Include /etc/ssh/sshd_config.d/*.conf`, so sshd would not use the "
          "drop-in's settings; move the Include line to the top of the file"));
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat(kSshdConfigPath,
                   " does not read sshd_config.d/, so sshd would ignore the drop-in; add "
                   "`Include /etc/ssh/sshd_config.d/*.conf` as its first line"));
}

absl::StatusOr<SshdChange> HardenSshd(Env& env, ProcessRunner& runner,
                                      const std::map<std::string, std::string>& options,
                                      bool dry_run) {
  if (absl::Status ready = CheckPrerequisites(env, runner, options); !ready.ok()) return ready;
  // The backup ("10-sparkfleet.conf.sparkfleet.bak") and the temp file do not end in
  // ".conf", so sshd's glob never reads them.
  FileEdit edit;
  edit.path = kSshdDropInPath;
  edit.content = RenderSshdDropIn(options);
  edit.options.mode = 0644;
  SshdChange change;
  if (dry_run) {
    absl::StatusOr<v1::ChangeReport> planned = Plan(env, edit);
    if (!planned.ok()) return planned.status();
    change.report = *std::move(planned);
    change.reloaded = !change.report.diff().empty();
    return change;
  }
  if (absl::Status dir = env.MakeDirs(kDropInDir, 0755); !dir.ok()) return dir;
  absl::StatusOr<FileSnapshot> snapshot = TakeSnapshot(env, kSshdDropInPath);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<v1::ChangeReport> written = ApplyFileEdit(env, edit, /*dry_run=*/false);
  if (!written.ok()) return written.status();
  change.report = *std::move(written);
  if (change.report.diff().empty()) return change;  // same settings: nothing to reload

  if (absl::Status valid = CheckWithSshd(env, runner); !valid.ok()) {
    return RollBack(env, *snapshot,
                    absl::StrCat("sshd rejected the new ", kSshdDropInPath, ": ", valid.message()),
                    "; sshd was not reloaded");
  }
  absl::StatusOr<ProcessResult> reload =
      RunTool(runner, {"systemctl", kReloadVerb, kSshUnit}, absl::Seconds(90));
  if (!reload.ok() || !reload->ok()) {
    std::string why = reload.ok() ? absl::StrCat(reload->Describe(), ": ", Tail(*reload))
                                  : std::string(reload.status().message());
    absl::Status rolled_back = RollBack(
        env, *snapshot, absl::StrCat("`systemctl ", kReloadVerb, " ", kSshUnit, "` ", why), "");
    if (absl::IsInternal(rolled_back)) return rolled_back;
    absl::Status recheck = CheckWithSshd(env, runner);
    return absl::FailedPreconditionError(
        absl::StrCat(rolled_back.message(),
                     " (`sshd -t` on it: ", recheck.ok() ? "ok" : recheck.message(), ")"));
  }
  change.reloaded = true;
  return change;
}

}  // namespace sparkfleet
