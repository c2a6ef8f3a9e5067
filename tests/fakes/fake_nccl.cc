// libnccl.so.2 stand-in for running the real spark-nccl-worker without a GPU: a
// communicator of one rank, whose collectives copy the input to the output (exactly what
// NCCL computes for one rank). $FAKE_NCCL_CORRUPT=1 spoils the first output element so
// the worker's check has something to count. Only the symbols nccl_api.h names.
#include <cstdlib>
#include <cstring>

#include "node_agent/nccl_worker/nccl_api.h"

namespace api = sparkfleet::nccl_api;

namespace {

struct FakeComm {
  int nranks = 1;
};

size_t Size(api::DataType type) {
  switch (type) {
    case api::kInt8:
    case api::kUint8:
      return 1;
    case api::kFloat16:
    case api::kBfloat16:
      return 2;
    case api::kInt32:
    case api::kUint32:
    case api::kFloat32:
      return 4;
    default:
      return 8;
  }
}

api::Result Copy(const void* send, void* recv, size_t count, api::DataType type) {
  if (count == 0) return api::kSuccess;
  std::memmove(recv, send, count * Size(type));
  const char* corrupt = std::getenv("FAKE_NCCL_CORRUPT");
  if (corrupt != nullptr && std::strcmp(corrupt, "1") == 0) {
    std::memset(recv, 0x7f, Size(type));
  }
  return api::kSuccess;
}

}  // namespace

extern "C" {

api::Result ncclGetVersion(int* version) {
  *version = 22707;
  return api::kSuccess;
}
api::Result ncclGetUniqueId(api::UniqueId* id) {
  for (int i = 0; i < api::kUniqueIdBytes; ++i) id->internal[i] = static_cast<char>(i);
  return api::kSuccess;
}
api::Result ncclCommInitRank(api::Comm* comm, int nranks, api::UniqueId, int rank) {
  if (nranks != 1 || rank != 0) return api::kInvalidUsage;  // one rank only
  *comm = reinterpret_cast<api::Comm>(new FakeComm);
  return api::kSuccess;
}
api::Result ncclCommDestroy(api::Comm comm) {
  delete reinterpret_cast<FakeComm*>(comm);
  return api::kSuccess;
}
api::Result ncclCommAbort(api::Comm comm) { return ncclCommDestroy(comm); }
const char* ncclGetErrorString(api::Result) { return "invalid usage (fake NCCL runs one rank)"; }
api::Result ncclCommGetAsyncError(api::Comm, api::Result* error) {
  *error = api::kSuccess;
  return api::kSuccess;
}
api::Result ncclAllReduce(const void* send, void* recv, size_t count, api::DataType type,
                          api::RedOp, api::Comm, api::Stream) {
  return Copy(send, recv, count, type);
}
api::Result ncclAllGather(const void* send, void* recv, size_t count, api::DataType type, api::Comm,
                          api::Stream) {
  return Copy(send, recv, count, type);
}
api::Result ncclReduceScatter(const void* send, void* recv, size_t count, api::DataType type,
                              api::RedOp, api::Comm, api::Stream) {
  return Copy(send, recv, count, type);
}
api::Result ncclBroadcast(const void* send, void* recv, size_t count, api::DataType type, int,
                          api::Comm, api::Stream) {
  return Copy(send, recv, count, type);
}
api::Result ncclGroupStart() { return api::kSuccess; }
api::Result ncclGroupEnd() { return api::kSuccess; }

}  // extern "C"
