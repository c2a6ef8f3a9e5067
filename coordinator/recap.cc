#include "coordinator/recap.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "coordinator/commands/command.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

struct Counts {
  int ok = 0;
  int changed = 0;
  int failed = 0;
  int unreachable = 0;

  void Add(StepState result) {
    switch (result) {
      case StepState::kNotRun:
      case StepState::kDisabled:
      case StepState::kOk:
        ++ok;
        break;
      case StepState::kChanged:
        ++changed;
        break;
      case StepState::kUnreachable:
        ++unreachable;
        break;
      case StepState::kSkipped:
      case StepState::kFailed:
        ++failed;
        break;
    }
  }
};

bool HasError(StepState state) {
  return state == StepState::kFailed || state == StepState::kUnreachable;
}

// "  spark-001: /etc/hosts (backup /etc/hosts.sparkfleet.bak)" per changed file, once
// even when two steps report it (~/.ssh).
std::string ChangedFiles(const NodeRecap& node) {
  std::string out;
  std::set<std::string> seen;
  for (const StepOutcome& step : node.steps) {
    for (const v1::ChangeReport& change : step.changes) {
      if (!change.changed() || !seen.insert(change.path()).second) continue;
      absl::StrAppend(&out, "  ", node.node, ": ", change.path(),
                      change.backup_path().empty() ? "" : " (backup ", change.backup_path(),
                      change.backup_path().empty() ? "" : ")", "\n");
    }
  }
  return out;
}

std::string StepJson(const StepOutcome& step) {
  std::string out = absl::StrCat("{\"state\":", JsonQuote(StepStateName(step.state)),
                                 ",\"duration_ms\":", absl::ToInt64Milliseconds(step.duration));
  if (HasError(step.state)) {
    absl::StrAppend(&out, ",\"call\":", JsonQuote(step.call),
                    ",\"error\":{\"code\":", JsonQuote(StatusCodeName(step.error.code())),
                    ",\"message\":", JsonQuote(step.error.message()), "}");
  }
  if (!step.result_json.empty()) absl::StrAppend(&out, ",\"result\":", step.result_json);
  return out + "}";
}

}  // namespace

const char* StepStateName(StepState state) {
  switch (state) {
    case StepState::kNotRun:
      return "-";
    case StepState::kDisabled:
      return "skipped";
    case StepState::kOk:
      return "ok";
    case StepState::kChanged:
      return "changed";
    case StepState::kSkipped:
      return "skipped";
    case StepState::kFailed:
      return "failed";
    case StepState::kUnreachable:
      return "unreachable";
  }
  return "?";
}

bool IsUnreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

StepOutcome OutcomeOf(const std::string& call, const absl::Status& error,
                      const std::vector<v1::ChangeReport>& changes, bool unreachable) {
  StepOutcome outcome;
  outcome.call = call;
  outcome.error = error;
  if (!error.ok()) {
    outcome.state =
        unreachable && IsUnreachable(error) ? StepState::kUnreachable : StepState::kFailed;
    return outcome;
  }
  outcome.changes = changes;
  bool changed = std::any_of(changes.begin(), changes.end(),
                             [](const v1::ChangeReport& c) { return c.changed(); });
  outcome.state = changed ? StepState::kChanged : StepState::kOk;
  return outcome;
}

StepState NodeRecap::Result() const {
  StepState worst = StepState::kOk;
  for (const StepOutcome& step : steps) worst = std::max(worst, step.state);
  return worst;
}

std::string RenderRecap(const Recap& recap, const RecapOptions& options) {
  std::vector<std::string> header = {"NODE"};
  for (const std::string& step : recap.steps) header.push_back(step);
  header.push_back("RESULT");
  if (options.backup_column) header.push_back("BACKUP");
  Table table(header);
  std::string errors, files, diffs;
  Counts counts;
  for (const NodeRecap& node : recap.nodes) {
    std::vector<std::string> row = {node.node};
    std::string backup = "-";
    for (const StepOutcome& step : node.steps) {
      row.push_back(StepStateName(step.state));
      if (HasError(step.state)) {
        absl::StrAppend(&errors, "  ", node.node, ": ", step.call, ": ", OneLineError(step.error),
                        "\n");
      }
      for (const v1::ChangeReport& change : step.changes) {
        if (!change.backup_path().empty()) backup = change.backup_path();
        if (options.show_diffs && !change.diff().empty()) {
          absl::StrAppend(&diffs, "\n== ", node.node, ": ", change.path(), "\n", change.diff());
        }
      }
    }
    StepState result = node.Result();
    row.push_back(StepStateName(result));
    if (options.backup_column) row.push_back(backup);
    if (!options.backup_column) files += ChangedFiles(node);
    table.AddRow(row);
    counts.Add(result);
  }
  std::string out = table.Render();
  if (!errors.empty()) absl::StrAppend(&out, "\n", errors);
  if (!files.empty()) {
    absl::StrAppend(&out, "\n", options.check ? "would change:\n" : "changed:\n", files);
  }
  absl::StrAppend(&out, diffs);
  if (!recap.notes.empty()) absl::StrAppend(&out, "\n", absl::StrJoin(recap.notes, "\n"), "\n");
  absl::StrAppend(
      &out, "\n", counts.ok, " ok, ", counts.changed,
      options.check ? " would change, " : " changed, ", counts.failed, " failed",
      counts.unreachable > 0 ? absl::StrCat(", ", counts.unreachable, " unreachable") : "",
      options.check ? " (check: nothing was changed)" : "", "\n");
  return out;
}

std::string RecapJson(const Recap& recap, bool check) {
  std::vector<std::string> keys, nodes, notes;
  for (const std::string& step : recap.steps) keys.push_back(absl::AsciiStrToLower(step));
  Counts counts;
  for (const NodeRecap& node : recap.nodes) {
    std::vector<std::string> steps;
    for (size_t i = 0; i < node.steps.size() && i < keys.size(); ++i) {
      steps.push_back(absl::StrCat(JsonQuote(keys[i]), ":", StepJson(node.steps[i])));
    }
    counts.Add(node.Result());
    nodes.push_back(absl::StrCat("{\"node\":", JsonQuote(node.node),
                                 ",\"result\":", JsonQuote(StepStateName(node.Result())),
                                 ",\"steps\":{", absl::StrJoin(steps, ","), "}}"));
  }
  std::vector<std::string> quoted_keys;
  for (const std::string& key : keys) quoted_keys.push_back(JsonQuote(key));
  for (const std::string& note : recap.notes) notes.push_back(JsonQuote(note));
  return absl::StrCat(
      "{\"check\":", check ? "true" : "false", ",\"steps\":[", absl::StrJoin(quoted_keys, ","),
      "],\"nodes\":[", absl::StrJoin(nodes, ","), "],\"notes\":[", absl::StrJoin(notes, ","),
      "],\"summary\":{\"ok\":", counts.ok, ",\"changed\":", counts.changed,
      ",\"failed\":", counts.failed, ",\"unreachable\":", counts.unreachable, "}}\n");
}

int RecapExitCode(const Recap& recap) {
  for (const NodeRecap& node : recap.nodes) {
    StepState result = node.Result();
    if (result == StepState::kFailed || result == StepState::kUnreachable ||
        result == StepState::kSkipped) {
      return kExitNodeFailed;
    }
  }
  return kExitOk;
}

}  // namespace sparkfleet
