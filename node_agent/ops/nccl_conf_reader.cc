#include "node_agent/ops/nccl_conf_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/nccl_config.h"
#include "common/validate.h"
#include "node_agent/ops/nccl_known_variables.h"

extern char** environ;

namespace sparkfleet {
namespace {

constexpr char kPasswdPath[] = "/etc/passwd";
constexpr char kFromEnvironment[] = "environment";

// `text` for a reply field: as it is when it is UTF-8, else C-escaped ("\xb0"). NCCL takes
// any bytes, but proto3 strings must be UTF-8 or the reply does not parse for the caller.
std::string ForReply(absl::string_view text) {
  return IsUtf8(text) ? std::string(text) : absl::CHexEscape(text);
}

void AddProblem(uint32_t line, v1::NcclConfProblemKind kind, absl::string_view text,
                std::string message, v1::NcclConfFile* file) {
  v1::NcclConfProblem* problem = file->add_problems();
  problem->set_line(line);
  problem->set_kind(kind);
  problem->set_text(ForReply(text));
  problem->set_message(ForReply(message));
}

bool IsBlank(char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }

// "# ..." after whitespace in a value: a comment NCCL does not recognize.
bool HasInlineComment(absl::string_view value) {
  for (size_t i = 1; i < value.size(); ++i) {
    if (value[i] == '#' && IsBlank(value[i - 1])) return true;
  }
  return false;
}

// Whitespace NCCL keeps in the name or the value; at most one problem per line.
void CheckWhitespace(uint32_t line, absl::string_view text, absl::string_view key,
                     absl::string_view value, v1::NcclConfFile* file) {
  absl::string_view name = absl::StripAsciiWhitespace(key);
  absl::string_view bare = absl::StripAsciiWhitespace(value);
  std::string message;
  if (name != key || (!value.empty() && IsBlank(value.front()))) {
    message = absl::StrCat("NCCL does not trim: this sets \"", absl::CHexEscape(key), "\" to \"",
                           absl::CHexEscape(value), "\"; write ", name, "=", bare);
  } else if (HasInlineComment(value)) {
    message = absl::StrCat("NCCL keeps \"", absl::CHexEscape(value),
                           "\" whole as the value; put the comment on a line of its own");
  } else if (!value.empty() && value.back() == '\r') {
    message =
        "the line ends in CR (a CRLF file): NCCL keeps it in the value; save the file "
        "with LF line ends";
  } else if (!value.empty() && IsBlank(value.back())) {
    message = absl::StrCat("the value ends in whitespace NCCL keeps (\"", absl::CHexEscape(value),
                           "\"); remove it");
  }
  if (!message.empty()) {
    AddProblem(line, v1::NCCL_CONF_PROBLEM_KIND_WHITESPACE, text, std::move(message), file);
  }
}

void CheckKnownKey(uint32_t line, absl::string_view text, absl::string_view key,
                   v1::NcclConfFile* file) {
  absl::string_view name = absl::StripAsciiWhitespace(key);
  if (IsKnownNcclVariable(name)) return;
  std::string message;
  if (!absl::StartsWith(name, "NCCL_")) {
    message = absl::StrCat("\"", absl::CHexEscape(name),
                           "\" is not an NCCL variable; NCCL still sets it in its own "
                           "environment");
  } else if (std::string close = SuggestNcclVariable(name); !close.empty()) {
    message =
        absl::StrCat("NCCL has no variable ", name, " and ignores it; did you mean ", close, "?");
  } else {
    message = absl::StrCat("NCCL has no variable ", name, " and ignores it");
  }
  AddProblem(line, v1::NCCL_CONF_PROBLEM_KIND_UNKNOWN_KEY, text, std::move(message), file);
}

// A line with '=': the setting NCCL would make, and its problems.
void ParseSetting(uint32_t line, absl::string_view text, size_t equals, absl::string_view path,
                  std::map<std::string, uint32_t>* first_line, v1::NcclConfFile* file) {
  absl::string_view key = text.substr(0, equals);
  absl::string_view value = text.substr(equals + 1);
  if (absl::StripAsciiWhitespace(key).empty()) {
    AddProblem(line, v1::NCCL_CONF_PROBLEM_KIND_NO_EQUALS, text,
               "no variable name before '='; NCCL cannot set this line", file);
    return;
  }
  if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(key), "#")) {
    AddProblem(line, v1::NCCL_CONF_PROBLEM_KIND_WHITESPACE, text,
               "NCCL only takes '#' in the first column as a comment; this line sets a variable "
               "named \"" +
                   absl::CHexEscape(key) + "\". Remove the leading whitespace",
               file);
    return;
  }
  v1::NcclSetting* setting = file->add_settings();
  setting->set_key(ForReply(key));
  setting->set_value(ForReply(value));
  setting->set_source(ForReply(path));
  setting->set_line(line);
  CheckWhitespace(line, text, key, value, file);
  CheckKnownKey(line, text, key, file);
  auto [first, inserted] = first_line->emplace(std::string(key), line);
  if (!inserted) {
    AddProblem(line, v1::NCCL_CONF_PROBLEM_KIND_DUPLICATE, text,
               absl::StrCat(absl::StripAsciiWhitespace(key), " is already set on line ",
                            first->second, "; NCCL keeps that first value and ignores this one"),
               file);
  }
}

