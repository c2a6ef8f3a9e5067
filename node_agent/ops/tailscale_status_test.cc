#include "node_agent/ops/tailscale_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node_agent/netcheck/json_reader.h"
#include "node_agent/ops/tailscale_test_node.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Shaped like tailscale 1.80's `status --json` (trimmed of fields the agent ignores).
constexpr char kRunning[] = R"({
  "Version": "1.80.2-t2e5f7a1b3-gc4d5e6f7a",
  "TUN": true,
  "BackendState": "Running",
  "AuthURL": "",
  "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"],
  "Self": {"ID": "n1", "PublicKey": "nodekey:aa", "HostName": "spark-001",
           "DNSName": "spark-001.tail1234.ts.net.", "OS": "linux", "UserID": 1,
           "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"], "Online": true},
  "Health": null,
  "MagicDNSSuffix": "tail1234.ts.net",
  "Peer": {
    "nodekey:cc": {"HostName": "spark-002", "DNSName": "spark-002.tail1234.ts.net.",
                   "TailscaleIPs": ["100.101.102.104"], "Online": false},
    "nodekey:bb": {"HostName": "admin-laptop", "DNSName": "admin-laptop.tail1234.ts.net.",
                   "TailscaleIPs": ["100.101.102.9"], "Online": true}
  },
  "User": {"1": {"ID": 1, "LoginName": "admin@example.com"}}
})";

constexpr char kNeedsLogin[] = R"({
  "Version": "1.80.2", "BackendState": "NeedsLogin",
  "AuthURL": "https://login.tailscale.com/a/1f2e3d4c5b6a", "TailscaleIPs": null,
  "Self": {"HostName": "spark-001", "DNSName": "", "TailscaleIPs": null, "Online": false},
  "Health": ["You are logged out."], "Peer": null
})";

TEST(ParseTailscaleStatusJson, ReadsSelfPeersSortedByHostnameAndHealth) {
  absl::StatusOr<TailscaleState> state = ParseTailscaleStatusJson(kRunning);

  ASSERT_TRUE(state.ok()) << state.status();
  const v1::TailscaleStatus& status = state->status;
  EXPECT_EQ(status.backend_state(), v1::TAILSCALE_BACKEND_STATE_RUNNING);
  EXPECT_EQ(status.version(), "1.80.2-t2e5f7a1b3-gc4d5e6f7a");
  EXPECT_EQ(status.self().hostname(), "spark-001");
  EXPECT_EQ(status.self().dns_name(), "spark-001.tail1234.ts.net.");
  EXPECT_THAT(status.self().tailscale_ips(), ElementsAre("100.101.102.103", "fd7a:115c:a1e0::1"));
  EXPECT_TRUE(status.self().online());
  ASSERT_EQ(status.peers_size(), 2);
  EXPECT_EQ(status.peers(0).hostname(), "admin-laptop");
  EXPECT_TRUE(status.peers(0).online());
  EXPECT_EQ(status.peers(1).hostname(), "spark-002");
  EXPECT_FALSE(status.peers(1).online());
  EXPECT_EQ(status.health_size(), 0);
}

TEST(ParseTailscaleStatusJson, NeedsLoginKeepsTheAuthUrlForTheError) {
  absl::StatusOr<TailscaleState> state = ParseTailscaleStatusJson(kNeedsLogin);

  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->status.backend_state(), v1::TAILSCALE_BACKEND_STATE_NEEDS_LOGIN);
  EXPECT_EQ(state->status.peers_size(), 0);
  EXPECT_THAT(state->status.health(), ElementsAre("You are logged out."));
  absl::Status need = RequireLoggedIn(*state, "spark-001");
  EXPECT_EQ(need.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(need.message(), HasSubstr("spark-001 needs login"));
  EXPECT_THAT(need.message(), HasSubstr("https://login.tailscale.com/a/1f2e3d4c5b6a"));
  EXPECT_THAT(need.message(), HasSubstr("TAILSCALE_AUTH_KEY"));
}

TEST(ParseTailscaleStatusJson, MachineAuthSaysToApproveTheMachine) {
  TailscaleState state;
  state.status.set_backend_state(BackendStateFromName("NeedsMachineAuth"));
  absl::Status need = RequireLoggedIn(state, "spark-002");
  EXPECT_THAT(need.message(), HasSubstr("approve the machine at "
                                        "https://login.tailscale.com/admin/machines"));
  state.status.set_backend_state(BackendStateFromName("Stopped"));
  EXPECT_TRUE(RequireLoggedIn(state, "spark-002").ok());
}

