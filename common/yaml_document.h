// YamlDocument is a YAML file parsed into a tree in which every node remembers where it
// was written, plus typed reading of config sections whose errors say FILE:LINE:COLUMN.
//
// yaml-cpp throws, and 0.7 silently keeps one of two equal map keys. This file is the one
// place its exceptions are caught and where duplicate keys become errors, so the config
// parsers above it (cluster.yaml, agent.yaml) only ever see absl::Status.
//
// Usage:
//   absl::StatusOr<YamlDocument> doc = YamlDocument::Parse(text, "cluster.yaml");
//   if (!doc.ok()) return doc.status();
//   absl::StatusOr<YamlMap> top = doc->Root().AsMap();
//   if (!top.ok()) return top.status();
//   if (absl::Status s = top->CheckKeys({"cluster_name", "nodes"}); !s.ok()) return s;
//   if (std::optional<YamlField> name = top->Find("cluster_name")) {
//     if (absl::Status s = name->ReadString(&config.cluster_name); !s.ok()) return s;
//   }
//
// Every error is INVALID_ARGUMENT with a message "FILE:LINE:COL: PATH: what is wrong",
// lines and columns 1-based. Values are quoted in messages only where the reader checks
// a literal (booleans, integers), never by ReadString, so secrets read as strings do not
// leak into errors.
//
// YamlField and YamlMap point into their YamlDocument: the document must outlive them
// and must not be moved while they are in use. Parsing is in yaml_document.cc, typed
// reading in yaml_field.cc.
#ifndef SPARKFLEET_COMMON_YAML_DOCUMENT_H_
#define SPARKFLEET_COMMON_YAML_DOCUMENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sparkfleet {

// Where a node starts in the text; 1-based. {0, 0} when unknown.
struct YamlMark {
  int line = 0;
  int column = 0;
};

struct YamlEntry;

// One node of the tree. Plain data: the parser fills it, readers only look.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };

  Kind kind = Kind::kNull;
  YamlMark mark;
  std::string scalar;              // kScalar: the text, without quotes or escapes
  bool quoted = false;             // kScalar: written in quotes or as a block scalar
  std::vector<YamlNode> items;     // kSequence
  std::vector<YamlEntry> entries;  // kMap, in file order; keys are unique
};

struct YamlEntry {
  std::string key;
  YamlMark key_mark;
  YamlNode value;
};

class YamlField;

class YamlDocument {
 public:
  // Parses `text`, which must hold at most one YAML document. `file_name` is what
  // messages start with. Fails with INVALID_ARGUMENT for syntax errors, duplicate keys
  // (naming both places), keys that are not plain scalars, unknown aliases, aliases that
  // expand past a sane size, and a second document. Empty text gives a null root.
  [[nodiscard]] static absl::StatusOr<YamlDocument> Parse(absl::string_view text,
                                                          absl::string_view file_name);

  const std::string& file_name() const { return file_name_; }
  const YamlNode& root() const { return root_; }

  // The whole document as a field with an empty path.
  YamlField Root() const;

  // INVALID_ARGUMENT "FILE:LINE:COL: message", or "FILE: message" when `mark` is unknown.
  absl::Status Error(YamlMark mark, absl::string_view message) const;

 private:
  std::string file_name_;
  YamlNode root_;
};

class YamlMap;

// A node together with the path that names it in messages: "agent.tls.ca", "nodes[1].ip".
// Readers accept a null value (`key:` with nothing after it) as "not given" and leave
// their output unchanged.
class YamlField {
 public:
  YamlField(const YamlDocument& doc, const YamlNode& node, std::string path)
      : doc_(&doc), node_(&node), path_(std::move(path)) {}

  const YamlNode& node() const { return *node_; }
  const std::string& path() const { return path_; }
  YamlMark mark() const { return node_->mark; }
  bool is_null() const { return node_->kind == YamlNode::Kind::kNull; }
  const YamlDocument& document() const { return *doc_; }

  // Any scalar, as written ("123" stays "123"). A list or map is an error that does not
  // quote the value.
  [[nodiscard]] absl::Status ReadString(std::string* out) const;
  // Like ReadString, and an empty string is an error ("PATH: must not be empty").
  [[nodiscard]] absl::Status ReadNonEmptyString(std::string* out) const;
  // true/false (any case) and, because the seed's files were read by PyYAML (YAML 1.1),
  // yes/no/on/off. Anything else: `PATH: expected true or false, got "VALUE"`.
  [[nodiscard]] absl::Status ReadBool(bool* out) const;
  // A decimal integer that fits int64.
  [[nodiscard]] absl::Status ReadInt(int64_t* out) const;
  // A TCP port, 1..65535.
  [[nodiscard]] absl::Status ReadPort(uint16_t* out) const;
  // A single string or a list of strings.
  [[nodiscard]] absl::Status ReadStringList(std::vector<std::string>* out) const;

  // This field as a map; null reads as an empty map.
  [[nodiscard]] absl::StatusOr<YamlMap> AsMap() const;
  // The items of a list, named "PATH[i]"; null reads as an empty list.
  [[nodiscard]] absl::StatusOr<std::vector<YamlField>> AsList() const;

  // "FILE:L:C: PATH: message" at this field (no "PATH: " at the root).
  absl::Status Error(absl::string_view message) const;
  // For validate.h's messages, which start with the quoted value:
  // "FILE:L:C: PATH \"x\" is not ...". An OK `why` stays OK.
  absl::Status Invalid(const absl::Status& why) const;

  // "PATH.key", or "key" at the root.
  std::string ChildPath(absl::string_view key) const;

 private:
  const YamlDocument* doc_;
  const YamlNode* node_;
  std::string path_;
};

// A map read as a config section. Keys are unique (the parser guarantees it).
class YamlMap {
 public:
  explicit YamlMap(YamlField field) : field_(std::move(field)) {}

  const YamlField& field() const { return field_; }
  const std::vector<YamlEntry>& entries() const { return field_.node().entries; }

  // The value under `key`, or nullopt when the key is absent. A key written with no
  // value is returned as a null field.
  std::optional<YamlField> Find(absl::string_view key) const;
  // Like Find, but an absent or null key is an error: at this map,
  // `missing required key "ip" in nodes[1]`, or at a null value, `nodes[1].ip: a value
  // is required`. `hint` is appended in parentheses when not empty.
  [[nodiscard]] absl::StatusOr<YamlField> Require(absl::string_view key,
                                                  absl::string_view hint = "") const;
  // The first key not in `known` is an error at that key:
  // `unknown key "hostnme" in nodes[0]; did you mean "hostname"?`, or, with nothing
  // close, the list of keys that are allowed.
  [[nodiscard]] absl::Status CheckKeys(absl::Span<const absl::string_view> known) const;

 private:
  YamlField field_;
};

// Levenshtein distance (insertions, deletions, substitutions; ASCII case ignored).
int EditDistance(absl::string_view a, absl::string_view b);

// The candidate closest to `word` when it is close enough to be a typo (distance at
// most 2, or a third of the word's length when that is more); "" otherwise.
std::string FindDidYouMean(absl::string_view word, absl::Span<const absl::string_view> candidates);

// Reads a config file whole. Errors keep errno's meaning and read
// "PATH: cannot read: No such file or directory".
[[nodiscard]] absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

// `path` made absolute against `base_dir` when it is relative, then lexically
// normalized ("a/../b" -> "b"). An empty `path` stays empty.
std::string ResolveConfigPath(absl::string_view base_dir, absl::string_view path);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COMMON_YAML_DOCUMENT_H_
