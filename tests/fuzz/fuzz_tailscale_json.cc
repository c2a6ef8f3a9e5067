// What `tailscale` prints and the agent reads: `tailscale status --json` (backend state,
// self, peers, health), `tailscale debug prefs`, and the record TailscaleUp keeps of the
// settings of its last successful `up`.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "node_agent/ops/tailscale_settings.h"
#include "node_agent/ops/tailscale_status.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkfleet;
  absl::string_view text = fuzz::AsText(data, size);

  absl::StatusOr<TailscaleState> state = ParseTailscaleStatusJson(text);
  if (state.ok()) {
    fuzz::CheckWireRoundTrip(state->status, "ParseTailscaleStatusJson");
    absl::Status logged_in = RequireLoggedIn(*state, "spark-001");
    if (!logged_in.ok()) {
      fuzz::CheckError(logged_in, absl::StatusCode::kFailedPrecondition, "RequireLoggedIn");
    }
  } else {
    fuzz::CheckError(state.status(), absl::StatusCode::kInvalidArgument,
                     "ParseTailscaleStatusJson");
  }

  absl::StatusOr<TailscaleSettings> prefs = ParseTailscalePrefs(text);
  if (prefs.ok()) {
    fuzz::Check(std::is_sorted(prefs->advertise_routes.begin(), prefs->advertise_routes.end()),
                "ParseTailscalePrefs routes are not sorted");
    (void)prefs->IsDefault();
  } else {
    fuzz::CheckError(prefs.status(), absl::StatusCode::kInvalidArgument, "ParseTailscalePrefs");
  }

  if (std::optional<TailscaleSettings> record = ParseTailscaleUpRecord(text)) {
    fuzz::Check(std::is_sorted(record->advertise_routes.begin(), record->advertise_routes.end()),
                "ParseTailscaleUpRecord routes are not sorted");
    (void)RenderTailscaleUpRecord(*record);
  }
  return 0;
}
