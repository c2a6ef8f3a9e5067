#include "node_agent/ops/tailscale_up.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "node_agent/ops/tailscale_test_node.h"

namespace sparkfleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kUpFlags =
    "--hostname=spark-001 --advertise-routes=10.20.0.0/16 --accept-routes=false --ssh=true";

class TailscaleUpTest : public TailscaleNodeTest {
 protected:
  v1::TailscaleUpRequest Request() {
    v1::TailscaleUpRequest request;
    request.set_auth_key(kTestAuthKey);
    request.add_advertise_routes("10.20.0.0/16");
    request.set_ssh(true);
    return request;
  }

  absl::StatusOr<v1::TailscaleUpReply> Up(const v1::TailscaleUpRequest& request) {
    absl::StatusOr<v1::TailscaleUpReply> reply = TailscaleUp(Node(), request, [] { return false; });
    // Wherever it went, the key must be nowhere: not in a reply, error, file or argv.
    std::string seen = reply.ok() ? reply->DebugString() : std::string(reply.status().message());
    EXPECT_THAT(seen, Not(HasSubstr(kTestAuthKey)));
    EXPECT_THAT(ReadHost(dir_ + "/tools.log"), Not(HasSubstr(kTestAuthKey)));
    EXPECT_THAT(Read(kTailscaleUpRecordPath), Not(HasSubstr("tskey")));
    EXPECT_TRUE(!Exists("/run/sparkfleet") || std::filesystem::is_empty(root_ + "/run/sparkfleet"))
        << "the auth key file must be removed";
    return reply;
  }

  std::vector<std::string> ChangedPaths(const v1::TailscaleUpReply& reply) {
    std::vector<std::string> out;
    for (const v1::ChangeReport& change : reply.changes()) {
      if (change.changed()) out.push_back(change.path());
    }
    return out;
  }
};

TEST_F(TailscaleUpTest, FirstUpLogsInThroughAKeyFileAndRecordsTheSettings) {
  Installed("NeedsLogin");

  absl::StatusOr<v1::TailscaleUpReply> reply = Up(Request());

  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(
      Commands(),
      ElementsAre("sysctl -p ROOT/etc/sysctl.d/99-sparkfleet-tailscale.conf",
                  "tailscale status --json", "tailscale debug prefs",
                  "tailscale up --auth-key=file:ROOT/run/sparkfleet/tailscale-authkey-RANDOM " +
                      kUpFlags + " --timeout=60s",
                  "tailscale status --json", "tailscale ip -4"));
  EXPECT_TRUE(reply->ran_up());
  EXPECT_EQ(reply->status().backend_state(), v1::TAILSCALE_BACKEND_STATE_RUNNING);
  EXPECT_EQ(reply->status().ipv4(), "100.64.0.1");
  EXPECT_EQ(reply->status().self().hostname(), "spark-001");
  EXPECT_THAT(ChangedPaths(*reply), ElementsAre(kTailscaleSysctlPath, kTailscaleUpRecordPath));
  EXPECT_THAT(Read(kTailscaleSysctlPath), HasSubstr("net.ipv4.ip_forward = 1\n"));
  EXPECT_THAT(Read(kTailscaleSysctlPath), HasSubstr("net.ipv6.conf.all.forwarding = 1\n"));
  EXPECT_THAT(Read(kTailscaleUpRecordPath), HasSubstr("\"advertise_routes\": [\"10.20.0.0/16\"]"));
}

TEST_F(TailscaleUpTest, RunningWithTheSameSettingsChangesNothingAndRunsNoUp) {
  Installed("NeedsLogin");
  ASSERT_TRUE(Up(Request()).ok());
  Commands();

  absl::StatusOr<v1::TailscaleUpReply> reply = Up(Request());

  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(Commands(),
              ElementsAre("tailscale status --json", "tailscale ip -4", "tailscale debug prefs"));
  EXPECT_FALSE(reply->ran_up());
  EXPECT_THAT(ChangedPaths(*reply), IsEmpty());
  EXPECT_EQ(reply->status().ipv4(), "100.64.0.1");
}

TEST_F(TailscaleUpTest, OtherSettingsOnARunningNodeUseTailscaleSetWithoutTheKey) {
  Installed("NeedsLogin");
  ASSERT_TRUE(Up(Request()).ok());
  Commands();
  v1::TailscaleUpRequest request = Request();
  request.set_accept_routes(true);
  request.set_hostname("gpu-a");
  request.clear_advertise_routes();

  absl::StatusOr<v1::TailscaleUpReply> reply = Up(request);

  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(Commands(),
              ElementsAre("tailscale status --json", "tailscale ip -4", "tailscale debug prefs",
                          "tailscale set --hostname=gpu-a --advertise-routes= "
                          "--accept-routes=true --ssh=true",
                          "tailscale status --json", "tailscale ip -4"));
  EXPECT_TRUE(reply->ran_up());
  EXPECT_THAT(ChangedPaths(*reply), ElementsAre(kTailscaleUpRecordPath));
}

