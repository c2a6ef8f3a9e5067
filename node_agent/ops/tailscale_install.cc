#include "node_agent/ops/tailscale_install.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/unified_diff.h"
#include "node_agent/info/os_release.h"
#include "node_agent/ops/file_edit.h"
#include "node_agent/ops/install_steps.h"

namespace sparkfleet {
namespace {

constexpr char kPackageServer[] = "https://pkgs.tailscale.com/stable";
constexpr char kCacheDir[] = "/var/cache/sparkfleet";
constexpr size_t kMaxKeyringBytes = 64 << 10;
constexpr size_t kMaxListBytes = 4 << 10;

bool IsCodename(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// A sources list holds `deb` lines, comments and blank lines only.
absl::Status CheckSourcesList(absl::string_view text) {
  if (text.empty() || text.size() > kMaxListBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the Tailscale sources list must hold 1..", kMaxListBytes, " bytes"));
  }
  bool has_deb = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    // A deb line is options, a URI, a suite and components: nothing apt or a shell
    // would read as anything else.
    const bool plain = std::all_of(line.begin(), line.end(), [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
             absl::StrContains(" []=/:._-+~,@%", c);
    });
    if (!absl::StartsWith(line, "deb ") || !plain) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the Tailscale sources list has line \"", absl::CHexEscape(line.substr(0, 80)),
          "\"; expected only `deb ...` lines ([options] URI suite components) of letters, "
          "digits and \"[ ] = / : . _ - + ~ , @ %\""));
    }
    has_deb = true;
  }
  if (!has_deb) return absl::InvalidArgumentError("the Tailscale sources list has no `deb` line");
  return absl::OkStatus();
}

std::string ParentOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

class Installer {
 public:
  Installer(const TailscaleNode& node, const v1::InstallTailscaleRequest& request,
            const InstallTailscaleEmit& emit, const std::function<bool()>& cancelled)
      : node_(node),
        request_(request),
        emit_(emit),
        steps_(
            node.runner, node.node_name, "InstallTailscale",
            [&emit](v1::InstallStep step) {
              v1::InstallTailscaleEvent event;
              *event.mutable_step() = std::move(step);
              emit(std::move(event));
            },
            cancelled) {}

  absl::Status Run() {
    std::optional<std::string> version = InstalledTailscaleVersion(node_.env);
    const std::string& pin = request_.version();
    installed_ = version.has_value() && (pin.empty() || *version == pin);
    absl::StatusOr<std::string> os_release = node_.env.ReadFile("/etc/os-release");
    absl::StatusOr<TailscaleRepo> repo = TailscaleRepoFor(os_release.ok() ? *os_release : "");
    if (!repo.ok()) return steps_.Fail("check", repo.status());
    steps_.Step("check",
                installed_ ? v1::INSTALL_STEP_STATE_UNCHANGED : v1::INSTALL_STEP_STATE_CHANGED,
                installed_ ? absl::StrCat("tailscale ", *version, " is installed")
                           : absl::StrCat("tailscale ", pin.empty() ? "" : pin + " ",
                                          "is not installed; using Tailscale's ", repo->distro, "/",
                                          repo->codename, " repository"));
    const v1::TailscaleAptSource& source = request_.apt_source();
    if (absl::Status s = RepoFile("apt-keyring", kTailscaleKeyringPath, repo->KeyringUrl(),
                                  source.keyring_gpg(), /*binary=*/true);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = RepoFile("apt-source", kTailscaleListPath, repo->ListUrl(),
                                  source.sources_list(), /*binary=*/false);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Packages(); !s.ok()) return s;
    if (absl::Status s = Daemon(); !s.ok()) return s;
    v1::InstallTailscaleEvent event;
    v1::InstallTailscaleResult* result = event.mutable_result();
    *result->mutable_changes() = {changes_.begin(), changes_.end()};
    result->set_version(request_.dry_run() && !installed_
                            ? pin
                            : InstalledTailscaleVersion(node_.env).value_or(""));
    result->set_installed_now(!installed_);
    result->set_daemon_running(daemon_running_);
    emit_(std::move(event));
    return absl::OkStatus();
  }

