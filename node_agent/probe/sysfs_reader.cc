#include "node_agent/probe/sysfs_reader.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/validate.h"

namespace sparkfleet {

absl::string_view Basename(absl::string_view path) {
  size_t slash = path.find_last_of('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

namespace {

// Proto3 strings must be UTF-8, or the whole reply does not parse for the caller; a file
// name or text that is not becomes a warning, and the warning shows its bytes escaped.
std::string ForReply(absl::string_view text) {
  return IsUtf8(text) ? std::string(text) : absl::CHexEscape(text);
}

}  // namespace

void SysfsReader::Warn(absl::string_view path, absl::string_view message) {
  v1::ProbeWarning* warning = warnings_->Add();
  warning->set_path(ForReply(path));
  warning->set_message(ForReply(message));
}

std::optional<std::string> SysfsReader::Read(absl::string_view path, bool optional) {
  absl::StatusOr<std::string> text = env_.ReadFile(path);
  if (!text.ok()) {
    bool missing = absl::IsNotFound(text.status());
    // sysfs answers EINVAL or EOPNOTSUPP for attributes that do not apply (an empty GID
    // slot's type, the carrier of a down interface, phys_port_name of a virtio NIC): the
    // fact is absent, not broken.
    bool not_applicable =
        absl::IsInvalidArgument(text.status()) || absl::IsUnimplemented(text.status());
    if (!(optional && missing) && !not_applicable) Warn(path, text.status().message());
    return std::nullopt;
  }
  absl::string_view trimmed = absl::StripAsciiWhitespace(*text);
  if (trimmed.empty()) return std::nullopt;
  if (!IsUtf8(trimmed)) {
    Warn(path, absl::StrCat("\"", absl::CHexEscape(trimmed), "\" is not UTF-8 text"));
    return std::nullopt;
  }
  return std::string(trimmed);
}

std::optional<int64_t> SysfsReader::ReadInt(absl::string_view path, bool optional) {
  return Parse<int64_t>(
      path,
      [](absl::string_view text) -> absl::StatusOr<int64_t> {
        int64_t value = 0;
        bool ok = absl::StartsWith(text, "0x") ? absl::SimpleHexAtoi(text.substr(2), &value)
                                               : absl::SimpleAtoi(text, &value);
        if (!ok) {
          return absl::InvalidArgumentError(
              absl::StrCat("\"", absl::CEscape(text), "\" is not an integer"));
        }
        return value;
      },
      optional);
}

std::vector<std::string> SysfsReader::List(absl::string_view path) {
  absl::StatusOr<std::vector<std::string>> names = env_.ListDir(path);
  if (!names.ok()) {
    if (!absl::IsNotFound(names.status())) Warn(path, names.status().message());
    return {};
  }
  std::vector<std::string> out;
  for (std::string& name : *names) {
    if (IsUtf8(name)) {
      out.push_back(std::move(name));
    } else {
      Warn(absl::StrCat(path, "/", name), "the name is not UTF-8; left out");
    }
  }
  return out;
}

std::optional<std::string> SysfsReader::RealPath(absl::string_view path, bool optional) {
  if (!env_.Exists(path)) {
    if (!optional) Warn(path, "missing or a broken symlink");
    return std::nullopt;
  }
  absl::StatusOr<std::string> real = env_.RealPath(path);
  if (!real.ok()) {
    Warn(path, real.status().message());
    return std::nullopt;
  }
  if (!IsUtf8(*real)) {
    Warn(path, "resolves to a path that is not UTF-8");
    return std::nullopt;
  }
  return *real;
}

}  // namespace sparkfleet
