#include "coordinator/commands/pki_command.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "common/roles.h"
#include "coordinator/pki.h"

namespace sparkfleet {
namespace {

struct PkiOptions {
  std::string dir;
  std::string node;
  std::string client;
  std::string role;
  std::vector<std::string> ips;
  std::vector<std::string> dns_names;
  int days = kDefaultValidityDays;
};

// Reports a failure the way every sparkctl command does.
void Fail(CommandContext& context, const absl::Status& status) {
  *context.err << "sparkctl pki: " << status.message() << "\n";
  context.exit_code = kExitUsageError;
}

void RunInit(const PkiOptions& options, CommandContext& context) {
  if (absl::Status s = InitCa(options.dir); !s.ok()) return Fail(context, s);
  *context.out << "created the cluster CA: " << CertificatePath(options.dir, kCaName) << " and "
               << PrivateKeyPath(options.dir, kCaName) << " (ECDSA P-256, valid " << kCaValidityDays
               << " days); keep the key secret\n";
  context.exit_code = kExitOk;
}

// Exactly one of --node / --client; --ip only with --node, --role only (and always)
// with --client. Checked here rather than with CLI11's needs/excludes so that every
// mistake gets a message that says what to type.
absl::Status CheckIssueFlags(const PkiOptions& options) {
  if (options.node.empty() == options.client.empty()) {
    return absl::InvalidArgumentError(
        "pki issue: give exactly one of --node NAME (an agent) or --client NAME (a client)");
  }
  if (!options.client.empty() && !options.ips.empty()) {
    return absl::InvalidArgumentError("pki issue: --ip applies to --node certificates only");
  }
  if (!options.client.empty() && !options.dns_names.empty()) {
    return absl::InvalidArgumentError("pki issue: --dns applies to --node certificates only");
  }
  if (!options.node.empty() && !options.role.empty()) {
    return absl::InvalidArgumentError(
        "pki issue: --role applies to --client certificates only; agents have no role");
  }
  if (!options.client.empty() && options.role.empty()) {
    return absl::InvalidArgumentError("pki issue: --client needs --role admin or --role reader");
  }
  return absl::OkStatus();
}

void RunIssue(const PkiOptions& options, CommandContext& context) {
  if (absl::Status s = CheckIssueFlags(options); !s.ok()) return Fail(context, s);
  const std::string& name = options.node.empty() ? options.client : options.node;
  std::string what;
  if (!options.node.empty()) {
    absl::Status s = IssueNodeCertificate(options.dir, options.node, options.ips, options.days,
                                          options.dns_names);
    if (!s.ok()) return Fail(context, s);
    what = "node certificate for " + options.node;
    if (!options.ips.empty()) what += ", addresses " + absl::StrJoin(options.ips, ", ");
  } else {
    absl::StatusOr<Role> role = ParseRole(options.role);
    if (!role.ok()) return Fail(context, role.status());
    absl::Status s = IssueClientCertificate(options.dir, options.client, *role, options.days);
    if (!s.ok()) return Fail(context, s);
    what = "client certificate for " + options.client + ", role " + std::string(RoleName(*role));
  }
  *context.out << "wrote " << CertificatePath(options.dir, name) << " and "
               << PrivateKeyPath(options.dir, name) << " (" << what << ", valid " << options.days
               << " days)\n";
  context.exit_code = kExitOk;
}

}  // namespace

void RegisterPkiCommand(CLI::App& app, CommandContext& context) {
  // Shared by the callbacks, which CLI11 keeps as long as `app`.
  auto options = std::make_shared<PkiOptions>();
  CLI::App* pki = app.add_subcommand("pki", "Make the cluster CA and issue certificates");
  pki->require_subcommand(1);

  CLI::App* init = pki->add_subcommand("init", "Create a cluster CA in DIR (ca.crt, ca.key)");
  init->add_option("--dir", options->dir, "Directory for the CA (created 0700)")->required();
  init->callback([options, &context] { RunInit(*options, context); });

  CLI::App* issue = pki->add_subcommand("issue", "Issue a node or client certificate");
  issue->add_option("--dir", options->dir, "Directory holding the CA")->required();
  issue->add_option("--node", options->node, "Agent certificate for node NAME");
  issue->add_option("--client", options->client, "Client certificate for NAME");
  issue->add_option("--ip", options->ips, "An address of the node (repeatable)");
  issue->add_option("--dns", options->dns_names,
                    "Another DNS name of the node, e.g. its FQDN (repeatable)");
  issue->add_option("--role", options->role, "Role of a client certificate: admin or reader");
  issue->add_option("--days", options->days, "Validity in days")
      ->check(CLI::Range(1, kMaxValidityDays));
  issue->callback([options, &context] { RunIssue(*options, context); });
}

}  // namespace sparkfleet
