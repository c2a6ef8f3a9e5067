// The managed blocks of /etc/hosts, ~/.ssh/authorized_keys, known_hosts and fstab: finding
// the block in a file the admin edits, replacing its body, the diff a ChangeReport shows,
// and the public key lines of authorized_keys.
//
// Input: the file's text, a "%%%%" line, the new body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/managed_block.h"
#include "common/unified_diff.h"
#include "node_agent/ops/ssh_keys.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using sparkfleet::fuzz::Check;

// True when a line of `body` would read as a marker (the caller's bodies never hold one).
bool HasMarkerLine(absl::string_view body, const sparkfleet::BlockMarkers& markers) {
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == markers.begin || line == markers.end) return true;
  }
  return false;
}

void CheckBlocks(absl::string_view text, absl::string_view body) {
  using namespace sparkfleet;
  const BlockMarkers markers;
  absl::StatusOr<std::optional<std::string>> old_body = ManagedBlockBody(text);
  absl::StatusOr<std::string> replaced = ReplaceManagedBlock(text, body);
  Check(old_body.ok() == replaced.ok(), "ManagedBlockBody and ReplaceManagedBlock disagree");
  if (!replaced.ok()) {
    fuzz::CheckError(replaced.status(), absl::StatusCode::kFailedPrecondition,
                     "ReplaceManagedBlock");
    return;
  }
  (void)UnifiedDiff(text, *replaced, "/etc/hosts", "/etc/hosts");
  if (HasMarkerLine(body, markers)) return;

  absl::StatusOr<std::optional<std::string>> new_body = ManagedBlockBody(*replaced);
  Check(new_body.ok(), "ReplaceManagedBlock wrote a block it cannot read back", *replaced);
  if (body.empty()) {
    Check(!new_body->has_value(), "an empty body left a block behind", *replaced);
  } else {
    std::string want = absl::StrCat(body, body.back() == '\n' ? "" : "\n");
    Check(new_body->has_value() && **new_body == want, "the body read back differs", *replaced);
  }
  // Replacing again with the same body changes nothing.
  absl::StatusOr<std::string> again = ReplaceManagedBlock(*replaced, body);
  Check(again.ok() && *again == *replaced, "replacing a block twice is not idempotent", *replaced);
}

void CheckKeys(absl::string_view text, absl::string_view body) {
  using namespace sparkfleet;
  (void)CountAuthorizedKeys(text);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    absl::StatusOr<SshPublicKey> key = ParseSshPublicKey(line);
    if (!key.ok()) {
      fuzz::CheckError(key.status(), absl::StatusCode::kInvalidArgument, "ParseSshPublicKey");
      continue;
    }
    absl::StatusOr<SshPublicKey> again = ParseSshPublicKey(key->Line());
    Check(again.ok() && again->Line() == key->Line(), "a parsed key's Line() does not parse back",
          key->Line());
    lines.push_back(std::string(line));
    (void)ValidateKnownHostName(line);
  }
  std::string rendered = RenderAuthorizedKeys(lines);
  Check(CountAuthorizedKeys(rendered) <= static_cast<int>(lines.size()),
        "RenderAuthorizedKeys made keys up", rendered);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<absl::string_view> parts =
      sparkfleet::fuzz::SplitParts(sparkfleet::fuzz::AsText(data, size), 2);
  CheckBlocks(parts[0], parts[1]);
  CheckKeys(parts[0], parts[1]);
  return 0;
}