// Where useradd puts a home, for trees that have no /etc/passwd at all.
std::optional<std::string> ConventionalHome(absl::string_view user, uid_t uid) {
  if (user == "root" || (user.empty() && uid == 0)) return std::string("/root");
  if (user.empty()) return std::nullopt;
  return absl::StrCat("/home/", user);
}

// Whose ~/.nccl.conf NCCL would read: NCCL_CONF_FILE's, else the user's home one.
absl::StatusOr<std::optional<std::string>> UserConfPath(Env& env,
                                                        const v1::ReadNcclConfRequest& request,
                                                        const NcclProcessFacts& process) {
  for (const auto& [key, value] : process.environment) {
    if (key == "NCCL_CONF_FILE" && absl::StartsWith(value, "/")) return value;
  }
  absl::StatusOr<std::string> passwd = env.ReadFile(kPasswdPath);
  std::optional<std::string> home;
  if (passwd.ok()) {
    home = HomeFromPasswd(*passwd, request.user(), process.uid);
  } else if (absl::IsNotFound(passwd.status())) {
    home = ConventionalHome(request.user(), process.uid);  // a sandbox tree without passwd
  } else {
    return passwd.status();
  }
  if (home.has_value()) return absl::StrCat(absl::StripSuffix(*home, "/"), "/.nccl.conf");
  if (request.user().empty()) return std::nullopt;  // the agent's user is unknown here
  return absl::FailedPreconditionError(
      absl::StrCat("user \"", request.user(), "\" has no entry in ", kPasswdPath,
                   " on this node, so its ~/.nccl.conf cannot be found; check the node's `user`"));
}

absl::StatusOr<v1::NcclConfFile> ReadConfFile(Env& env, const std::string& path) {
  absl::StatusOr<std::string> text = env.ReadFile(path);
  if (absl::IsNotFound(text.status())) {
    v1::NcclConfFile absent;
    absent.set_path(ForReply(path));
    return absent;
  }
  if (!text.ok()) return text.status();
  return ParseNcclConfText(*text, path);
}

// Applies the sources in NCCL's order; a later setting of a key applied already is
// SHADOWED (duplicates within a file were flagged while parsing).
void ResolveEffective(v1::ReadNcclConfReply* reply, const std::vector<int>& nccl_reads) {
  std::map<std::string, const v1::NcclSetting*> applied;
  for (const v1::NcclSetting& setting : reply->environment())
    applied.emplace(setting.key(), &setting);
  for (int index : nccl_reads) {
    v1::NcclConfFile* file = reply->mutable_files(index);
    for (const v1::NcclSetting& setting : file->settings()) {
      auto [winner, inserted] = applied.emplace(setting.key(), &setting);
      if (inserted || winner->second->source() == file->path()) continue;
      std::string where =
          winner->second->source() == kFromEnvironment
              ? "the environment"
              : absl::StrCat(winner->second->source(), " line ", winner->second->line());
      AddProblem(setting.line(), v1::NCCL_CONF_PROBLEM_KIND_SHADOWED,
                 absl::StrCat(setting.key(), "=", setting.value()),
                 absl::StrCat("not used: ", where, " sets ", setting.key(), "=",
                              winner->second->value(), " and NCCL applies it first"),
                 file);
    }
  }
  for (const v1::NcclSetting& setting : reply->environment()) *reply->add_effective() = setting;
  for (int index : nccl_reads) {
    for (const v1::NcclSetting& setting : reply->files(index).settings()) {
      auto winner = applied.find(setting.key());
      if (winner->second == &setting) *reply->add_effective() = setting;
    }
  }
}

}  // namespace