 private:
  // Makes `path` hold `bytes`, or the file at `url` when `bytes` is empty (a file that
  // is already there is then kept).
  absl::Status RepoFile(absl::string_view step, const std::string& path, const std::string& url,
                        std::string bytes, bool binary) {
    if (bytes.empty()) {
      absl::StatusOr<FileInfo> info = node_.env.Stat(path);
      if (info.ok() && info->size_bytes > 0) {
        Report(step, Unchanged(path), absl::StrCat(path, " is present"));
        return absl::OkStatus();
      }
      if (request_.dry_run()) {
        Report(step, NewFile(path, "", binary), absl::StrCat("would download ", url));
        return absl::OkStatus();
      }
      absl::StatusOr<std::string> fetched = Download(step, url, path);
      if (!fetched.ok()) return fetched.status();
      bytes = *std::move(fetched);
      if (!binary) {
        if (absl::Status s = CheckSourcesList(bytes); !s.ok()) {
          return steps_.Fail(step, absl::UnavailableError(absl::StrCat(
                                       url, " did not serve a sources list: ", s.message())));
        }
      }
    }
    if (request_.dry_run() && !node_.env.Exists(ParentOf(path))) {
      Report(step, NewFile(path, bytes, binary), absl::StrCat("would write ", path));
      return absl::OkStatus();
    }
    if (!request_.dry_run()) {
      if (absl::Status s = node_.env.MakeDirs(ParentOf(path), 0755); !s.ok()) {
        return steps_.Fail(step, s);
      }
    }
    FileEdit edit;
    edit.path = path;
    edit.content = bytes;
    edit.redact_diff = binary;
    absl::StatusOr<v1::ChangeReport> change = ApplyFileEdit(node_.env, edit, request_.dry_run());
    if (!change.ok()) return steps_.Fail(step, change.status());
    Report(step, *change,
           absl::StrCat(change->changed() ? (request_.dry_run() ? "would write " : "wrote ") : "",
                        path, change->changed() ? "" : " is up to date"));
    return absl::OkStatus();
  }

  // Fetches `url` into the cache directory, reads it and removes the download.
  absl::StatusOr<std::string> Download(absl::string_view step, const std::string& url,
                                       const std::string& path) {
    if (absl::Status s = node_.env.MakeDirs(kCacheDir, 0755); !s.ok()) return steps_.Fail(step, s);
    std::string download = absl::StrCat(kCacheDir, path.substr(path.rfind('/')));
    absl::Status fetched =
        steps_.Fetch(step, url, node_.env.HostPath(download), absl::Seconds(120));
    absl::StatusOr<std::string> bytes =
        fetched.ok() ? node_.env.ReadFile(download) : absl::StatusOr<std::string>(fetched);
    (void)node_.env.RemoveFile(download);
    if (!fetched.ok()) return fetched;
    if (!bytes.ok() || bytes->empty() || bytes->size() > kMaxKeyringBytes) {
      return steps_.Fail(step, absl::UnavailableError(
                                   absl::StrCat(url, " gave no usable file on ", node_.node_name)));
    }
    return bytes;
  }

  v1::ChangeReport Unchanged(const std::string& path) {
    v1::ChangeReport report;
    report.set_path(path);
    return report;
  }

  v1::ChangeReport NewFile(const std::string& path, const std::string& bytes, bool binary) {
    v1::ChangeReport report;
    report.set_path(path);
    report.set_changed(true);
    if (!bytes.empty() && !binary) report.set_diff(UnifiedDiff("", bytes, "/dev/null", path));
    return report;
  }

  void Report(absl::string_view step, v1::ChangeReport change, absl::string_view message) {
    steps_.Step(
        step, change.changed() ? v1::INSTALL_STEP_STATE_CHANGED : v1::INSTALL_STEP_STATE_UNCHANGED,
        message);
    changes_.push_back(std::move(change));
  }

  absl::Status Packages() {
    std::vector<std::string> install = {"apt-get", "install", "-y"};
    if (!request_.version().empty()) install.push_back("--allow-downgrades");
    install.push_back(request_.version().empty() ? "tailscale" : "tailscale=" + request_.version());
    if (installed_) {
      steps_.Step("apt-update", v1::INSTALL_STEP_STATE_UNCHANGED, "tailscale is installed");
      steps_.Step("apt-install", v1::INSTALL_STEP_STATE_UNCHANGED, "tailscale is installed");
      return absl::OkStatus();
    }
    if (request_.dry_run()) {
      steps_.Step("apt-update", v1::INSTALL_STEP_STATE_CHANGED, "would run: apt-get update");
      steps_.Step("apt-install", v1::INSTALL_STEP_STATE_CHANGED,
                  absl::StrCat("would run: ", absl::StrJoin(install, " ")));
      return absl::OkStatus();
    }
    if (absl::Status s = steps_.Tool("apt-update", {"apt-get", "update"}, absl::Minutes(10),
                                     absl::StatusCode::kUnavailable);
        !s.ok()) {
      return s;
    }
    steps_.Step("apt-update", v1::INSTALL_STEP_STATE_CHANGED, "package lists updated");
    if (absl::Status s = steps_.Tool("apt-install", install, absl::Minutes(15),
                                     absl::StatusCode::kFailedPrecondition);
        !s.ok()) {
      return s;
    }
    steps_.Step("apt-install", v1::INSTALL_STEP_STATE_CHANGED,
                absl::StrCat("tailscale ", InstalledTailscaleVersion(node_.env).value_or(""),
                             " installed"));
    return absl::OkStatus();
  }

  bool Succeeds(const std::vector<std::string>& argv) {
    ProcessOptions options;
    options.timeout = absl::Seconds(30);
    absl::StatusOr<ProcessResult> result = node_.runner.Run(argv, options);
    return result.ok() && result->ok();
  }

