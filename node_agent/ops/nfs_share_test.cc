#include "node_agent/ops/nfs_share.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/scripted_process_runner.h"

namespace sparkfleet {
namespace {

using ::sparkfleet::testing::ScriptedProcessRunner;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Argv = std::vector<std::string>;

v1::ConfigureNfsRequest Server() {
  v1::ConfigureNfsRequest request;
  request.set_role(v1::NFS_ROLE_SERVER);
  request.set_export_path("/srv/sparkfleet");
  request.add_export_clients("spark-002");
  request.add_export_clients("192.168.100.0/24");
  return request;
}

v1::ConfigureNfsRequest Client() {
  v1::ConfigureNfsRequest request;
  request.set_role(v1::NFS_ROLE_CLIENT);
  request.set_server_address("192.168.100.10");
  request.set_remote_path("/srv/sparkfleet");
  request.set_mount_point("/srv/sparkfleet");
  return request;
}

constexpr char kExports[] =
    "# Written by sparkfleet (spark-agent, ConfigureNfs): the cluster's shared directory.\n"
    "# Edits are overwritten by the next `sparkctl nfs`; change cluster.yaml instead.\n"
    "/srv/sparkfleet 192.168.100.0/24(rw,sync,no_subtree_check) "
    "spark-002(rw,sync,no_subtree_check)\n";

constexpr char kFstabLine[] =
    "192.168.100.10:/srv/sparkfleet /srv/sparkfleet nfs defaults,_netdev 0 0\n";

// The admin's fstab: comments, tabs, and no newline after the last line.
constexpr char kAdminFstab[] =
    "# /etc/fstab: static file system information.\n"
    "UUID=1234-abcd\t/\text4   errors=remount-ro 0  1\n"
    "/swap.img none swap sw 0 0";

TEST(NfsRender, ExportsFileAndFstabLine) {
  EXPECT_EQ(RenderNfsExports(Server()), kExports);
  EXPECT_EQ(RenderNfsFstabLine(Client()), kFstabLine);
  v1::ConfigureNfsRequest v6 = Client();
  v6.set_server_address("fd00::10");
  v6.set_mount_options("rw,vers=4.2");
  EXPECT_EQ(RenderNfsFstabLine(v6),
            "[fd00::10]:/srv/sparkfleet /srv/sparkfleet nfs rw,vers=4.2 0 0\n");
}

TEST(NfsRead, EtabAndProcMounts) {
  EXPECT_TRUE(EtabListsExport("/srv/a\t10.0.0.0/8(rw)\n/srv/sparkfleet\tspark-002(rw)\n",
                              "/srv/sparkfleet"));
  EXPECT_FALSE(EtabListsExport("/srv/sparkfleet2\tx(rw)\n", "/srv/sparkfleet"));
  EXPECT_EQ(MountedFrom("a /srv/x nfs4 rw 0 0\nb /srv/x nfs4 rw 0 0\n", "/srv/x"), "b");
  EXPECT_EQ(MountedFrom("a /srv/xy nfs4 rw 0 0\n", "/srv/x"), std::nullopt);
}

TEST(NfsValidation, RefusesWildcardsEscapesAndMixedRoles) {
  EXPECT_TRUE(ValidateConfigureNfsRequest(Server()).ok());
  EXPECT_TRUE(ValidateConfigureNfsRequest(Client()).ok());
  auto refused = [](const v1::ConfigureNfsRequest& request, const std::string& field) {
    absl::Status s = ValidateConfigureNfsRequest(request);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(s.message(), HasSubstr(field));
  };
  v1::ConfigureNfsRequest r = Server();
  r.add_export_clients("*");
  refused(r, "export_clients[2]");
  r = Server();
  r.set_export_path("/srv/../etc");
  refused(r, "export_path");
  r.set_export_path("/");
  refused(r, "export_path");
  r.set_export_path("srv/x");
  refused(r, "export_path");
  r = Server();
  r.set_export_options("rw) * (rw");
  refused(r, "export_options");
  r = Server();
  r.clear_export_clients();
  refused(r, "export_clients");
  r = Server();
  r.set_mount_point("/mnt");
  refused(r, "mount_point: is not used by the server role");
  r = Client();
  r.set_mount_options("defaults 0 0\n/dev/sda /");
  refused(r, "mount_options");
  r = Client();
  r.set_server_address("evil host");
  refused(r, "server_address");
  r = Client();
  r.set_role(v1::NFS_ROLE_UNSPECIFIED);
  refused(r, "role");
}

TEST(NfsValidation, RefusesSystemDirectoriesAndOptionsThatAreNotOptions) {
  auto refused = [](const v1::ConfigureNfsRequest& request, const std::string& field) {
    absl::Status s = ValidateConfigureNfsRequest(request);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(s.message(), HasSubstr(field));
  };
  for (const char* system : {"/etc", "/etc/passwd", "/root/x", "/usr/local/x", "/boot"}) {
    v1::ConfigureNfsRequest r = Server();
    r.set_export_path(system);
    refused(r, "export_path");
    r = Client();
    r.set_mount_point(system);
    refused(r, "mount_point");
  }
  for (const char* options : {"/etc/passwd", "-o", "rw,,sync", "x=../../y", "$(id)", "a=b;c"}) {
    v1::ConfigureNfsRequest r = Client();
    r.set_mount_options(options);
    refused(r, "mount_options");
  }
  v1::ConfigureNfsRequest r = Server();
  r.set_export_options("rw,sync,no_subtree_check,anonuid=1000,sec=krb5:sys");
  EXPECT_TRUE(ValidateConfigureNfsRequest(r).ok());
  r = Client();
  r.set_mount_options("defaults,_netdev,x-systemd.automount,vers=4.2");
  EXPECT_TRUE(ValidateConfigureNfsRequest(r).ok());
}

class ConfigureNfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/sparkfleet-nfs-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << pattern;
    root_ = pattern;
    std::filesystem::create_directories(root_ + "/etc");
    std::filesystem::create_directories(root_ + "/proc");
    std::filesystem::create_directories(root_ + "/var/lib/nfs");
    env_ = NewRootedEnv(root_);
    // Doubles that do what the real tools leave behind: etab and /proc/mounts entries.
    runner_.Script("exportfs", [this](const Argv&, const ProcessOptions&) {
      if (exportfs_fails_-- > 0)
        return Result(1,
                      "exportfs: /etc/exports.d/sparkfleet.exports:2: "
                      "unknown keyword \"bogus\"");
      std::string exports = env_->ReadFile(kNfsExportsPath).value_or("");
      Write("/var/lib/nfs/etab", exports.find("\n/srv/sparkfleet ") == std::string::npos
                                     ? ""
                                     : "/srv/sparkfleet\t192.168.100.0/24(rw)\n");
      return Result(0, "");
    });
    runner_.Script("mount", [this](const Argv& argv, const ProcessOptions&) {
      if (mount_fails_) return Result(32, "mount.nfs: Connection timed out");
      Write("/proc/mounts",
            absl::StrCat("192.168.100.10:/srv/sparkfleet ", argv[1], " nfs4 rw,relatime 0 0\n"));
      return Result(0, "");
    });
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static ProcessResult Result(int exit_code, const std::string& stderr_text) {
    ProcessResult result;
    result.exit_code = exit_code;
    result.stderr_text = stderr_text;
    return result;
  }
  void Write(const std::string& path, const std::string& text) {
    WriteOptions options;
    options.backup = false;
    ASSERT_TRUE(env_->WriteFileAtomic(path, text, options).ok());
  }
  absl::StatusOr<v1::ConfigureNfsReply> Configure(const v1::ConfigureNfsRequest& request) {
    return ConfigureNfs(*env_, runner_, request);
  }
  std::string Read(const std::string& path) { return env_->ReadFile(path).value_or("<missing>"); }

