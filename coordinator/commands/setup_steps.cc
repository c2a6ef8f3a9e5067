#include "coordinator/commands/setup_steps.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/env.h"
#include "common/process_runner.h"
#include "coordinator/render.h"
#include "coordinator/setup/cluster_key.h"
#include "coordinator/setup/setup_requests.h"

namespace sparkfleet {
namespace {

// netplan apply waits for the address and carrier (30 s on the agent); sshd -t and a
// reload, exportfs and mount take seconds. --timeout only ever raises these.
constexpr absl::Duration kKeysTimeout = absl::Seconds(30);
constexpr absl::Duration kSshTimeout = absl::Seconds(30);
constexpr absl::Duration kHostsTimeout = absl::Seconds(10);
constexpr absl::Duration kLinkTimeout = absl::Seconds(90);
constexpr absl::Duration kNfsTimeout = absl::Seconds(60);

template <typename Reply>
std::vector<v1::ChangeReport> Changes(const Reply& reply) {
  return {reply.changes().begin(), reply.changes().end()};
}

// Where a selected node is in cluster.yaml's `nodes`.
size_t ConfigIndex(const ClusterConfig& config, const ClusterNode& node) {
  for (size_t i = 0; i < config.nodes.size(); ++i) {
    if (config.nodes[i].hostname == node.hostname) return i;
  }
  return config.nodes.size();  // unreachable: selected nodes come from config.nodes
}

}  // namespace

const char* SetupStepTitle(SetupStep step) {
  switch (step) {
    case SetupStep::kKeys:
      return "KEYS";
    case SetupStep::kSsh:
      return "SSH";
    case SetupStep::kHosts:
      return "HOSTS";
    case SetupStep::kLink:
      return "LINK";
    case SetupStep::kNfs:
      return "NFS";
  }
  return "?";
}

SetupRun::SetupRun(ClusterSession& session, bool check, std::vector<SetupStep> steps)
    : session_(session), check_(check), steps_(std::move(steps)) {
  for (SetupStep step : steps_) recap_.steps.push_back(SetupStepTitle(step));
  for (const ClusterNode& node : session_.nodes) {
    NodeRecap& row = recap_.nodes.emplace_back();
    row.node = node.hostname;
    row.steps.resize(steps_.size());
  }
  alive_.assign(session_.nodes.size(), true);
}

StepOutcome& SetupRun::Cell(size_t node, SetupStep step) {
  size_t column = std::find(steps_.begin(), steps_.end(), step) - steps_.begin();
  return recap_.nodes[node].steps[column];
}

std::vector<size_t> SetupRun::Alive(SetupStep step) {
  std::vector<size_t> alive;
  for (size_t i = 0; i < alive_.size(); ++i) {
    if (alive_[i]) {
      alive.push_back(i);
    } else {
      Cell(i, step).state = StepState::kSkipped;
    }
  }
  return alive;
}

template <typename Request, typename Reply>
void SetupRun::RunStep(SetupStep step, const char* call, const std::vector<size_t>& targets,
                       absl::Duration min_timeout,
                       const std::function<Request(size_t)>& make_request,
                       const fanout_internal::StartCall<Request, Reply>& start) {
  std::vector<ClusterNode> nodes;
  for (size_t i : targets) nodes.push_back(session_.nodes[i]);
  FanOutOptions options = session_.fanout;
  options.timeout = std::max(options.timeout, min_timeout);
  options.progress_label = absl::AsciiStrToLower(SetupStepTitle(step));
  std::map<std::string, Request> requests;  // by hostname
  for (size_t i : targets) {
    Request& request = requests[session_.nodes[i].hostname] = make_request(i);
    request.set_dry_run(check_);
  }
  auto results = FanOut<Request, Reply>(
      *session_.channels, nodes, options,
      [&](const ClusterNode& node) { return requests.at(node.hostname); }, start);
  for (size_t j = 0; j < results.size(); ++j) {
    StepOutcome outcome = OutcomeOf(call, results[j].status, Changes(results[j].reply));
    outcome.duration = results[j].duration;
    if (results[j].status.ok()) outcome.result_json = MessageJson(results[j].reply);
    alive_[targets[j]] = results[j].status.ok();
    Cell(targets[j], step) = std::move(outcome);
  }
}

void SetupRun::CollectKeys(bool generate) {
  std::set<std::string> selected;
  std::vector<size_t> alive = Alive(SetupStep::kKeys);
  for (size_t i : alive) selected.insert(session_.nodes[i].hostname);
  const std::vector<ClusterNode>& everyone = session_.config.nodes;
  FanOutOptions options = session_.fanout;
  options.timeout = std::max(options.timeout, kKeysTimeout);
  options.progress_label = "keys";
  auto results = FanOut<v1::GenerateSshKeyRequest, v1::GenerateSshKeyReply>(
      *session_.channels, everyone, options,
      [&](const ClusterNode& node) {
        v1::GenerateSshKeyRequest request;
        request.set_user(node.user);
        request.set_dry_run(check_ || !generate || selected.count(node.hostname) == 0);
        return request;
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->GenerateSshKey(context, request, reply, std::move(done));
      });
  std::vector<std::string> missing;
  for (const auto& result : results) {
    if (result.status.ok()) {
      if (!result.reply.public_key().empty()) user_keys_[result.node] = result.reply.public_key();
      host_keys_[result.node] = {result.reply.host_public_keys().begin(),
                                 result.reply.host_public_keys().end()};
    } else if (selected.count(result.node) == 0) {
      missing.push_back(result.node);
    }
  }
  for (size_t i : alive) {
    const auto& result = results[ConfigIndex(session_.config, session_.nodes[i])];
    // A read-only collection (single-node) changes nothing, whatever the dry run says.
    bool read_only = !generate && !check_;
    StepOutcome outcome =
        OutcomeOf("GenerateSshKey", result.status,
                  read_only ? std::vector<v1::ChangeReport>() : Changes(result.reply));
    outcome.duration = result.duration;
    if (result.status.ok()) outcome.result_json = MessageJson(result.reply);
    alive_[i] = result.status.ok();
    Cell(i, SetupStep::kKeys) = std::move(outcome);
  }
  NoteKeyGaps(alive, missing, generate);
}

void SetupRun::NoteKeyGaps(const std::vector<size_t>& selected,
                           const std::vector<std::string>& unanswered, bool generate) {
  std::vector<std::string> keyless;
  for (size_t i : selected) {
    if (alive_[i] && user_keys_.count(session_.nodes[i].hostname) == 0) {
      keyless.push_back(session_.nodes[i].hostname);
    }
  }
  if (check_ && generate && !keyless.empty()) {
    AddNote(absl::StrCat("note: ", absl::StrJoin(keyless, ", "),
                         " have no user key yet; a real run makes them and authorizes them on "
                         "every node (not in these diffs)"));
  }
  if (!unanswered.empty()) {
    AddNote(absl::StrCat("note: ", absl::StrJoin(unanswered, ", "),
                         " (not selected) did not answer GenerateSshKey; their keys are left out "
                         "of the selected nodes' authorized_keys and known_hosts"));
  }
}

void SetupRun::ConfigureSsh(const std::string& cluster_public_key) {
  std::vector<size_t> alive = Alive(SetupStep::kSsh);
  absl::StatusOr<std::vector<std::string>> authorized =
      BuildAuthorizedKeys(session_.config, cluster_public_key, user_keys_);
  absl::StatusOr<std::vector<v1::KnownHost>> known = BuildKnownHosts(session_.config, host_keys_);
  absl::Status bad = !authorized.ok() ? authorized.status() : known.status();
  if (!bad.ok()) {
    for (size_t i : alive) {
      Cell(i, SetupStep::kSsh) = OutcomeOf("BuildSshRequest", bad, {});
      alive_[i] = false;
    }
    return;
  }
  RunStep<v1::ConfigureSshRequest, v1::ConfigureSshReply>(
      SetupStep::kSsh, "ConfigureSsh", alive, kSshTimeout,
      [&](size_t i) {
        return BuildSshRequest(session_.config, session_.nodes[i], *authorized, *known);
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->ConfigureSsh(context, request, reply, std::move(done));
      });
}

void SetupRun::ConfigureHosts() {
  v1::ConfigureHostsRequest request;
  for (v1::HostEntry& entry : BuildHostsEntries(session_.config)) {
    *request.add_entries() = std::move(entry);
  }
  RunStep<v1::ConfigureHostsRequest, v1::ConfigureHostsReply>(
      SetupStep::kHosts, "ConfigureHosts", Alive(SetupStep::kHosts), kHostsTimeout,
      [&](size_t) { return request; },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->ConfigureHosts(context, request, reply, std::move(done));
      });
}

