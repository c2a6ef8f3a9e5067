#include "node_agent/ops/sshd_hardening.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/unified_diff.h"
#include "node_agent/ops/file_edit.h"

namespace sparkfleet {
namespace {

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

}  // namespace

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
