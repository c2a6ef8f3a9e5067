#include "common/yaml_document.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace sparkfleet {
namespace {

// Aliases are expanded by copying; this bounds what "billion laughs" input can build.
// A cluster.yaml for thousands of nodes holds tens of thousands.
constexpr int64_t kMaxNodes = 250'000;
// Config files are small; this keeps `-c /dev/zero` from eating the machine.
constexpr size_t kMaxConfigBytes = 16 << 20;

YamlMark ToMark(const YAML::Mark& mark) {
  if (mark.is_null()) return YamlMark{};
  return YamlMark{mark.line + 1, mark.column + 1};
}

std::string MarkText(YamlMark mark) { return absl::StrCat(mark.line, ":", mark.column); }

int64_t CountNodes(const YamlNode& node) {
  int64_t count = 1;
  for (const YamlNode& item : node.items) count += CountNodes(item);
  for (const YamlEntry& entry : node.entries) count += 1 + CountNodes(entry.value);
  return count;
}

// Builds the tree from yaml-cpp's parse events. It never throws: the first problem is
// kept in error() and later events are still accepted so the parser can finish.
class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const YamlDocument& doc) : doc_(doc) {}

  const absl::Status& error() const { return error_; }
  YamlNode TakeRoot() { return std::move(root_); }
  bool has_root() const { return has_root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Leaf(YamlNode::Kind::kNull, mark, anchor, "", false);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override;
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    // yaml-cpp tags every quoted or block scalar "!" and every plain one "?".
    Leaf(YamlNode::Kind::kScalar, mark, anchor, value, tag == "!");
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  // A sequence or map whose end has not been seen yet.
  struct Frame {
    YamlNode node;
    YAML::anchor_t anchor = YAML::NullAnchor;
    std::optional<std::pair<std::string, YamlMark>> pending_key;  // maps only
    absl::flat_hash_map<std::string, YamlMark> keys;              // maps only
  };

  void Fail(YamlMark mark, absl::string_view message) {
    if (error_.ok()) error_ = doc_.Error(mark, message);
  }
  void Open(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    Frame frame;
    frame.node.kind = kind;
    frame.node.mark = ToMark(mark);
    frame.anchor = anchor;
    stack_.push_back(std::move(frame));
  }
  void Close() {
    if (stack_.empty()) return;
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    Add(std::move(frame.node), frame.anchor);
  }
  void Leaf(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor,
            const std::string& value, bool quoted) {
    YamlNode node;
    node.kind = kind;
    node.mark = ToMark(mark);
    node.scalar = value;
    node.quoted = quoted;
    if (Budget(1, node.mark)) Add(std::move(node), anchor);
  }
  bool Budget(int64_t count, YamlMark mark);
  void Add(YamlNode node, YAML::anchor_t anchor);
  void AddToMap(Frame& frame, YamlNode node);
  std::string PathOfTop() const;

  const YamlDocument& doc_;
  absl::Status error_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<YamlNode, int64_t>> anchors_;  // node, node count
  int64_t node_count_ = 0;
  YamlNode root_;
  bool has_root_ = false;
};

void TreeBuilder::OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) {
  if (!error_.ok()) return;
  auto it = anchors_.find(anchor);
  if (it == anchors_.end()) {
    // yaml-cpp reports an unknown alias itself; this covers an alias to a node that is
    // still open (a recursive alias), which a tree cannot hold.
    Fail(ToMark(mark), "alias refers to a node that contains it");
    return;
  }
  if (!Budget(it->second.second, ToMark(mark))) return;
  YamlNode copy = it->second.first;
  copy.mark = ToMark(mark);
  Add(std::move(copy), YAML::NullAnchor);
}

// Counts `count` new nodes; false once the document is too big to hold.
bool TreeBuilder::Budget(int64_t count, YamlMark mark) {
  node_count_ += count;
  if (node_count_ <= kMaxNodes) return true;
  Fail(mark,
       absl::StrCat("document has more than ", kMaxNodes, " nodes once aliases are expanded"));
  return false;
}

void TreeBuilder::Add(YamlNode node, YAML::anchor_t anchor) {
  if (!error_.ok()) return;  // the tree is being thrown away: save the work
  if (anchor != YAML::NullAnchor) {
    // The anchor keeps a copy, which counts too: nested anchors around one big alias
    // would otherwise copy it once per level, past any bound.
    int64_t count = CountNodes(node);
    if (!Budget(count, node.mark)) return;
    anchors_[anchor] = {node, count};
  }
  if (stack_.empty()) {
    root_ = std::move(node);
    has_root_ = true;
    return;
  }
  Frame& top = stack_.back();
  if (top.node.kind == YamlNode::Kind::kSequence) {
    top.node.items.push_back(std::move(node));
  } else {
    AddToMap(top, std::move(node));
  }
}

