#include "common/unified_diff.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sparkfleet {
namespace {

enum class EditKind { kEqual, kDelete, kInsert };

// One line of the edit script. `old_line` and `new_line` are the 0-based positions in
// each text before this edit consumes its line.
struct Edit {
  EditKind kind;
  size_t old_line;
  size_t new_line;
};

// Lines with their newline; the last one may lack it.
std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == absl::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// Myers' greedy forward search over a[a_begin, a_end) and b[b_begin, b_end); returns the
// V arrays seen before each step d (only the k range [-d-1, d+1] of each), for the
// backtrack.
class MyersDiff {
 public:
  MyersDiff(const std::vector<absl::string_view>& a, const std::vector<absl::string_view>& b,
            size_t a_begin, size_t a_end, size_t b_begin, size_t b_end)
      : a_(a), b_(b), a0_(a_begin), b0_(b_begin), n_(a_end - a_begin), m_(b_end - b_begin) {}

  // Appends the script for the middle part to `out`.
  void Run(std::vector<Edit>* out) {
    std::vector<std::vector<long>> trace;
    const long max = static_cast<long>(n_ + m_);
    std::vector<long> v(2 * max + 3, 0);
    const long offset = max + 1;
    long found_d = 0;
    for (long d = 0; d <= max; ++d) {
      trace.emplace_back(v.begin() + offset - d - 1, v.begin() + offset + d + 2);
      if (Step(d, offset, &v)) {
        found_d = d;
        break;
      }
    }
    Backtrack(trace, found_d, out);
  }

 private:
  bool Same(long x, long y) const { return a_[a0_ + x] == b_[b0_ + y]; }

  // One round of the search; true once (n, m) is reached.
  bool Step(long d, long offset, std::vector<long>* v) const {
    std::vector<long>& vv = *v;
    for (long k = -d; k <= d; k += 2) {
      long x = (k == -d || (k != d && vv[offset + k - 1] < vv[offset + k + 1]))
                   ? vv[offset + k + 1]
                   : vv[offset + k - 1] + 1;
      long y = x - k;
      while (x < static_cast<long>(n_) && y < static_cast<long>(m_) && Same(x, y)) ++x, ++y;
      vv[offset + k] = x;
      if (x >= static_cast<long>(n_) && y >= static_cast<long>(m_)) return true;
    }
    return false;
  }

  // Walks from (n, m) back to (0, 0); edits come out reversed and are flipped at the end.
  void Backtrack(const std::vector<std::vector<long>>& trace, long found_d,
                 std::vector<Edit>* out) const {
    std::vector<Edit> reversed;
    long x = static_cast<long>(n_);
    long y = static_cast<long>(m_);
    for (long d = found_d; d >= 0; --d) {
      const std::vector<long>& v = trace[d];
      auto at = [&](long k) { return v[k + d + 1]; };
      long k = x - y;
      long prev_x = 0;
      long prev_y = 0;
      if (d > 0) {
        long prev_k = (k == -d || (k != d && at(k - 1) < at(k + 1))) ? k + 1 : k - 1;
        prev_x = at(prev_k);
        prev_y = prev_x - prev_k;
      }
      while (x > prev_x && y > prev_y) {
        --x, --y;
        reversed.push_back({EditKind::kEqual, a0_ + x, b0_ + y});
      }
      if (d == 0) break;
      if (x == prev_x) {
        reversed.push_back({EditKind::kInsert, a0_ + x, b0_ + prev_y});
      } else {
        reversed.push_back({EditKind::kDelete, a0_ + prev_x, b0_ + y});
      }
      x = prev_x;
      y = prev_y;
    }
    out->insert(out->end(), reversed.rbegin(), reversed.rend());
  }

  const std::vector<absl::string_view>& a_;
  const std::vector<absl::string_view>& b_;
  const size_t a0_, b0_, n_, m_;
};

std::vector<Edit> EditScript(const std::vector<absl::string_view>& a,
                             const std::vector<absl::string_view>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  std::vector<Edit> script;
  for (size_t i = 0; i < prefix; ++i) script.push_back({EditKind::kEqual, i, i});
  MyersDiff(a, b, prefix, a.size() - suffix, prefix, b.size() - suffix).Run(&script);
  for (size_t i = suffix; i > 0; --i) {
    script.push_back({EditKind::kEqual, a.size() - i, b.size() - i});
  }
  return script;
}

// "l" for one line, "l,n" otherwise; an empty range names the line before it.
std::string Range(size_t first, size_t count) {
  size_t start = count == 0 ? first : first + 1;
  return count == 1 ? absl::StrCat(start) : absl::StrCat(start, ",", count);
}

void AppendLine(char mark, absl::string_view line, std::string* out) {
  absl::StrAppend(out, absl::string_view(&mark, 1), line);
  if (line.empty() || line.back() != '\n') absl::StrAppend(out, "\n\\ No newline at end of file\n");
}

// One hunk over script[begin, end).
void AppendHunk(const std::vector<Edit>& script, size_t begin, size_t end,
                const std::vector<absl::string_view>& a, const std::vector<absl::string_view>& b,
                std::string* out) {
  size_t old_count = 0;
  size_t new_count = 0;
  for (size_t i = begin; i < end; ++i) {
    old_count += script[i].kind != EditKind::kInsert;
    new_count += script[i].kind != EditKind::kDelete;
  }
  absl::StrAppend(out, "@@ -", Range(script[begin].old_line, old_count), " +",
                  Range(script[begin].new_line, new_count), " @@\n");
  for (size_t i = begin; i < end; ++i) {
    const Edit& edit = script[i];
    switch (edit.kind) {
      case EditKind::kEqual:
        AppendLine(' ', a[edit.old_line], out);
        break;
      case EditKind::kDelete:
        AppendLine('-', a[edit.old_line], out);
        break;
      case EditKind::kInsert:
        AppendLine('+', b[edit.new_line], out);
        break;
    }
  }
}

}  // namespace

std::string UnifiedDiff(absl::string_view old_text, absl::string_view new_text,
                        absl::string_view old_label, absl::string_view new_label, int context) {
  if (old_text == new_text) return "";
  const size_t ctx = static_cast<size_t>(std::max(context, 0));
  std::vector<absl::string_view> a = SplitLines(old_text);
  std::vector<absl::string_view> b = SplitLines(new_text);
  std::vector<Edit> script = EditScript(a, b);
  std::vector<size_t> changes;
  for (size_t i = 0; i < script.size(); ++i) {
    if (script[i].kind != EditKind::kEqual) changes.push_back(i);
  }
  std::string out = absl::StrCat("--- ", old_label, "\n+++ ", new_label, "\n");
  for (size_t c = 0; c < changes.size();) {
    size_t begin = changes[c] >= ctx ? changes[c] - ctx : 0;
    size_t last = changes[c];
    // Changes closer than 2 * context share one hunk.
    while (c + 1 < changes.size() && changes[c + 1] - last <= 2 * ctx + 1) last = changes[++c];
    ++c;
    size_t end = std::min(script.size(), last + ctx + 1);
    AppendHunk(script, begin, end, a, b, &out);
  }
  return out;
}

}  // namespace sparkfleet
