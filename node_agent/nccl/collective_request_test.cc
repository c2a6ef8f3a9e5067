#include "node_agent/nccl/collective_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;

TEST(PlanCollective, FillsNcclTestsDefaultsForEveryLocalGpu) {
  absl::StatusOr<CollectivePlan> plan = PlanCollective(v1::RunCollectiveRequest(), 2);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->nranks, 2);
  EXPECT_EQ(plan->local_ranks, 2);
  EXPECT_EQ(plan->worker.op, "all_reduce");
  EXPECT_EQ(plan->worker.dtype, "float");
  EXPECT_EQ(plan->worker.redop, "sum");
  EXPECT_EQ(plan->worker.min_bytes, 8);
  EXPECT_EQ(plan->worker.max_bytes, 128 << 20);
  EXPECT_EQ(plan->worker.iters, 20);
  EXPECT_EQ(plan->worker.warmup_iters, 5);
  EXPECT_EQ(plan->timeout, absl::Minutes(5));
  EXPECT_THAT(plan->env, ::testing::Contains(Pair("CUDA_DEVICE_ORDER", "PCI_BUS_ID")));
  nccl_worker::WorkerOptions second = WorkerOptionsFor(*plan, 1, "ab");
  EXPECT_EQ(second.rank, 1);
  EXPECT_EQ(second.device, 1);
  EXPECT_EQ(second.unique_id_hex, "ab");
}

TEST(PlanCollective, NodeWithoutRankZeroNeedsTheRelayedId) {
  v1::RunCollectiveRequest request;
  request.set_nranks(2);
  request.set_first_rank(1);
  absl::StatusOr<CollectivePlan> plan = PlanCollective(request, 1);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("unique_id is required"));
  request.set_unique_id(std::string(128, 'x'));
  EXPECT_TRUE(PlanCollective(request, 1).ok());
  request.set_unique_id("short");
  EXPECT_THAT(PlanCollective(request, 1).status().message(), HasSubstr("128"));
}

TEST(PlanCollective, RefusesWhatNoWorkerCouldRun) {
  auto message = [](const v1::RunCollectiveRequest& r, int gpus = 1) {
    return std::string(PlanCollective(r, gpus).status().message());
  };
  v1::RunCollectiveRequest r;
  r.set_local_ranks(3);
  EXPECT_THAT(message(r, 2), HasSubstr("local_ranks 3 but this node has 2 GPUs"));
  r = {};
  r.set_nranks(2);
  r.set_first_rank(1);
  r.set_local_ranks(2);
  r.set_unique_id(std::string(128, 'x'));
  EXPECT_THAT(message(r, 2), HasSubstr("do not fit in nranks 2"));
  r = {};
  r.set_root(1);
  EXPECT_THAT(message(r), HasSubstr("root 1 is not a rank of 1"));
  r = {};
  r.set_min_bytes(1024);
  r.set_max_bytes(8);
  EXPECT_THAT(message(r), HasSubstr("min_bytes <= max_bytes"));
  r = {};
  r.set_step_factor(1);
  EXPECT_THAT(message(r), HasSubstr("step_factor 1"));
  r = {};
  (*r.mutable_nccl_env())["LD_PRELOAD"] = "/tmp/x.so";
  EXPECT_THAT(message(r), HasSubstr("not NCCL_[A-Z0-9_]+"));
  r = {};
  (*r.mutable_nccl_env())["NCCL_SOCKET_IFNAME"] = "enp1s0f1np1 ";
  EXPECT_THAT(message(r), HasSubstr("holds whitespace"));
  r = {};
  (*r.mutable_nccl_env())["NCCL_DEBUG_FILE"] = "/tmp/$(id).log";
  EXPECT_THAT(message(r), HasSubstr("nccl_env NCCL_DEBUG_FILE value"));
  r = {};
  r.set_op(static_cast<v1::CollectiveOp>(42));
  EXPECT_THAT(message(r), HasSubstr("unknown op 42"));
}

TEST(CollectiveLines, RowsAndSummariesBecomeProtoWithEnums) {
  nccl_worker::RowLine line;
  line.size_bytes = 1024;
  line.count = 128;
  line.type = "bfloat16";
  line.redop = "none";
  line.root = -1;
  line.in_place.wrong = -1;
  v1::CollectiveRow row = RowFromLine(line);
  EXPECT_EQ(row.type(), v1::NCCL_DATA_TYPE_BFLOAT16);
  EXPECT_EQ(row.redop(), v1::REDUCE_OP_UNSPECIFIED);
  EXPECT_EQ(row.in_place().wrong(), -1);
  v1::CollectiveSummary summary =
      SummaryFromLine({0, 21.5, 25, 1 << 20, 1 << 30, 900}, 4, "2.27.7");
  EXPECT_TRUE(summary.ok());
  EXPECT_EQ(summary.nranks(), 4u);
  EXPECT_EQ(summary.size_cap_bytes(), 1 << 30);
  EXPECT_EQ(summary.nccl_version(), "2.27.7");
}

}  // namespace
}  // namespace sparkfleet