void TreeBuilder::AddToMap(Frame& frame, YamlNode node) {
  if (frame.pending_key.has_value()) {
    // yaml-cpp marks an empty value (`ip:` then a newline) at the next token, often on
    // the next line; the key is where the user will look.
    if (node.kind == YamlNode::Kind::kNull && node.mark.line > frame.pending_key->second.line) {
      node.mark = frame.pending_key->second;
    }
    frame.node.entries.push_back(
        YamlEntry{std::move(frame.pending_key->first), frame.pending_key->second, std::move(node)});
    frame.pending_key.reset();
    return;
  }
  std::string in = PathOfTop();
  if (!in.empty()) in = absl::StrCat(" in ", in);
  if (node.kind != YamlNode::Kind::kScalar) {
    Fail(node.mark, absl::StrCat("map keys must be plain strings", in));
    frame.pending_key.emplace(std::string(), node.mark);
    return;
  }
  auto [first, inserted] = frame.keys.emplace(node.scalar, node.mark);
  if (!inserted) {
    Fail(node.mark, absl::StrCat("duplicate key \"", absl::CHexEscape(node.scalar), "\"", in,
                                 " (first at line ", first->second.line, ", column ",
                                 first->second.column, ")"));
  }
  frame.pending_key.emplace(std::move(node.scalar), node.mark);
}

// The path of the innermost open map, for messages: "nodes[1]", "agent.tls", "".
std::string TreeBuilder::PathOfTop() const {
  std::string path;
  for (size_t i = 0; i + 1 < stack_.size(); ++i) {
    const Frame& frame = stack_[i];
    if (frame.node.kind == YamlNode::Kind::kSequence) {
      absl::StrAppend(&path, "[", frame.node.items.size(), "]");
    } else if (frame.pending_key.has_value()) {
      absl::StrAppend(&path, path.empty() ? "" : ".", frame.pending_key->first);
    }
  }
  return path;
}

}  // namespace

absl::StatusOr<YamlDocument> YamlDocument::Parse(absl::string_view text,
                                                 absl::string_view file_name) {
  YamlDocument doc;
  doc.file_name_ = std::string(file_name);
  doc.root_.mark = YamlMark{1, 1};
  TreeBuilder builder(doc);
  std::istringstream stream{std::string(text)};
  try {
    YAML::Parser parser(stream);
    if (parser.HandleNextDocument(builder) && builder.error().ok()) {
      TreeBuilder second(doc);
      // HandleNextDocument consumes the document it reports, so peek with a throwaway
      // builder: any event at all means a second document.
      if (parser.HandleNextDocument(second) && second.has_root()) {
        return doc.Error(second.TakeRoot().mark,
                         "a second YAML document (after \"---\") is not allowed here");
      }
    }
  } catch (const YAML::Exception& e) {
    if (!builder.error().ok()) return builder.error();
    return doc.Error(ToMark(e.mark), absl::StrCat("invalid YAML: ", e.msg));
  } catch (const std::exception& e) {
    return doc.Error(YamlMark{}, absl::StrCat("cannot parse YAML: ", e.what()));
  }
  if (!builder.error().ok()) return builder.error();
  if (builder.has_root()) doc.root_ = builder.TakeRoot();
  return doc;
}

YamlField YamlDocument::Root() const { return YamlField(*this, root_, ""); }

absl::Status YamlDocument::Error(YamlMark mark, absl::string_view message) const {
  if (mark.line <= 0) return absl::InvalidArgumentError(absl::StrCat(file_name_, ": ", message));
  return absl::InvalidArgumentError(absl::StrCat(file_name_, ":", MarkText(mark), ": ", message));
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  std::string what = absl::StrCat(path, ": cannot read");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, what);
  std::string contents;
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return ErrnoStatus(saved, what);
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > kMaxConfigBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", kMaxConfigBytes >> 20, " MiB; not a config file"));
    }
  }
  close(fd);
  return contents;
}

std::string ResolveConfigPath(absl::string_view base_dir, absl::string_view path) {
  if (path.empty()) return "";
  std::filesystem::path resolved{std::string(path)};
  if (resolved.is_relative() && !base_dir.empty()) {
    resolved = std::filesystem::path(std::string(base_dir)) / resolved;
  }
  return resolved.lexically_normal().string();
}

}  // namespace sparkfleet