TEST_F(TailscaleUpTest, SettingsChangedBehindTheAgentsBackAreNoticedInThePrefs) {
  Installed("NeedsLogin");
  ASSERT_TRUE(Up(Request()).ok());
  Write("/var/lib/tailscale/fake/ssh", "false");  // someone ran `tailscale set --ssh=false`
  Commands();

  ASSERT_TRUE(Up(Request()).ok());

  EXPECT_THAT(Commands()[3], HasSubstr("tailscale set "));
}

TEST_F(TailscaleUpTest, AStoppedNodeWithOtherSettingsIsBroughtUpWithReset) {
  Installed("Stopped");
  Write("/var/lib/tailscale/fake/hostname", "old-name");
  v1::TailscaleUpRequest request = Request();
  request.clear_advertise_routes();

  ASSERT_TRUE(Up(request).ok());

  std::vector<std::string> commands = Commands();
  ASSERT_EQ(commands.size(), 5u);
  EXPECT_EQ(commands[2],
            "tailscale up --reset --hostname=spark-001 --advertise-routes= --accept-routes=false "
            "--ssh=true --timeout=60s");  // logged in already: no key needed
}

TEST_F(TailscaleUpTest, NeedsLoginWithoutAKeyIsAnActionableErrorAndRunsNoUp) {
  Installed("NeedsLogin");
  v1::TailscaleUpRequest request = Request();
  request.clear_auth_key();

  absl::StatusOr<v1::TailscaleUpReply> reply = Up(request);

  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("needs login and no auth key was given"));
  EXPECT_THAT(reply.status().message(), HasSubstr("https://login.tailscale.com/a/1f2e3d4c5b6a"));
  for (const std::string& command : Commands()) EXPECT_THAT(command, Not(HasSubstr(" up ")));
}

TEST_F(TailscaleUpTest, MachineApprovalTimeoutAndARefusedKeyAreErrorsWithoutTheKey) {
  Installed("NeedsLogin");
  setenv("FAKE_TAILSCALE_UP", "machine-auth", 1);
  absl::StatusOr<v1::TailscaleUpReply> reply = Up(Request());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("approve the machine"));

  Installed("NeedsLogin");
  setenv("FAKE_TAILSCALE_UP", "timeout", 1);
  reply = Up(Request());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(reply.status().message(), HasSubstr("timeout waiting for Tailscale service"));

  setenv("FAKE_TAILSCALE_UP", "bad-key", 1);
  reply = Up(Request());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("invalid key"));
  EXPECT_FALSE(Exists(kTailscaleUpRecordPath));  // nothing recorded after a failed up
}

TEST_F(TailscaleUpTest, ARouteThatIsNotACidrIsRefusedBeforeAnythingRuns) {
  Installed("NeedsLogin");
  v1::TailscaleUpRequest request = Request();
  request.add_advertise_routes("10.1.2.3");

  absl::StatusOr<v1::TailscaleUpReply> reply = Up(request);

  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply.status().message(), HasSubstr("\"10.1.2.3\" is not a CIDR prefix"));
  EXPECT_THAT(Commands(), IsEmpty());
}

TEST_F(TailscaleUpTest, ADryRunSaysWhatWouldChangeAndRunsNoUp) {
  Installed("NeedsLogin");
  v1::TailscaleUpRequest request = Request();
  request.set_dry_run(true);

  absl::StatusOr<v1::TailscaleUpReply> reply = Up(request);

  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(Commands(), ElementsAre("tailscale status --json", "tailscale debug prefs"));
  EXPECT_TRUE(reply->ran_up());
  EXPECT_FALSE(reply->has_status());
  EXPECT_THAT(ChangedPaths(*reply), ElementsAre(kTailscaleSysctlPath, kTailscaleUpRecordPath));
  EXPECT_FALSE(Exists(kTailscaleSysctlPath));
  EXPECT_FALSE(Exists(kTailscaleUpRecordPath));
}

TEST_F(TailscaleUpTest, NotInstalledSaysToInstallFirst) {
  v1::TailscaleUpRequest request = Request();
  request.clear_advertise_routes();
  absl::StatusOr<v1::TailscaleUpReply> reply = Up(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("not installed"));
}

}  // namespace
}  // namespace sparkfleet