  std::string root_;
  std::unique_ptr<Env> env_;
  ScriptedProcessRunner runner_;
  int exportfs_fails_ = 0;
  bool mount_fails_ = false;
};

TEST_F(ConfigureNfsTest, ServerMakesTheDirectoryWritesTheExportAndReExports) {
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(Server());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(Read(kNfsExportsPath), kExports);
  EXPECT_TRUE(env_->Stat("/srv/sparkfleet")->is_dir);
  EXPECT_THAT(runner_.calls(), ElementsAre(Argv{"exportfs", "-ra"}));
  EXPECT_TRUE(reply->active());
  ASSERT_EQ(reply->changes_size(), 2);
  EXPECT_EQ(reply->changes(0).path(), kNfsExportsPath);
  EXPECT_TRUE(reply->changes(0).changed());
  EXPECT_EQ(reply->changes(1).path(), "/srv/sparkfleet");

  absl::StatusOr<v1::ConfigureNfsReply> again = Configure(Server());
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->changes_size(), 1);
  EXPECT_FALSE(again->changes(0).changed());
  EXPECT_TRUE(again->active());
  EXPECT_EQ(runner_.calls().size(), 1u);  // nothing run the second time
}

TEST_F(ConfigureNfsTest, ServerDryRunShowsTheDiffAndTouchesNothing) {
  v1::ConfigureNfsRequest request = Server();
  request.set_dry_run(true);
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr("+/srv/sparkfleet 192.168.100.0/24(rw,"));
  EXPECT_EQ(reply->changes(1).path(), "/srv/sparkfleet");
  EXPECT_FALSE(reply->active());
  EXPECT_TRUE(runner_.calls().empty());
  EXPECT_FALSE(env_->Exists("/etc/exports.d"));
  EXPECT_FALSE(env_->Exists("/srv/sparkfleet"));
}

