#include "node_agent/netcheck/json_reader.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/validate.h"

namespace sparkfleet {

// Recursive descent over the text; every error names the byte offset it was found at.
class JsonParser {
 public:
  explicit JsonParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> Document() {
    JsonValue value;
    if (absl::Status s = Value(value, 0); !s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the JSON value");
    return value;
  }

 private:
  static constexpr int kMaxDepth = 64;

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON at byte ", pos_, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::Status Value(JsonValue& out, int depth) {
    if (depth > kMaxDepth) return Error("nested deeper than 64 levels");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of text");
    char c = text_[pos_];
    if (c == '{') return Object(out, depth);
    if (c == '[') return Array(out, depth);
    if (c == '"') {
      out.kind_ = JsonValue::Kind::kString;
      return String(out.string_);
    }
    for (bool literal : {true, false}) {
      if (Consume(literal ? "true" : "false")) {
        out.kind_ = JsonValue::Kind::kBool;
        out.bool_ = literal;
        return absl::OkStatus();
      }
    }
    if (Consume("null")) {
      out.kind_ = JsonValue::Kind::kNull;
      return absl::OkStatus();
    }
    return Number(out);
  }

  absl::Status Object(JsonValue& out, int depth) {
    out.kind_ = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Consume("}")) return absl::OkStatus();
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a member name");
      std::string key;
      if (absl::Status s = String(key); !s.ok()) return s;
      SkipSpace();
      if (!Consume(":")) return Error("expected ':' after a member name");
      JsonValue value;
      if (absl::Status s = Value(value, depth + 1); !s.ok()) return s;
      out.keys_.push_back(std::move(key));
      out.member_values_.push_back(std::move(value));
      SkipSpace();
      if (Consume("}")) return absl::OkStatus();
      if (!Consume(",")) return Error("expected ',' or '}' in an object");
    }
  }

  absl::Status Array(JsonValue& out, int depth) {
    out.kind_ = JsonValue::Kind::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Consume("]")) return absl::OkStatus();
    while (true) {
      JsonValue value;
      if (absl::Status s = Value(value, depth + 1); !s.ok()) return s;
      out.items_.push_back(std::move(value));
      SkipSpace();
      if (Consume("]")) return absl::OkStatus();
      if (!Consume(",")) return Error("expected ',' or ']' in an array");
    }
  }

  absl::Status Number(JsonValue& out) {
    size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    size_t digits = pos_;
    while (pos_ < text_.size() &&
           (absl::ascii_isdigit(text_[pos_]) || text_[pos_] == '.' || text_[pos_] == 'e' ||
            text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-')) {
      ++pos_;
    }
    absl::string_view token = text_.substr(start, pos_ - start);
    if (pos_ == digits || !absl::ascii_isdigit(text_[digits]) ||
        !absl::SimpleAtod(token, &out.number_)) {
      pos_ = start;
      return Error("expected a value");
    }
    out.kind_ = JsonValue::Kind::kNumber;
    return absl::OkStatus();
  }

  static void AppendUtf8(uint32_t code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  bool Hex4(uint32_t& code) {
    if (pos_ + 4 > text_.size()) return false;
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      int digit = absl::ascii_isdigit(c)   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0) return false;
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }

  absl::Status Escape(std::string& out) {
    if (pos_ >= text_.size()) return Error("unterminated string");
    char c = text_[pos_++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return absl::OkStatus();
      case 'b':
        out += '\b';
        return absl::OkStatus();
      case 'f':
        out += '\f';
        return absl::OkStatus();
      case 'n':
        out += '\n';
        return absl::OkStatus();
      case 'r':
        out += '\r';
        return absl::OkStatus();
      case 't':
        out += '\t';
        return absl::OkStatus();
      case 'u':
        break;
      default:
        return Error("invalid escape in a string");
    }
    uint32_t code = 0;
    if (!Hex4(code)) return Error("invalid \\u escape");
    if (code >= 0xDC00 && code < 0xE000) return Error("unpaired surrogate in a \\u escape");
    if (code >= 0xD800 && code < 0xDC00) {
      uint32_t low = 0;
      if (!Consume("\\u") || !Hex4(low) || low < 0xDC00 || low >= 0xE000) {
        return Error("unpaired surrogate in a \\u escape");
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(code, out);
    return absl::OkStatus();
  }

  // Strings must be UTF-8 (RFC 8259 section 8.1): they end up in proto3 string fields,
  // and a reply holding other bytes does not parse on the caller's side.
  absl::Status String(std::string& out) {
    ++pos_;  // '"'
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return IsUtf8(out) ? absl::OkStatus() : Error("a string is not UTF-8");
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in a string");
      if (c != '\\') {
        out += c;
      } else if (absl::Status s = Escape(out); !s.ok()) {
        return s;
      }
    }
    return Error("unterminated string");
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

absl::StatusOr<JsonValue> JsonValue::Parse(absl::string_view text) {
  return JsonParser(text).Document();
}

const JsonValue* JsonValue::Find(absl::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (size_t i = keys_.size(); i > 0; --i) {
    if (keys_[i - 1] == key) return &member_values_[i - 1];
  }
  return nullptr;
}

const JsonValue* JsonValue::FindPath(std::initializer_list<absl::string_view> keys) const {
  const JsonValue* at = this;
  for (absl::string_view key : keys) {
    at = at->Find(key);
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::optional<double> JsonValue::AsNumber() const {
  if (kind_ != Kind::kNumber) return std::nullopt;
  return number_;
}

std::optional<std::string> JsonValue::AsString() const {
  if (kind_ != Kind::kString) return std::nullopt;
  return string_;
}

std::optional<bool> JsonValue::AsBool() const {
  if (kind_ != Kind::kBool) return std::nullopt;
  return bool_;
}

std::optional<double> JsonValue::NumberAt(std::initializer_list<absl::string_view> keys) const {
  const JsonValue* at = FindPath(keys);
  return at == nullptr ? std::nullopt : at->AsNumber();
}

std::optional<std::string> JsonValue::StringAt(
    std::initializer_list<absl::string_view> keys) const {
  const JsonValue* at = FindPath(keys);
  return at == nullptr ? std::nullopt : at->AsString();
}

}  // namespace sparkfleet
