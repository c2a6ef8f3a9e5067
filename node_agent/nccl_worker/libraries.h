// libnccl.so.2 and libcuda.so.1 opened with dlopen, and the functions the worker calls.
//
// When the agent starts a worker it names both files (--nccl, --cuda): the agent has
// already searched for them and refused the run when one was missing. A worker run by
// hand (or by the gpu tests) searches itself, in this order:
//   1. the dynamic loader (dlopen by soname: LD_LIBRARY_PATH, ld.so.cache, /lib, /usr/lib)
//   2. the directories in $SPARKFLEET_NCCL_PATH (':'-separated)
//   3. /opt/sparkfleet/nccl/*/lib (source builds by InstallNccl)
//   4. the nvidia-nccl Python wheel: */site-packages/nvidia/nccl/lib under
//      /usr/lib/python3*, /usr/local/lib/python3* and the prefix of the python3 in PATH
#ifndef SPARKFLEET_NODE_AGENT_NCCL_WORKER_LIBRARIES_H_
#define SPARKFLEET_NODE_AGENT_NCCL_WORKER_LIBRARIES_H_

#include <string>
#include <vector>

#include "node_agent/nccl_worker/nccl_api.h"

namespace sparkfleet::nccl_worker {

// Directories searched after the loader, in order, existing ones only.
std::vector<std::string> WorkerLibrarySearchPath();

struct NcclLibrary {
  void* handle = nullptr;
  std::string path;  // what was opened
  nccl_api::GetVersionFn get_version = nullptr;
  nccl_api::GetUniqueIdFn get_unique_id = nullptr;
  nccl_api::CommInitRankFn comm_init_rank = nullptr;
  nccl_api::CommDestroyFn comm_destroy = nullptr;
  nccl_api::CommAbortFn comm_abort = nullptr;
  nccl_api::GetErrorStringFn get_error_string = nullptr;
  nccl_api::CommGetAsyncErrorFn comm_get_async_error = nullptr;
  nccl_api::AllReduceFn all_reduce = nullptr;
  nccl_api::AllGatherFn all_gather = nullptr;
  nccl_api::ReduceScatterFn reduce_scatter = nullptr;
  nccl_api::BroadcastFn broadcast = nullptr;
  nccl_api::GroupStartFn group_start = nullptr;
  nccl_api::GroupEndFn group_end = nullptr;
};

struct CudaDriver {
  void* handle = nullptr;
  std::string path;
  nccl_api::CuInitFn init = nullptr;
  nccl_api::CuDriverGetVersionFn driver_get_version = nullptr;
  nccl_api::CuDeviceGetCountFn device_get_count = nullptr;
  nccl_api::CuDeviceGetFn device_get = nullptr;
  nccl_api::CuDeviceGetNameFn device_get_name = nullptr;
  nccl_api::CuDeviceGetUuidFn device_get_uuid = nullptr;  // optional (drivers >= 11.4)
  nccl_api::CuDeviceGetAttributeFn device_get_attribute = nullptr;
  nccl_api::CuDevicePrimaryCtxRetainFn primary_ctx_retain = nullptr;
  nccl_api::CuDevicePrimaryCtxReleaseFn primary_ctx_release = nullptr;
  nccl_api::CuCtxSetCurrentFn ctx_set_current = nullptr;
  nccl_api::CuMemGetInfoFn mem_get_info = nullptr;
  nccl_api::CuMemAllocFn mem_alloc = nullptr;
  nccl_api::CuMemFreeFn mem_free = nullptr;
  nccl_api::CuMemcpyHtoDFn memcpy_htod = nullptr;
  nccl_api::CuMemcpyDtoHFn memcpy_dtoh = nullptr;
  nccl_api::CuStreamCreateFn stream_create = nullptr;
  nccl_api::CuStreamDestroyFn stream_destroy = nullptr;
  nccl_api::CuStreamSynchronizeFn stream_synchronize = nullptr;
  nccl_api::CuEventCreateFn event_create = nullptr;
  nccl_api::CuEventDestroyFn event_destroy = nullptr;
  nccl_api::CuEventRecordFn event_record = nullptr;
  nccl_api::CuEventQueryFn event_query = nullptr;
  nccl_api::CuEventElapsedTimeFn event_elapsed_time = nullptr;
  nccl_api::CuGetErrorStringFn get_error_string = nullptr;
};

// Opens `explicit_path`, or searches as above when it is empty, and resolves every
// function. False with a message naming what is missing ("NCCL not found (searched: the
// dynamic loader, /opt/...)", "libnccl.so.2 at PATH lacks ncclCommInitRank").
bool LoadNccl(const std::string& explicit_path, NcclLibrary* out, std::string* error);
bool LoadCudaDriver(const std::string& explicit_path, CudaDriver* out, std::string* error);

}  // namespace sparkfleet::nccl_worker

#endif  // SPARKFLEET_NODE_AGENT_NCCL_WORKER_LIBRARIES_H_
