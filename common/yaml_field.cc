// The typed reading half of yaml_document.h: YamlField, YamlMap and the "did you mean"
// suggestion for unknown keys. The parsing half is yaml_document.cc.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/yaml_document.h"

namespace sparkfleet {
namespace {

const char* KindName(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "nothing";
    case YamlNode::Kind::kScalar:
      return "a string";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMap:
      return "a map";
  }
  return "something else";
}

}  // namespace

std::string YamlField::ChildPath(absl::string_view key) const {
  if (path_.empty()) return std::string(key);
  return absl::StrCat(path_, ".", key);
}

absl::Status YamlField::Error(absl::string_view message) const {
  if (path_.empty()) return doc_->Error(mark(), message);
  return doc_->Error(mark(), absl::StrCat(path_, ": ", message));
}

absl::Status YamlField::Invalid(const absl::Status& why) const {
  if (why.ok()) return why;
  if (path_.empty()) return doc_->Error(mark(), why.message());
  return doc_->Error(mark(), absl::StrCat(path_, " ", why.message()));
}

absl::Status YamlField::ReadString(std::string* out) const {
  if (is_null()) return absl::OkStatus();
  if (node_->kind != YamlNode::Kind::kScalar) {
    return Error(absl::StrCat("expected a string, got ", KindName(*node_)));
  }
  *out = node_->scalar;
  return absl::OkStatus();
}

absl::Status YamlField::ReadNonEmptyString(std::string* out) const {
  std::string value;
  if (absl::Status status = ReadString(&value); !status.ok()) return status;
  if (is_null() || value.empty()) return Error("must not be empty");
  *out = std::move(value);
  return absl::OkStatus();
}

absl::Status YamlField::ReadBool(bool* out) const {
  if (is_null()) return absl::OkStatus();
  if (node_->kind != YamlNode::Kind::kScalar) {
    return Error(absl::StrCat("expected true or false, got ", KindName(*node_)));
  }
  std::string word = absl::AsciiStrToLower(node_->scalar);
  if (word == "true" || word == "yes" || word == "on" || word == "false" || word == "no" ||
      word == "off") {
    *out = (word == "true" || word == "yes" || word == "on");
    return absl::OkStatus();
  }
  return Error(
      absl::StrCat("expected true or false, got \"", absl::CHexEscape(node_->scalar), "\""));
}

absl::Status YamlField::ReadInt(int64_t* out) const {
  if (is_null()) return absl::OkStatus();
  if (node_->kind != YamlNode::Kind::kScalar) {
    return Error(absl::StrCat("expected an integer, got ", KindName(*node_)));
  }
  if (!absl::SimpleAtoi(node_->scalar, out)) {
    return Error(
        absl::StrCat("expected an integer, got \"", absl::CHexEscape(node_->scalar), "\""));
  }
  return absl::OkStatus();
}

absl::Status YamlField::ReadPort(uint16_t* out) const {
  int64_t value = *out;
  if (absl::Status status = ReadInt(&value); !status.ok()) return status;
  if (value < 1 || value > 65535) {
    return Error(absl::StrCat(value, " is not a TCP port (1..65535)"));
  }
  *out = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

absl::Status YamlField::ReadStringList(std::vector<std::string>* out) const {
  if (is_null()) return absl::OkStatus();
  if (node_->kind == YamlNode::Kind::kScalar) {
    *out = {node_->scalar};
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<YamlField>> items = AsList();
  if (!items.ok()) return Error("expected a string or a list of strings, got a map");
  std::vector<std::string> values(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    if (absl::Status status = (*items)[i].ReadString(&values[i]); !status.ok()) return status;
  }
  *out = std::move(values);
  return absl::OkStatus();
}

absl::StatusOr<YamlMap> YamlField::AsMap() const {
  if (node_->kind != YamlNode::Kind::kMap && !is_null()) {
    return Error(absl::StrCat("expected a map of keys and values, got ", KindName(*node_)));
  }
  return YamlMap(*this);
}

absl::StatusOr<std::vector<YamlField>> YamlField::AsList() const {
  if (node_->kind != YamlNode::Kind::kSequence && !is_null()) {
    return Error(absl::StrCat("expected a list, got ", KindName(*node_)));
  }
  std::vector<YamlField> items;
  items.reserve(node_->items.size());
  for (size_t i = 0; i < node_->items.size(); ++i) {
    items.emplace_back(*doc_, node_->items[i], absl::StrCat(path_, "[", i, "]"));
  }
  return items;
}

std::optional<YamlField> YamlMap::Find(absl::string_view key) const {
  for (const YamlEntry& entry : entries()) {
    if (entry.key == key) {
      return YamlField(field_.document(), entry.value, field_.ChildPath(key));
    }
  }
  return std::nullopt;
}

absl::StatusOr<YamlField> YamlMap::Require(absl::string_view key, absl::string_view hint) const {
  std::string suffix = hint.empty() ? "" : absl::StrCat(" (", hint, ")");
  std::optional<YamlField> found = Find(key);
  if (found.has_value() && !found->is_null()) return *std::move(found);
  if (found.has_value()) return found->Error(absl::StrCat("a value is required", suffix));
  std::string in = field_.path().empty() ? "" : absl::StrCat(" in ", field_.path());
  return field_.document().Error(field_.mark(),
                                 absl::StrCat("missing required key \"", key, "\"", in, suffix));
}

absl::Status YamlMap::CheckKeys(absl::Span<const absl::string_view> known) const {
  for (const YamlEntry& entry : entries()) {
    bool is_known = false;
    for (absl::string_view name : known) is_known = is_known || name == entry.key;
    if (is_known) continue;
    std::string message = absl::StrCat("unknown key \"", absl::CHexEscape(entry.key), "\"");
    if (!field_.path().empty()) absl::StrAppend(&message, " in ", field_.path());
    std::string guess = FindDidYouMean(entry.key, known);
    if (!guess.empty()) {
      absl::StrAppend(&message, "; did you mean \"", guess, "\"?");
    } else {
      absl::StrAppend(&message, "; expected one of: ", absl::StrJoin(known, ", "));
    }
    return field_.document().Error(entry.key_mark, message);
  }
  return absl::OkStatus();
}

int EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      bool same = absl::ascii_tolower(static_cast<unsigned char>(a[i - 1])) ==
                  absl::ascii_tolower(static_cast<unsigned char>(b[j - 1]));
      int next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

std::string FindDidYouMean(absl::string_view word, absl::Span<const absl::string_view> candidates) {
  int limit = std::max<int>(2, static_cast<int>(word.size()) / 3);
  std::string best;
  int best_distance = limit + 1;
  for (absl::string_view candidate : candidates) {
    int distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(candidate);
    }
  }
  return best;
}

}  // namespace sparkfleet