TEST_F(ConfigureNfsTest, FailedExportfsPutsThePreviousFileBackAndReExports) {
  ASSERT_TRUE(env_->MakeDirs("/etc/exports.d", 0755).ok());
  const std::string previous = "# mine\n/srv/old  10.0.0.0/8(ro)";
  Write(kNfsExportsPath, previous);
  exportfs_fails_ = 1;
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(Server());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("`exportfs -ra` failed (exit status 1)"));
  EXPECT_THAT(reply.status().message(), HasSubstr("unknown keyword"));
  EXPECT_THAT(reply.status().message(), HasSubstr("was put back and `exportfs -ra` ran again"));
  EXPECT_EQ(Read(kNfsExportsPath), previous);
  EXPECT_THAT(runner_.calls(), ElementsAre(Argv{"exportfs", "-ra"}, Argv{"exportfs", "-ra"}));
}

TEST_F(ConfigureNfsTest, UnchangedFileNotExportedIsExportedAgain) {
  ASSERT_TRUE(Configure(Server()).ok());
  Write("/var/lib/nfs/etab", "");  // e.g. `exportfs -ua` since
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(Server());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(reply->changes(0).changed());
  EXPECT_TRUE(reply->active());
  EXPECT_EQ(runner_.calls().size(), 2u);
}

TEST_F(ConfigureNfsTest, ClientAddsTheFstabLineKeepsTheRestAndMounts) {
  Write(kFstabPath, kAdminFstab);
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(Client());
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(Read(kFstabPath),
            absl::StrCat(kAdminFstab, "\n# BEGIN sparkfleet\n", kFstabLine, "# END sparkfleet\n"));
  EXPECT_THAT(runner_.calls(), ElementsAre(Argv{"mount", "/srv/sparkfleet"}));
  EXPECT_TRUE(env_->Stat("/srv/sparkfleet")->is_dir);
  EXPECT_TRUE(reply->active());

  absl::StatusOr<v1::ConfigureNfsReply> again = Configure(Client());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->changes(0).changed());
  EXPECT_EQ(again->changes_size(), 1);
  EXPECT_TRUE(again->active());
  EXPECT_EQ(runner_.calls().size(), 1u);
}

TEST_F(ConfigureNfsTest, FailedMountPutsFstabBackByteForByte) {
  Write(kFstabPath, kAdminFstab);
  mount_fails_ = true;
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(Client());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(),
              HasSubstr("`mount /srv/sparkfleet` failed (exit status 32): mount.nfs: Connection "
                        "timed out; /etc/fstab was put back as it was"));
  EXPECT_EQ(Read(kFstabPath), kAdminFstab);
}

TEST_F(ConfigureNfsTest, ClientDryRunTouchesNothing) {
  Write(kFstabPath, kAdminFstab);
  v1::ConfigureNfsRequest request = Client();
  request.set_dry_run(true);
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->changes(0).diff(), HasSubstr(absl::StrCat("+", kFstabLine)));
  EXPECT_TRUE(runner_.calls().empty());
  EXPECT_EQ(Read(kFstabPath), kAdminFstab);
  EXPECT_FALSE(env_->Exists("/srv/sparkfleet"));
}

TEST_F(ConfigureNfsTest, MountPointInUseElsewhereIsRefusedBeforeAnyChange) {
  Write(kFstabPath, kAdminFstab);
  Write("/proc/mounts", "10.9.9.9:/export /srv/sparkfleet nfs4 rw 0 0\n");
  absl::StatusOr<v1::ConfigureNfsReply> reply = Configure(Client());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("is mounted from 10.9.9.9:/export"));
  Write("/proc/mounts", "");
  Write(kFstabPath, absl::StrCat(kAdminFstab, "\nnas:/x /srv/sparkfleet nfs defaults 0 0\n"));
  reply = Configure(Client());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reply.status().message(), HasSubstr("line 4 outside the sparkfleet block"));
  EXPECT_TRUE(runner_.calls().empty());
  EXPECT_FALSE(env_->Exists("/srv/sparkfleet"));
}

}  // namespace
}  // namespace sparkfleet
