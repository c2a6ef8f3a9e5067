// The arithmetic of an nccl-tests-shaped run, kept pure so it is tested without a GPU:
// names of collectives, types and reductions as nccl-tests prints them, the size sweep
// and its cap by free GPU memory, bus-bandwidth factors, and the data pattern whose
// results are exactly known.
//
// Data pattern: rank r's element i holds small integers (1..4, or 1 and 2 for prod), so
// every result is exact in every type: sums stay within int8 up to 31 ranks, within
// bfloat16's 8-bit mantissa up to 64 ranks and within half's up to 512. Only `avg` on a
// floating type may round (NCCL multiplies by 1/n); it is compared with a tolerance.
#ifndef SPARKFLEET_NODE_AGENT_NCCL_WORKER_COLLECTIVE_MATH_H_
#define SPARKFLEET_NODE_AGENT_NCCL_WORKER_COLLECTIVE_MATH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "node_agent/nccl_worker/nccl_api.h"

namespace sparkfleet::nccl_worker {

enum class Collective { kAllReduce, kAllGather, kReduceScatter, kBroadcast };

// "all_reduce", "all_gather", "reduce_scatter", "broadcast".
const char* CollectiveName(Collective collective);
bool ParseCollective(const std::string& name, Collective* out);
// nccl-tests' names: "int8", "uint8", "int32", "uint32", "int64", "uint64", "half",
// "float", "double", "bfloat16".
const char* DataTypeName(nccl_api::DataType type);
bool ParseDataType(const std::string& name, nccl_api::DataType* out);
// "sum", "prod", "max", "min", "avg".
const char* RedOpName(nccl_api::RedOp op);
bool ParseRedOp(const std::string& name, nccl_api::RedOp* out);
size_t DataTypeSize(nccl_api::DataType type);
bool HasReduction(Collective collective);  // all-reduce and reduce-scatter
bool IsFloatingType(nccl_api::DataType type);

// busbw = algbw * factor: 2(n-1)/n for all-reduce, (n-1)/n for all-gather and
// reduce-scatter, 1 for broadcast (nccl-tests' PERFORMANCE.md).
double BusBandwidthFactor(Collective collective, int nranks);

// One row's shape. `size_bytes` is what nccl-tests prints as "size": the whole buffer
// (all-gather's output, reduce-scatter's input); `count` its "count": elements each rank
// passes to NCCL (all-gather's sendcount, reduce-scatter's recvcount).
struct RowShape {
  size_t size_bytes = 0;
  size_t count = 0;
  size_t send_elements = 0;  // send buffer, elements
  size_t recv_elements = 0;  // receive buffer, elements
};
RowShape ShapeFor(Collective collective, nccl_api::DataType type, int nranks,
                  size_t requested_bytes);

// min, min*factor, ... while <= max (nccl-tests -b/-e/-f). REQUIRES: factor >= 2, min >= 1.
std::vector<size_t> SizeSweep(size_t min_bytes, size_t max_bytes, unsigned factor);

// The largest size (bytes, as in RowShape::size_bytes) a rank may run: its send and
// receive buffers on the device plus one host buffer of the same size (3 x size) must fit
// in `fraction` of `free_bytes`.
size_t MemoryCapBytes(size_t free_bytes, double fraction);
// Share of free memory a run may use: 1/4 on an integrated GPU whose memory is the
// host's (GB10: leave room for the OS), 1/2 on a discrete one.
double DefaultMemoryFraction(bool integrated);

// The value rank `rank` puts at element `index` of its input.
double InputValue(nccl_api::RedOp op, int rank, int nranks, size_t index);
// The value element `index` of rank `rank`'s output must hold after the collective, for
// inputs from InputValue. `count` is RowShape::count.
double ExpectedValue(Collective collective, nccl_api::RedOp op, int root, int rank, int nranks,
                     size_t count, size_t index);
// Largest difference accepted between a result and ExpectedValue.
double Tolerance(nccl_api::RedOp op, nccl_api::DataType type, double expected);

// `value` stored as `type` at `out` (DataTypeSize bytes); round to nearest for half and
// bfloat16.
void EncodeValue(nccl_api::DataType type, double value, void* out);
double DecodeValue(nccl_api::DataType type, const void* in);

}  // namespace sparkfleet::nccl_worker

#endif  // SPARKFLEET_NODE_AGENT_NCCL_WORKER_COLLECTIVE_MATH_H_