TEST(ParseTailscaleStatusJson, TextThatIsNotAStatusIsAnError) {
  EXPECT_EQ(ParseTailscaleStatusJson("Logged out.").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ParseTailscaleStatusJson("{\"Self\": {}}").status().message(),
              HasSubstr("no BackendState"));
}

// fuzz_tailscale_json: a peer's HostName with a byte that is not UTF-8 went into the
// reply as it was, and GetTailscaleStatus's reply then did not parse on sparkctl's side.
TEST(ParseTailscaleStatusJson, FuzzRegressionHostNameNotUtf8) {
  absl::StatusOr<TailscaleState> state =
      ParseTailscaleStatusJson("{\"BackendState\":\"\",\"Peer\":{\"\":{\"HostName\":\"\xf0\"}}}");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseTailscalePrefs, ReadsTheFourSettingsAndNullRoutes) {
  absl::StatusOr<TailscaleSettings> prefs = ParseTailscalePrefs(
      R"({"ControlURL": "https://controlplane.tailscale.com", "RouteAll": true,
          "RunSSH": false, "Hostname": "spark-009",
          "AdvertiseRoutes": ["10.2.0.0/16", "10.1.0.0/16"], "Persist": {"x": 1}})");
  ASSERT_TRUE(prefs.ok());
  EXPECT_EQ(prefs->hostname, "spark-009");
  EXPECT_THAT(prefs->advertise_routes, ElementsAre("10.1.0.0/16", "10.2.0.0/16"));
  EXPECT_TRUE(prefs->accept_routes);
  EXPECT_FALSE(prefs->ssh);

  prefs = ParseTailscalePrefs(R"({"Hostname": "", "AdvertiseRoutes": null})");
  ASSERT_TRUE(prefs.ok());
  EXPECT_TRUE(prefs->IsDefault());
}

TEST(JsonValueMembers, ListsObjectMembersInDocumentOrder) {
  absl::StatusOr<JsonValue> doc = JsonValue::Parse(R"({"b": 1, "a": "x"})");
  ASSERT_TRUE(doc.ok());
  auto members = doc->members();
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].first, "b");
  EXPECT_EQ(members[1].first, "a");
  EXPECT_EQ(members[1].second->AsString(), "x");
  EXPECT_TRUE(doc->Find("b")->members().empty());
}

using GetTailscaleStatusTest = TailscaleNodeTest;

TEST_F(GetTailscaleStatusTest, RunningNodeAnswersWithItsTailnetAddress) {
  Installed("Running");
  Write("/var/lib/tailscale/fake/hostname", "spark-001");
  Write("/var/lib/tailscale/fake/ip", "100.64.0.7");
  Write("/var/lib/tailscale/fake/peers", "spark-002 100.64.0.8 true\n");

  absl::StatusOr<v1::TailscaleStatus> status = GetTailscaleStatus(Node(), [] { return false; });

  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->ipv4(), "100.64.0.7");
  EXPECT_EQ(status->self().dns_name(), "spark-001.tail1234.ts.net.");
  ASSERT_EQ(status->peers_size(), 1);
  EXPECT_EQ(status->peers(0).hostname(), "spark-002");
  EXPECT_THAT(Commands(), ElementsAre("tailscale status --json", "tailscale ip -4"));
}

TEST_F(GetTailscaleStatusTest, NeedsLoginIsAnActionableErrorWithTheAuthUrl) {
  Installed("NeedsLogin");
  absl::StatusOr<v1::TailscaleStatus> status = GetTailscaleStatus(Node(), [] { return false; });
  EXPECT_EQ(status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.status().message(), HasSubstr("https://login.tailscale.com/a/"));
  EXPECT_THAT(Commands(), ElementsAre("tailscale status --json"));
}

TEST_F(GetTailscaleStatusTest, NotInstalledOrDaemonDownSaysWhatToRun) {
  absl::StatusOr<v1::TailscaleStatus> status = GetTailscaleStatus(Node(), [] { return false; });
  EXPECT_EQ(status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.status().message(), HasSubstr("Tailscale is not installed on spark-001"));
  EXPECT_TRUE(Commands().empty());

  Installed("Running");
  std::filesystem::remove(root_ + "/run/fake-systemd/tailscaled.active");
  status = GetTailscaleStatus(Node(), [] { return false; });
  EXPECT_EQ(status.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.status().message(), HasSubstr("tailscaled is not running on spark-001"));
  EXPECT_THAT(status.status().message(), HasSubstr("systemctl enable --now tailscaled"));
}

}  // namespace
}  // namespace sparkfleet