NcclProcessFacts CurrentNcclProcessFacts() {
  NcclProcessFacts facts;
  facts.uid = geteuid();
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals == absl::string_view::npos || !absl::StartsWith(text, "NCCL_")) continue;
    facts.environment.emplace_back(std::string(text.substr(0, equals)),
                                   std::string(text.substr(equals + 1)));
  }
  return facts;
}

v1::NcclConfFile ParseNcclConfText(absl::string_view text, absl::string_view path) {
  v1::NcclConfFile file;
  file.set_path(ForReply(path));
  file.set_present(true);
  std::map<std::string, uint32_t> first_line;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  for (size_t i = 0; i < lines.size(); ++i) {
    uint32_t line = static_cast<uint32_t>(i + 1);
    absl::string_view raw = lines[i];
    if (absl::StartsWith(raw, "#")) continue;
    size_t equals = raw.find('=');
    if (equals != absl::string_view::npos) {
      ParseSetting(line, raw, equals, path, &first_line, &file);
      continue;
    }
    absl::string_view bare = absl::StripAsciiWhitespace(raw);
    if (!bare.empty() && !absl::StartsWith(bare, "#")) {
      AddProblem(line, v1::NCCL_CONF_PROBLEM_KIND_NO_EQUALS, raw,
                 "NCCL ignores this line: it is not KEY=value", &file);
    }
  }
  return file;
}

std::optional<std::string> HomeFromPasswd(absl::string_view passwd_text, absl::string_view user,
                                          uid_t uid) {
  for (absl::string_view line : absl::StrSplit(passwd_text, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() < 7) continue;
    uint32_t entry_uid = 0;
    bool match = user.empty() ? (absl::SimpleAtoi(fields[2], &entry_uid) && entry_uid == uid)
                              : fields[0] == user;
    if (match && absl::StartsWith(fields[5], "/")) return std::string(fields[5]);
  }
  return std::nullopt;
}

absl::Status ValidateReadNcclConfRequest(const v1::ReadNcclConfRequest& request) {
  if (!request.user().empty()) {
    if (absl::Status why = ValidateUserName(request.user()); !why.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("user ", why.message()));
    }
  }
  if (!request.conf_path().empty()) {
    if (absl::Status why = ValidateNcclConfPath(request.conf_path()); !why.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("conf_path ", why.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ReadNcclConfReply> ReadNcclConf(Env& env, const v1::ReadNcclConfRequest& request,
                                                   const NcclProcessFacts& process) {
  v1::ReadNcclConfReply reply;
  for (const auto& [key, value] : process.environment) {
    v1::NcclSetting* setting = reply.add_environment();
    setting->set_key(ForReply(key));
    setting->set_value(ForReply(value));
    setting->set_source(kFromEnvironment);
  }
  absl::StatusOr<std::optional<std::string>> user_path = UserConfPath(env, request, process);
  if (!user_path.ok()) return user_path.status();
  std::vector<std::string> paths;
  if (user_path->has_value()) paths.push_back(**user_path);
  if (paths.empty() || paths.front() != kDefaultNcclConfPath) paths.push_back(kDefaultNcclConfPath);
  std::vector<int> nccl_reads;
  for (int i = 0; i < static_cast<int>(paths.size()); ++i) nccl_reads.push_back(i);
  const std::string& extra = request.conf_path();
  if (!extra.empty() && std::find(paths.begin(), paths.end(), extra) == paths.end()) {
    paths.push_back(extra);  // listed and checked, but NCCL does not read it
  }
  for (const std::string& path : paths) {
    absl::StatusOr<v1::NcclConfFile> file = ReadConfFile(env, path);
    if (!file.ok()) return file.status();
    *reply.add_files() = *std::move(file);
  }
  ResolveEffective(&reply, nccl_reads);
  return reply;
}

}  // namespace sparkfleet
