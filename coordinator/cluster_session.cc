#include "coordinator/cluster_session.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/tls.h"

namespace sparkfleet {

absl::StatusOr<std::vector<ClusterNode>> SelectNodes(const ClusterConfig& config,
                                                     const std::vector<std::string>& limit) {
  if (limit.empty()) return config.nodes;
  absl::flat_hash_set<std::string> wanted;
  for (const std::string& entry : limit) {
    for (absl::string_view name : absl::StrSplit(entry, ',', absl::SkipEmpty())) {
      wanted.insert(std::string(name));
    }
  }
  std::vector<ClusterNode> selected;
  std::vector<std::string> known;
  for (const ClusterNode& node : config.nodes) {
    known.push_back(node.hostname);
    if (wanted.erase(node.hostname) > 0) selected.push_back(node);
  }
  if (!wanted.empty()) {
    std::vector<std::string> unknown(wanted.begin(), wanted.end());
    std::sort(unknown.begin(), unknown.end());
    return absl::InvalidArgumentError(absl::StrCat(
        "--limit names ", absl::StrJoin(unknown, ", "), ", which is not a node of cluster ",
        config.cluster_name, " (nodes: ", absl::StrJoin(known, ", "), ")"));
  }
  return selected;
}

absl::StatusOr<ClusterSession> OpenCluster(const GlobalOptions& globals) {
  if (globals.timeout_s <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout ", globals.timeout_s, " must be a positive number of seconds"));
  }
  if (globals.parallel < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--parallel ", globals.parallel, " must be at least 1"));
  }
  ClusterSession session;
  absl::StatusOr<ClusterConfig> config = LoadClusterConfig(globals.config_path);
  if (!config.ok()) return config.status();
  session.config = *std::move(config);
  session.config_path = globals.config_path;
  absl::StatusOr<std::vector<ClusterNode>> nodes = SelectNodes(session.config, globals.limit);
  if (!nodes.ok()) return nodes.status();
  session.nodes = *std::move(nodes);

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!session.config.insecure) {
    TlsFiles files{session.config.tls_ca, session.config.tls_cert, session.config.tls_key};
    if (files.ca.empty() || files.cert.empty() || files.key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          globals.config_path,
          ": agent.tls {ca, cert, key} is required to reach the agents over mTLS (make them "
          "with `sparkctl pki init` and `sparkctl pki issue --client NAME --role admin`)"));
    }
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> made = MakeClientCredentials(files);
    if (!made.ok()) return made.status();
    credentials = *made;
  }
  session.channels = std::make_shared<AgentChannels>(std::move(credentials));
  session.fanout.timeout = absl::Seconds(globals.timeout_s);
  session.fanout.parallel = globals.parallel;
  return session;
}

int UsageError(CommandContext& context, const absl::Status& status) {
  *context.err << "sparkctl: " << status.message() << "\n";
  context.exit_code = kExitUsageError;
  return kExitUsageError;
}

}  // namespace sparkfleet
