#include "coordinator/validate/validation_run.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/validate/validation_input.h"
#include "coordinator/validate/validation_runner.h"

namespace sparkfleet {
namespace validate_internal {

void ValidationRunner::Emit(v1::CheckResult check, absl::Duration duration) {
  check.set_duration_ms(absl::ToInt64Milliseconds(duration));
  if (on_check_) on_check_(check);
  checks_.push_back(std::move(check));
}

v1::CheckResult ValidationRunner::PairCheck(v1::ValidateTest test, const NodePair& pair) const {
  return NewCheck(test, Name(pair.from), Name(pair.to), address_[pair.to]);
}

bool ValidationRunner::FailIfUnusable(v1::CheckResult& check, const NodePair& pair,
                                      bool needs_target_agent) {
  for (int node : {pair.from, pair.to}) {
    bool agent_needed = node == pair.from || needs_target_agent;
    if (agent_needed && unreachable_[node].has_value()) {
      FailCheck(check,
                absl::StrCat("the agent of ", Name(node), " did not answer earlier in this run"),
                *unreachable_[node]);
      return true;
    }
    if (!address_problem_[node].empty()) {
      FailCheck(check, address_problem_[node]);
      return true;
    }
  }
  return false;
}

void ValidationRunner::RunProbes() {
  std::vector<int> all;
  for (int i = 0; i < n_; ++i) all.push_back(i);
  auto results = Call<v1::ProbeRequest, v1::ProbeReply>(
      all, setup_.timeout, "validate: probe", [](int) { return v1::ProbeRequest(); },
      [](auto* async, auto* ctx, auto* request, auto* reply, auto done) {
        async->Probe(ctx, request, reply, std::move(done));
      });
  for (int i = 0; i < n_; ++i) {
    if (results[i].status.ok()) {
      probes_[i] = std::move(results[i].reply);
    } else {
      probes_[i] = results[i].status;
    }
  }
}

void ValidationRunner::ResolveAddresses() {
  const std::string& interface = setup_.request.interface();
  for (int i = 0; i < n_; ++i) {
    if (interface.empty()) {
      address_[i] = setup_.nodes[i].ip;
      continue;
    }
    const absl::StatusOr<v1::ProbeReply>& probe = *probes_[i];
    absl::StatusOr<std::string> address =
        probe.ok() ? InterfaceAddress(*probe, interface) : probe.status();
    if (address.ok()) {
      address_[i] = *address;
    } else {
      address_problem_[i] = absl::StrCat("no address of ", Name(i), " on interface ", interface,
                                         ": ", address.status().message());
    }
  }
}

std::map<int, std::vector<NodePair>> ValidationRunner::BySource(
    v1::ValidateTest test, const std::vector<NodePair>& pairs) {
  std::map<int, std::vector<NodePair>> by_source;
  for (const NodePair& pair : pairs) {
    v1::CheckResult check = PairCheck(test, pair);
    if (FailIfUnusable(check, pair, /*needs_target_agent=*/false)) {
      Emit(std::move(check), absl::ZeroDuration());
    } else {
      by_source[pair.from].push_back(pair);
    }
  }
  return by_source;
}

void ValidationRunner::RunPing(const std::vector<NodePair>& pairs) {
  std::map<int, std::vector<NodePair>> by_source = BySource(v1::VALIDATE_TEST_PING, pairs);
  std::vector<int> sources;
  for (const auto& [source, unused] : by_source) sources.push_back(source);
  absl::Duration timeout =
      setup_.timeout +
      absl::Milliseconds(kValidatePingCount * kValidatePingIntervalMs + kValidatePingTimeoutMs) +
      absl::Seconds(2);
  auto results = Call<v1::PingRequest, v1::PingReply>(
      sources, timeout, "validate: ping",
      [&](int source) {
        v1::PingRequest request;
        for (const NodePair& pair : by_source[source]) request.add_targets(address_[pair.to]);
        request.set_interface(setup_.request.interface());
        request.set_count(kValidatePingCount);
        request.set_interval_ms(kValidatePingIntervalMs);
        request.set_timeout_ms(kValidatePingTimeoutMs);
        return request;
      },
      [](auto* async, auto* ctx, auto* request, auto* reply, auto done) {
        async->Ping(ctx, request, reply, std::move(done));
      });
  for (size_t k = 0; k < sources.size(); ++k) {
    const std::vector<NodePair>& mine = by_source[sources[k]];
    for (size_t j = 0; j < mine.size(); ++j) {
      v1::CheckResult check = PairCheck(v1::VALIDATE_TEST_PING, mine[j]);
      if (!results[k].status.ok()) {
        FailCheck(check, absl::StrCat("ping from ", Name(sources[k]), " could not run"),
                  results[k].status);
      } else if (static_cast<int>(j) >= results[k].reply.results_size()) {
        FailCheck(check, absl::StrCat("the agent of ", Name(sources[k]),
                                      " answered without a result for ", address_[mine[j].to]));
      } else {
        JudgePing(results[k].reply.results(static_cast<int>(j)), setup_.thresholds, check);
      }
      Emit(std::move(check), results[k].duration);
    }
  }
}

void ValidationRunner::RunSsh(const std::vector<NodePair>& pairs) {
  std::map<int, std::vector<NodePair>> by_source = BySource(v1::VALIDATE_TEST_SSH, pairs);
  std::vector<int> sources;
  for (const auto& [source, unused] : by_source) sources.push_back(source);
  // The agent tries up to 32 targets at once; each try ends within its connect timeout
  // plus ssh's own slack.
  size_t most = 0;
  for (const auto& [source, mine] : by_source) most = std::max(most, mine.size());
  absl::Duration timeout = setup_.timeout + static_cast<int64_t>((most + 31) / 32) *
                                                absl::Seconds(kValidateSshConnectTimeoutS + 10);
  auto results = Call<v1::CheckSshRequest, v1::CheckSshReply>(
      sources, timeout, "validate: ssh",
      [&](int source) {
        v1::CheckSshRequest request;
        request.set_user(setup_.nodes[source].user);
        request.set_connect_timeout_s(kValidateSshConnectTimeoutS);
        for (const NodePair& pair : by_source[source]) {
          v1::SshTarget* target = request.add_targets();
          target->set_host(address_[pair.to]);
          target->set_user(setup_.nodes[pair.to].user);
        }
        return request;
      },
      [](auto* async, auto* ctx, auto* request, auto* reply, auto done) {
        async->CheckSsh(ctx, request, reply, std::move(done));
      });
  for (size_t k = 0; k < sources.size(); ++k) {
    const std::vector<NodePair>& mine = by_source[sources[k]];
    for (size_t j = 0; j < mine.size(); ++j) {
      v1::CheckResult check = PairCheck(v1::VALIDATE_TEST_SSH, mine[j]);
      if (!results[k].status.ok()) {
        FailCheck(check, absl::StrCat("ssh check from ", Name(sources[k]), " could not run"),
                  results[k].status);
      } else if (static_cast<int>(j) >= results[k].reply.results_size()) {
        FailCheck(check, absl::StrCat("the agent of ", Name(sources[k]),
                                      " answered without a result for ", address_[mine[j].to]));
      } else {
        JudgeSsh(results[k].reply.results(static_cast<int>(j)), setup_.thresholds, check);
      }
      Emit(std::move(check), results[k].duration);
    }
  }
}

void ValidationRunner::RunGpu() {
  for (int i = 0; i < n_; ++i) {
    v1::CheckResult check = NewCheck(v1::VALIDATE_TEST_GPU, Name(i), "", "");
    const absl::StatusOr<v1::ProbeReply>& probe = *probes_[i];
    if (probe.ok()) {
      JudgeGpu(*probe, check);
    } else {
      FailCheck(check, absl::StrCat("probe of ", Name(i), " failed"), probe.status());
    }
    Emit(std::move(check), absl::ZeroDuration());
  }
}

ValidationReport ValidationRunner::Run() {
  absl::Time start = absl::Now();
  ValidationReport report;
  for (const ClusterNode& node : setup_.nodes) report.nodes.push_back(node.hostname);
  report.tests = SelectedTests(setup_.request, setup_.thresholds);
  report.thresholds = setup_.thresholds;
  report.interface = setup_.request.interface();
  report.bandwidth_duration_s = setup_.request.bandwidth_duration_s() == 0
                                    ? kValidateDefaultDurationS
                                    : setup_.request.bandwidth_duration_s();
  report.parallel_streams = std::max<uint32_t>(1, setup_.request.parallel_streams());
  auto wants = [&](v1::ValidateTest test) {
    return std::find(report.tests.begin(), report.tests.end(), test) != report.tests.end();
  };
  if (!report.interface.empty() || wants(v1::VALIDATE_TEST_GPU) || wants(v1::VALIDATE_TEST_RDMA)) {
    RunProbes();
  }
  ResolveAddresses();
  std::vector<NodePair> pairs = SelectPairs(
      n_, setup_.request.pairs(), static_cast<int>(setup_.request.sample_k()), setup_.seed);
  // Cheap checks first: they find dead agents before the long bandwidth rounds.
  if (wants(v1::VALIDATE_TEST_PING) && !Cancelled()) RunPing(pairs);
  if (wants(v1::VALIDATE_TEST_SSH) && !Cancelled()) RunSsh(pairs);
  if (wants(v1::VALIDATE_TEST_BANDWIDTH) && !Cancelled()) {
    RunBandwidth(v1::VALIDATE_TEST_BANDWIDTH, pairs);
  }
  if (wants(v1::VALIDATE_TEST_RDMA) && !Cancelled()) RunBandwidth(v1::VALIDATE_TEST_RDMA, pairs);
  if (wants(v1::VALIDATE_TEST_GPU) && !Cancelled()) RunGpu();
  report.checks = std::move(checks_);
  report.summary = Summarize(report.checks, absl::Now() - start);
  return report;
}

}  // namespace validate_internal

ValidationReport RunValidation(AgentChannels& channels, const ValidationSetup& setup,
                               const std::function<void(const v1::CheckResult&)>& on_check) {
  return validate_internal::ValidationRunner(channels, setup, on_check).Run();
}

}  // namespace sparkfleet