void SetupRun::ConfigureLink() {
  RunStep<v1::ConfigureLinkRequest, v1::ConfigureLinkReply>(
      SetupStep::kLink, "ConfigureLink", Alive(SetupStep::kLink), kLinkTimeout,
      [&](size_t i) {
        return BuildLinkRequest(session_.config, ConfigIndex(session_.config, session_.nodes[i]));
      },
      [](auto* async, auto* context, auto* request, auto* reply, auto done) {
        async->ConfigureLink(context, request, reply, std::move(done));
      });
}

void SetupRun::ConfigureNfs() {
  NfsRequests requests = BuildNfsRequests(session_.config);
  std::vector<size_t> alive = Alive(SetupStep::kNfs);
  std::vector<size_t> server, clients;
  for (size_t i : alive) {
    (session_.nodes[i].hostname == requests.server ? server : clients).push_back(i);
  }
  auto start = [](auto* async, auto* context, auto* request, auto* reply, auto done) {
    async->ConfigureNfs(context, request, reply, std::move(done));
  };
  if (!server.empty()) {
    RunStep<v1::ConfigureNfsRequest, v1::ConfigureNfsReply>(
        SetupStep::kNfs, "ConfigureNfs", server, kNfsTimeout,
        [&](size_t) { return requests.server_request; }, start);
    if (!alive_[server.front()]) {
      for (size_t i : clients) Cell(i, SetupStep::kNfs).state = StepState::kSkipped;
      AddNote(absl::StrCat("note: the NFS server ", requests.server,
                           " failed, so no client mounted its export"));
      return;
    }
  }
  RunStep<v1::ConfigureNfsRequest, v1::ConfigureNfsReply>(
      SetupStep::kNfs, "ConfigureNfs", clients, kNfsTimeout,
      [&](size_t) { return requests.client_request; }, start);
}

absl::StatusOr<std::string> ClusterPublicKey(const ClusterConfig& config, bool check,
                                             SetupRun& run) {
  std::unique_ptr<Env> host = NewRootedEnv("/");
  std::unique_ptr<ProcessRunner> runner = NewPosixProcessRunner({});
  absl::StatusOr<ClusterKey> key =
      EnsureClusterKey(*host, *runner, config.ssh_key_path, config.cluster_name, !check);
  if (!key.ok()) return key.status();
  if (key->created) {
    run.AddNote(
        absl::StrCat("cluster key: made ", config.ssh_key_path, " (", key->public_key, ")"));
  }
  if (key->missing) {
    run.AddNote(absl::StrCat("cluster key: ", config.ssh_key_path,
                             " does not exist yet; a real run makes it (the diffs show a "
                             "placeholder, sparkfleet@...-not-made-yet, where it goes)"));
  }
  return key->public_key;
}

}  // namespace sparkfleet
