#include "coordinator/render.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/grpc_status.h"

namespace sparkfleet {

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

std::string MessageJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = pretty;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  if (pretty && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string NodeEntryJson(const std::string& node, const absl::Status& status,
                          absl::Duration duration, const google::protobuf::Message* result) {
  std::string entry =
      absl::StrCat("{\"node\":", JsonQuote(node), ",\"ok\":", status.ok() ? "true" : "false",
                   ",\"duration_ms\":", absl::ToInt64Milliseconds(duration));
  if (!status.ok()) {
    absl::StrAppend(&entry, ",\"error\":{\"code\":", JsonQuote(StatusCodeName(status.code())),
                    ",\"message\":", JsonQuote(status.message()), "}");
  }
  if (result != nullptr) absl::StrAppend(&entry, ",\"result\":", MessageJson(*result));
  entry += "}";
  return entry;
}

std::string FanOutJson(const std::vector<std::string>& entries, int ok, int failed) {
  return absl::StrCat("{\"nodes\":[", absl::StrJoin(entries, ","), "],\"summary\":{\"ok\":", ok,
                      ",\"failed\":", failed, "}}\n");
}

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string HumanDuration(absl::Duration duration) {
  int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms < 1000) return absl::StrCat(ms, " ms");
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(duration));
}

std::string FormatUptime(int64_t seconds) {
  int64_t days = seconds / 86400, hours = seconds % 86400 / 3600, minutes = seconds % 3600 / 60;
  if (days > 0) return absl::StrCat(days, "d ", hours, "h");
  if (hours > 0) return absl::StrCat(hours, "h ", minutes, "m");
  if (minutes > 0) return absl::StrCat(minutes, "m ", seconds % 60, "s");
  return absl::StrCat(seconds, "s");
}

std::string OneLineError(const absl::Status& status) {
  return absl::StrCat(StatusCodeName(status.code()), ": ",
                      absl::StrReplaceAll(status.message(), {{"\n", " "}}));
}

}  // namespace sparkfleet
