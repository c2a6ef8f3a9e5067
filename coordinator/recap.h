// The recap of a command that changes nodes in steps, read like Ansible's: one row per
// node, one column per step (ok / changed / failed / unreachable / skipped), the node's
// result, then each failure's message, the diffs when asked, and a summary line
// ("2 ok, 1 changed, 1 failed"). Also the same as JSON for programs.
//
// Commands fill a Recap while their fan-outs run; the renderers only read it.
#ifndef SPARKFLEET_COORDINATOR_RECAP_H_
#define SPARKFLEET_COORDINATOR_RECAP_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sparkfleet/v1/types.pb.h"

namespace sparkfleet {

// Worst last: a node's result is its worst step. kDisabled is a step that is off for
// every node (not selected, or disabled in cluster.yaml): shown "skipped", yet it never
// makes a node's result worse. kSkipped is a step a node did not get because something
// before it failed.
enum class StepState { kNotRun, kDisabled, kOk, kChanged, kSkipped, kFailed, kUnreachable };

// "-", "skipped" (kDisabled and kSkipped), "ok", "changed", "failed", "unreachable".
const char* StepStateName(StepState state);

// What one step did on one node.
struct StepOutcome {
  StepState state = StepState::kNotRun;
  std::string call;    // the RPC or action that failed, for messages: "ConfigureSsh"
  absl::Status error;  // kFailed / kUnreachable: why
  std::vector<v1::ChangeReport> changes;
  absl::Duration duration;
  std::string result_json;  // the reply as JSON (render.h's MessageJson), or empty
};

// ok or changed from the reports; failed (or unreachable, when `unreachable` is set and
// the error says the node could not be reached or did not answer in time) from `error`.
StepOutcome OutcomeOf(const std::string& call, const absl::Status& error,
                      const std::vector<v1::ChangeReport>& changes, bool unreachable = true);

// UNAVAILABLE or DEADLINE_EXCEEDED: the agent was not reached or did not answer.
bool IsUnreachable(const absl::Status& status);

struct NodeRecap {
  std::string node;
  std::vector<StepOutcome> steps;  // one per Recap::steps, in that order

  StepState Result() const;  // the worst step state; ok when every step was not run
};

struct Recap {
  std::vector<std::string> steps;  // column titles: "SSH", "HOSTS", "NCCL.CONF"
  std::vector<NodeRecap> nodes;
  std::vector<std::string> notes;  // lines printed before the summary (warnings)
};

struct RecapOptions {
  bool show_diffs = false;
  bool check = false;          // a dry run: "would change", "nothing was changed"
  bool backup_column = false;  // a BACKUP column with the last backup path of each node
};

// The table, each failure "  NODE: CALL: ERROR", the changed files with their backups
// (without backup_column), the diffs when asked, the notes and the summary line;
// ", N unreachable" only when some are.
std::string RenderRecap(const Recap& recap, const RecapOptions& options);

// {"check":false,"steps":["ssh",...],"nodes":[{"node":"spark-001","result":"changed",
//  "steps":{"ssh":{"state":"changed","duration_ms":3,"result":{...}}}}],
//  "notes":[...],"summary":{"ok":0,"changed":1,"failed":0,"unreachable":0}}
// Step keys are the titles in lower case; failed steps carry "error":{"code","message"}.
std::string RecapJson(const Recap& recap, bool check);

// 0 when no node failed or was unreachable, else kExitNodeFailed.
int RecapExitCode(const Recap& recap);

}  // namespace sparkfleet

#endif  // SPARKFLEET_COORDINATOR_RECAP_H_
