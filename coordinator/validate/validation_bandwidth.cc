// The bandwidth rounds of a validation run: iperf3 (bandwidth) and ib_write_bw (rdma),
// in ScheduleRounds' rounds, BandwidthServe on the receivers then BandwidthTest on the
// senders.
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/validate.h"
#include "coordinator/validate/validation_runner.h"

namespace sparkfleet::validate_internal {
namespace {

v1::BandwidthTool ToolOf(v1::ValidateTest test) {
  return test == v1::VALIDATE_TEST_RDMA ? v1::BANDWIDTH_TOOL_IB_WRITE_BW
                                        : v1::BANDWIDTH_TOOL_IPERF3;
}

}  // namespace

void ValidationRunner::RunBandwidth(v1::ValidateTest test, const std::vector<NodePair>& pairs) {
  for (const std::vector<NodePair>& round : ScheduleRounds(pairs, n_)) {
    if (Cancelled()) return;
    std::vector<PairTest> usable;
    for (const NodePair& pair : round) {
      v1::CheckResult check = PairCheck(test, pair);
      RdmaLanes lanes;
      if (FailIfUnusable(check, pair, /*needs_target_agent=*/true) ||
          (test == v1::VALIDATE_TEST_RDMA && !ChooseLanes(check, pair, lanes))) {
        Emit(std::move(check), absl::ZeroDuration());
      } else {
        usable.push_back({pair, std::move(lanes)});
      }
    }
    if (!usable.empty()) RunBandwidthRound(test, usable);
  }
}

bool ValidationRunner::ChooseLanes(v1::CheckResult& check, const NodePair& pair, RdmaLanes& lanes) {
  for (int node : {pair.from, pair.to}) {
    if (!(*probes_[node]).ok()) {
      FailCheck(check, absl::StrCat("probe of ", Name(node), " failed"), (*probes_[node]).status());
      return false;
    }
  }
  if (IsIpv6(address_[pair.to])) {
    SkipCheck(check, absl::StrCat("ib_write_bw connects over IPv4; ", Name(pair.to), " is at ",
                                  address_[pair.to], " (choose an IPv4 network with --interface)"));
    return false;
  }
  absl::StatusOr<RdmaLanes> chosen =
      ChooseRdmaLanes(Name(pair.from), **probes_[pair.from], Name(pair.to), **probes_[pair.to]);
  if (!chosen.ok()) {
    SkipCheck(check, std::string(chosen.status().message()));
    return false;
  }
  lanes = *std::move(chosen);
  return true;
}

void ValidationRunner::JudgeRoundFailure(v1::CheckResult& check, const std::string& what,
                                         const absl::Status& status) {
  if (check.test() == v1::VALIDATE_TEST_RDMA && PerftestMissing(status)) {
    SkipCheck(check, std::string(status.message()));
  } else {
    FailCheck(check, what, status);
  }
}

std::map<int, v1::BandwidthServeReply> ValidationRunner::ServeRound(
    v1::ValidateTest test, const std::vector<PairTest>& round) {
  std::map<int, const PairTest*> by_receiver;
  std::vector<int> receivers;
  for (const PairTest& planned : round) {
    by_receiver[planned.pair.to] = &planned;
    receivers.push_back(planned.pair.to);
  }
  auto served = Call<v1::BandwidthServeRequest, v1::BandwidthServeReply>(
      receivers, setup_.timeout, absl::StrCat("validate: ", TestName(test), " servers"),
      [&](int receiver) {
        v1::BandwidthServeRequest request;
        request.set_tool(ToolOf(test));
        request.set_bind_address(address_[receiver]);
        for (const std::string& device : by_receiver[receiver]->lanes.receiver_devices) {
          request.add_rdma_devices(device);
        }
        // The senders are asked once every server of the round answered.
        request.set_accept_timeout_ms(
            static_cast<uint32_t>(absl::ToInt64Milliseconds(2 * setup_.timeout)) + 5000);
        return request;
      },
      [](auto* async, auto* ctx, auto* request, auto* reply, auto done) {
        async->BandwidthServe(ctx, request, reply, std::move(done));
      });
  std::map<int, v1::BandwidthServeReply> servers;
  for (size_t k = 0; k < receivers.size(); ++k) {
    const NodePair& pair = by_receiver[receivers[k]]->pair;
    if (served[k].status.ok()) {
      servers[pair.from] = served[k].reply;
      continue;
    }
    v1::CheckResult check = PairCheck(test, pair);
    JudgeRoundFailure(check,
                      absl::StrCat(TestName(test), " server on ", Name(pair.to), " did not start"),
                      served[k].status);
    Emit(std::move(check), served[k].duration);
  }
  return servers;
}

void ValidationRunner::RunBandwidthRound(v1::ValidateTest test,
                                         const std::vector<PairTest>& round) {
  std::map<int, v1::BandwidthServeReply> servers = ServeRound(test, round);
  std::map<int, const PairTest*> by_sender;
  std::vector<int> senders;
  for (const PairTest& planned : round) {
    if (servers.count(planned.pair.from) == 0) continue;
    by_sender[planned.pair.from] = &planned;
    senders.push_back(planned.pair.from);
  }
  const bool rdma = test == v1::VALIDATE_TEST_RDMA;
  uint32_t duration_s = setup_.request.bandwidth_duration_s() == 0
                            ? kValidateDefaultDurationS
                            : setup_.request.bandwidth_duration_s();
  if (rdma) duration_s = std::max(duration_s, kValidateRdmaMinDurationS);
  auto tested = Call<v1::BandwidthTestRequest, v1::BandwidthResult>(
      senders, setup_.timeout + absl::Seconds(duration_s),
      absl::StrCat("validate: ", TestName(test)),
      [&](int sender) {
        v1::BandwidthTestRequest request;
        request.set_tool(ToolOf(test));
        *request.mutable_servers() = servers[sender].servers();
        if (!setup_.request.interface().empty()) request.set_bind_address(address_[sender]);
        request.set_duration_s(duration_s);
        for (const std::string& device : by_sender[sender]->lanes.sender_devices) {
          request.add_rdma_devices(device);
        }
        if (!rdma) request.set_parallel_streams(setup_.request.parallel_streams());
        return request;
      },
      [](auto* async, auto* ctx, auto* request, auto* reply, auto done) {
        async->BandwidthTest(ctx, request, reply, std::move(done));
      });
  for (size_t k = 0; k < senders.size(); ++k) {
    v1::CheckResult check = PairCheck(test, by_sender[senders[k]]->pair);
    if (!tested[k].status.ok()) {
      JudgeRoundFailure(check,
                        absl::StrCat(TestName(test), " test from ", Name(senders[k]), " failed"),
                        tested[k].status);
    } else if (rdma) {
      JudgeRdma(tested[k].reply, setup_.thresholds, check);
    } else {
      JudgeBandwidth(tested[k].reply, setup_.thresholds, check);
    }
    Emit(std::move(check), tested[k].duration);
  }
}

}  // namespace sparkfleet::validate_internal
