#include "tests/fuzz/fuzz_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/message_differencer.h"

namespace sparkfleet::fuzz {
namespace {

constexpr absl::string_view kSeparator = "%%%%";
constexpr size_t kMaxTreeEntries = 512;
constexpr size_t kMaxPathBytes = 512;
constexpr size_t kMaxDepth = 32;
constexpr absl::string_view kTreePrefix = "sparkfleet-fuzz-tree-";  // then the pid

// The components of a tree path; empty when the path is not acceptable.
std::vector<std::string> PathParts(absl::string_view path) {
  if (path.size() > kMaxPathBytes) return {};
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  if (parts.size() > kMaxDepth) return {};
  for (const std::string& part : parts) {
    if (part == "." || part == ".." || part.find('\0') != std::string::npos) return {};
  }
  return parts;
}

// Makes the directories root/parts[0]/.../parts[n-1] one at a time, refusing to go
// through anything that is not a real directory (a symlink made by an earlier line).
bool MakeRealDirs(const std::string& root, const std::vector<std::string>& parts, size_t n) {
  std::string path = root;
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&path, "/", parts[i]);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      if (errno != ENOENT || mkdir(path.c_str(), 0755) != 0) return false;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return false;
  }
  return true;
}

std::string JoinUnder(const std::string& root, const std::vector<std::string>& parts) {
  return absl::StrCat(root, "/", absl::StrJoin(parts, "/"));
}

}  // namespace

std::vector<absl::string_view> SplitParts(absl::string_view text, size_t parts) {
  const std::string separator = absl::StrCat("\n", kSeparator, "\n");
  std::vector<absl::string_view> out;
  while (out.size() + 1 < parts) {
    if (absl::ConsumePrefix(&text, separator.substr(1))) {  // right after another one
      out.push_back("");
      continue;
    }
    size_t at = text.find(separator);
    if (at == absl::string_view::npos) break;
    out.push_back(text.substr(0, at + 1));
    text.remove_prefix(at + separator.size());
  }
  out.push_back(text);
  out.resize(parts);
  return out;
}

void Check(bool condition, absl::string_view what, absl::string_view detail) {
  if (condition) return;
  std::fprintf(stderr, "fuzz contract broken: %.*s\n  %s\n", static_cast<int>(what.size()),
               what.data(), absl::CHexEscape(detail).c_str());
  std::abort();
}

void CheckError(const absl::Status& status, absl::StatusCode code, absl::string_view parser) {
  Check(status.code() == code,
        absl::StrCat(parser, " failed with ", absl::StatusCodeToString(status.code()),
                     ", its header promises ", absl::StatusCodeToString(code)),
        status.ToString());
  Check(!status.message().empty(), absl::StrCat(parser, " failed without a message"));
}

void CheckWireRoundTrip(const google::protobuf::Message& message, absl::string_view parser) {
  std::string wire;
  Check(message.SerializeToString(&wire), absl::StrCat(parser, ": reply does not serialize"));
  std::unique_ptr<google::protobuf::Message> copy(message.New());
  Check(copy->ParseFromString(wire),
        absl::StrCat(parser,
                     ": the reply's wire form does not parse (a string field that is "
                     "not UTF-8?), so the caller would get no reply"),
        message.ShortDebugString());
  Check(google::protobuf::util::MessageDifferencer::Equals(message, *copy),
        absl::StrCat(parser, ": the reply changes on the wire"));
}

ScratchTree::ScratchTree() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  // A target that crashes never runs the destructor: remove the trees of processes that
  // are gone, so crashes (and -minimize_crash, which makes many) do not pile them up.
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(base, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    const std::string file_name = it->path().filename().string();
    absl::string_view name = file_name;
    int pid = 0;
    if (absl::ConsumePrefix(&name, kTreePrefix) && absl::SimpleAtoi(name, &pid) && pid > 0 &&
        kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      std::filesystem::remove_all(it->path(), ignored);
    }
  }
  root_ = absl::StrCat(base, "/", kTreePrefix, getpid());
  std::filesystem::remove_all(root_, error);
  if (mkdir(root_.c_str(), 0700) != 0) {
    std::perror(root_.c_str());
    std::abort();
  }
  env_ = NewRootedEnv(root_);
}

ScratchTree::~ScratchTree() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

void ScratchTree::Clear() {
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(root_, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    std::error_code ignored;
    std::filesystem::remove_all(it->path(), ignored);
  }
}

void ScratchTree::WriteFile(absl::string_view path, absl::string_view content) {
  std::vector<std::string> parts = PathParts(path);
  if (parts.empty() || !MakeRealDirs(root_, parts, parts.size() - 1)) return;
  int fd = open(JoinUnder(root_, parts).c_str(),
                O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return;
  while (!content.empty()) {
    ssize_t n = write(fd, content.data(), content.size());
    if (n <= 0) break;
    content.remove_prefix(static_cast<size_t>(n));
  }
  close(fd);
}

void ScratchTree::Build(absl::string_view spec) {
  Clear();
  std::vector<std::pair<std::vector<std::string>, std::string>> links;
  size_t entries = 0;
  for (absl::string_view line : absl::StrSplit(spec, '\n')) {
    if (++entries > kMaxTreeEntries) break;
    if (line.size() < 3 || line[1] != ' ') continue;
    char kind = line[0];
    line.remove_prefix(2);
    std::pair<absl::string_view, absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    std::vector<std::string> parts = PathParts(fields.first);
    if (parts.empty()) continue;
    if (kind == 'f') {
      std::string content;
      if (!absl::CUnescape(fields.second, &content)) content = std::string(fields.second);
      WriteFile(fields.first, content);
    } else if (kind == 'd') {
      MakeRealDirs(root_, parts, parts.size());
    } else if (kind == 'l' && !fields.second.empty()) {
      links.emplace_back(std::move(parts), std::string(fields.second));
    }
  }
  for (const auto& [parts, target] : links) {
    if (!MakeRealDirs(root_, parts, parts.size() - 1)) continue;
    (void)symlink(target.c_str(), JoinUnder(root_, parts).c_str());
  }
}

}  // namespace sparkfleet::fuzz
