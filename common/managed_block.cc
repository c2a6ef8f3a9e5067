#include "common/managed_block.h"

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sparkfleet {
namespace {

// Where the block sits in the text: [begin, end) covers both marker lines and their
// newlines; [body_begin, body_end) the lines between them.
struct BlockSpan {
  size_t begin = 0;
  size_t body_begin = 0;
  size_t body_end = 0;
  size_t end = 0;
};

absl::Status Broken(int line, absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "line ", line, ": ", what, "; fix or remove the sparkfleet markers by hand, then run again"));
}

// Finds the block; nullopt when there is none.
absl::StatusOr<std::optional<BlockSpan>> FindBlock(absl::string_view text,
                                                   const BlockMarkers& markers) {
  std::optional<BlockSpan> found;
  bool inside = false;
  BlockSpan span;
  int line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_number;
    size_t newline = text.find('\n', pos);
    size_t next = newline == absl::string_view::npos ? text.size() : newline + 1;
    absl::string_view line =
        text.substr(pos, (newline == absl::string_view::npos ? next : newline) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == markers.begin) {
      if (inside)
        return Broken(line_number,
                      absl::StrCat("second \"", markers.begin, "\" before \"", markers.end, "\""));
      if (found) return Broken(line_number, "a second sparkfleet block");
      inside = true;
      span.begin = pos;
      span.body_begin = next;
    } else if (line == markers.end) {
      if (!inside)
        return Broken(line_number, absl::StrCat("\"", markers.end, "\" without \"", markers.begin,
                                                "\" before it"));
      inside = false;
      span.body_end = pos;
      span.end = next;
      found = span;
    }
    pos = next;
  }
  if (inside)
    return Broken(line_number,
                  absl::StrCat("\"", markers.begin, "\" is never closed by \"", markers.end, "\""));
  return found;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ManagedBlockBody(absl::string_view text,
                                                            const BlockMarkers& markers) {
  absl::StatusOr<std::optional<BlockSpan>> span = FindBlock(text, markers);
  if (!span.ok()) return span.status();
  if (!span->has_value()) return std::optional<std::string>();
  const BlockSpan& s = **span;
  return std::optional<std::string>(
      std::string(text.substr(s.body_begin, s.body_end - s.body_begin)));
}

absl::StatusOr<std::string> ReplaceManagedBlock(absl::string_view text, absl::string_view body,
                                                const BlockMarkers& markers) {
  absl::StatusOr<std::optional<BlockSpan>> span = FindBlock(text, markers);
  if (!span.ok()) return span.status();
  std::string block;
  if (!body.empty()) {
    block =
        absl::StrCat(markers.begin, "\n", body, body.back() == '\n' ? "" : "\n", markers.end, "\n");
  }
  if (span->has_value()) {
    const BlockSpan& s = **span;
    return absl::StrCat(text.substr(0, s.begin), block, text.substr(s.end));
  }
  if (block.empty()) return std::string(text);
  const bool needs_newline = !text.empty() && text.back() != '\n';
  return absl::StrCat(text, needs_newline ? "\n" : "", block);
}

}  // namespace sparkfleet