  absl::Status Daemon() {
    const std::vector<std::string> enable = {"systemctl", "enable", "--now", "tailscaled"};
    bool running = (!request_.dry_run() || installed_) &&
                   Succeeds({"systemctl", "is-enabled", "tailscaled"}) &&
                   Succeeds({"systemctl", "is-active", "tailscaled"});
    daemon_running_ = true;  // after this step, or would be after a dry run
    if (running) {
      steps_.Step("tailscaled", v1::INSTALL_STEP_STATE_UNCHANGED,
                  "tailscaled is enabled and active");
      return absl::OkStatus();
    }
    if (request_.dry_run()) {
      steps_.Step("tailscaled", v1::INSTALL_STEP_STATE_CHANGED,
                  absl::StrCat("would run: ", absl::StrJoin(enable, " ")));
      return absl::OkStatus();
    }
    if (absl::Status s = steps_.Tool("tailscaled", enable, absl::Minutes(2),
                                     absl::StatusCode::kFailedPrecondition);
        !s.ok()) {
      return s;
    }
    daemon_running_ = Succeeds({"systemctl", "is-active", "tailscaled"});
    steps_.Step("tailscaled", v1::INSTALL_STEP_STATE_CHANGED,
                daemon_running_ ? "tailscaled enabled and started"
                                : "tailscaled enabled but not active; see `journalctl -u "
                                  "tailscaled`");
    return absl::OkStatus();
  }

  const TailscaleNode& node_;
  const v1::InstallTailscaleRequest& request_;
  const InstallTailscaleEmit& emit_;
  InstallSteps steps_;
  bool installed_ = false;
  bool daemon_running_ = false;
  std::vector<v1::ChangeReport> changes_;
};

}  // namespace

std::string TailscaleRepo::KeyringUrl() const {
  return absl::StrCat(kPackageServer, "/", distro, "/", codename, ".noarmor.gpg");
}

std::string TailscaleRepo::ListUrl() const {
  return absl::StrCat(kPackageServer, "/", distro, "/", codename, ".tailscale-keyring.list");
}

absl::StatusOr<TailscaleRepo> TailscaleRepoFor(absl::string_view os_release) {
  auto fields = ParseOsRelease(os_release);
  std::vector<std::string> like = absl::StrSplit(fields["ID_LIKE"], ' ', absl::SkipEmpty());
  auto is = [&](const char* distro) {
    return fields["ID"] == distro || std::find(like.begin(), like.end(), distro) != like.end();
  };
  TailscaleRepo repo;
  if (is("ubuntu")) {
    repo.distro = "ubuntu";
    repo.codename =
        fields["UBUNTU_CODENAME"].empty() ? fields["VERSION_CODENAME"] : fields["UBUNTU_CODENAME"];
  } else if (is("debian")) {
    repo.distro = "debian";
    repo.codename = fields["VERSION_CODENAME"];
  } else {
    return absl::FailedPreconditionError(absl::StrCat(
        "sparkfleet installs Tailscale from its apt repository for Ubuntu and Debian; this node "
        "is \"",
        fields["ID"].empty() ? "unknown" : fields["ID"],
        "\" (/etc/os-release ID). Install Tailscale by hand (https://tailscale.com/download), "
        "then run `sparkctl tailscale` again"));
  }
  if (!IsCodename(repo.codename)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "/etc/os-release names no ", repo.distro,
        " release codename (UBUNTU_CODENAME / VERSION_CODENAME); cannot pick Tailscale's "
        "repository"));
  }
  return repo;
}

absl::Status ValidateInstallTailscaleRequest(const v1::InstallTailscaleRequest& request) {
  const std::string& version = request.version();
  for (char c : version) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && !absl::StrContains(".+:~-", c)) {
      return absl::InvalidArgumentError(absl::StrCat("version \"", absl::CHexEscape(version),
                                                     "\" is not an apt package version (1.80.2)"));
    }
  }
  if (version.size() > 64 || (!version.empty() && !absl::ascii_isdigit(version[0]))) {
    return absl::InvalidArgumentError(absl::StrCat("version \"", absl::CHexEscape(version),
                                                   "\" is not an apt package version (1.80.2)"));
  }
  const v1::TailscaleAptSource& source = request.apt_source();
  if (source.keyring_gpg().empty() != source.sources_list().empty()) {
    return absl::InvalidArgumentError(
        "apt_source needs both keyring_gpg and sources_list (or neither, to download them)");
  }
  if (source.keyring_gpg().size() > kMaxKeyringBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("apt_source.keyring_gpg is ", source.keyring_gpg().size(), " bytes; at most ",
                     kMaxKeyringBytes, " (Tailscale's <codename>.noarmor.gpg)"));
  }
  if (source.sources_list().empty()) return absl::OkStatus();
  if (absl::Status s = CheckSourcesList(source.sources_list()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("apt_source.sources_list: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status InstallTailscale(const TailscaleNode& node, const v1::InstallTailscaleRequest& request,
                              const InstallTailscaleEmit& emit,
                              const std::function<bool()>& cancelled) {
  if (absl::Status s = ValidateInstallTailscaleRequest(request); !s.ok()) return s;
  Installer installer(node, request, emit, cancelled);
  return installer.Run();
}

}  // namespace sparkfleet
