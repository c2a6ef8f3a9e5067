// The few NCCL and CUDA driver API declarations spark-nccl-worker needs, written here so
// that neither nccl.h nor cuda.h is needed to build it: both libraries are loaded with
// dlopen at run time (libnccl.so.2, libcuda.so.1) and their functions looked up by the
// symbol names below.
//
// Everything lives in namespace sparkfleet::nccl_api so that a translation unit may
// include the real headers too: nccl_api_check_test.cc does, and static_asserts every
// value, size and signature here against nccl.h and cuda.h when they are installed.
#ifndef SPARKFLEET_NODE_AGENT_NCCL_WORKER_NCCL_API_H_
#define SPARKFLEET_NODE_AGENT_NCCL_WORKER_NCCL_API_H_

#include <cstddef>

namespace sparkfleet::nccl_api {

// ---------------------------------------------------------------- NCCL (nccl.h)

constexpr int kUniqueIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
struct UniqueId {
  char internal[kUniqueIdBytes];
};

struct CommOpaque;  // struct ncclComm
using Comm = CommOpaque*;
struct StreamOpaque;  // struct CUstream_st: cudaStream_t and CUstream are the same type
using Stream = StreamOpaque*;

enum Result {  // ncclResult_t
  kSuccess = 0,
  kUnhandledCudaError = 1,
  kSystemError = 2,
  kInternalError = 3,
  kInvalidArgument = 4,
  kInvalidUsage = 5,
  kRemoteError = 6,
  kInProgress = 7,
};

enum DataType {  // ncclDataType_t
  kInt8 = 0,
  kUint8 = 1,
  kInt32 = 2,
  kUint32 = 3,
  kInt64 = 4,
  kUint64 = 5,
  kFloat16 = 6,
  kFloat32 = 7,
  kFloat64 = 8,
  kBfloat16 = 9,
};

enum RedOp {  // ncclRedOp_t
  kSum = 0,
  kProd = 1,
  kMax = 2,
  kMin = 3,
  kAvg = 4,
};

using GetVersionFn = Result (*)(int* version);
using GetUniqueIdFn = Result (*)(UniqueId* unique_id);
using CommInitRankFn = Result (*)(Comm* comm, int nranks, UniqueId comm_id, int rank);
using CommDestroyFn = Result (*)(Comm comm);
using CommAbortFn = Result (*)(Comm comm);
using GetErrorStringFn = const char* (*)(Result result);
using CommGetAsyncErrorFn = Result (*)(Comm comm, Result* async_error);
using AllReduceFn = Result (*)(const void* sendbuff, void* recvbuff, size_t count,
                               DataType datatype, RedOp op, Comm comm, Stream stream);
using AllGatherFn = Result (*)(const void* sendbuff, void* recvbuff, size_t sendcount,
                               DataType datatype, Comm comm, Stream stream);
using ReduceScatterFn = Result (*)(const void* sendbuff, void* recvbuff, size_t recvcount,
                                   DataType datatype, RedOp op, Comm comm, Stream stream);
using BroadcastFn = Result (*)(const void* sendbuff, void* recvbuff, size_t count,
                               DataType datatype, int root, Comm comm, Stream stream);
using GroupStartFn = Result (*)();
using GroupEndFn = Result (*)();

// ---------------------------------------------------------------- CUDA driver (cuda.h)

using CuResult = int;                         // CUresult (an enum in cuda.h; int-sized)
constexpr CuResult kCudaSuccess = 0;          // CUDA_SUCCESS
constexpr CuResult kCudaErrorNotReady = 600;  // CUDA_ERROR_NOT_READY
using CuDevice = int;                         // CUdevice
using CuDevicePtr = unsigned long long;       // CUdeviceptr (64-bit hosts)
struct ContextOpaque;                         // struct CUctx_st
using CuContext = ContextOpaque*;
struct EventOpaque;  // struct CUevent_st
using CuEvent = EventOpaque*;
struct CuUuid {  // CUuuid
  char bytes[16];
};
constexpr unsigned kStreamNonBlocking = 0x1;    // CU_STREAM_NON_BLOCKING
constexpr unsigned kEventDefault = 0x0;         // CU_EVENT_DEFAULT
constexpr int kDeviceAttributeIntegrated = 18;  // CU_DEVICE_ATTRIBUTE_INTEGRATED

using CuInitFn = CuResult (*)(unsigned flags);
using CuDriverGetVersionFn = CuResult (*)(int* version);
using CuDeviceGetCountFn = CuResult (*)(int* count);
using CuDeviceGetFn = CuResult (*)(CuDevice* device, int ordinal);
using CuDeviceGetNameFn = CuResult (*)(char* name, int len, CuDevice device);
using CuDeviceGetUuidFn = CuResult (*)(CuUuid* uuid, CuDevice device);
using CuDeviceGetAttributeFn = CuResult (*)(int* value, int attribute, CuDevice device);
using CuDevicePrimaryCtxRetainFn = CuResult (*)(CuContext* context, CuDevice device);
using CuDevicePrimaryCtxReleaseFn = CuResult (*)(CuDevice device);
using CuCtxSetCurrentFn = CuResult (*)(CuContext context);
using CuMemGetInfoFn = CuResult (*)(size_t* free_bytes, size_t* total_bytes);
using CuMemAllocFn = CuResult (*)(CuDevicePtr* pointer, size_t bytes);
using CuMemFreeFn = CuResult (*)(CuDevicePtr pointer);
using CuMemcpyHtoDFn = CuResult (*)(CuDevicePtr destination, const void* source, size_t bytes);
using CuMemcpyDtoHFn = CuResult (*)(void* destination, CuDevicePtr source, size_t bytes);
using CuStreamCreateFn = CuResult (*)(Stream* stream, unsigned flags);
using CuStreamDestroyFn = CuResult (*)(Stream stream);
using CuStreamSynchronizeFn = CuResult (*)(Stream stream);
using CuEventCreateFn = CuResult (*)(CuEvent* event, unsigned flags);
using CuEventDestroyFn = CuResult (*)(CuEvent event);
using CuEventRecordFn = CuResult (*)(CuEvent event, Stream stream);
using CuEventQueryFn = CuResult (*)(CuEvent event);
using CuEventElapsedTimeFn = CuResult (*)(float* milliseconds, CuEvent start, CuEvent end);
using CuGetErrorStringFn = CuResult (*)(CuResult error, const char** text);

// Symbol names looked up with dlsym. cuda.h maps most API names to versioned symbols
// (`#define cuMemAlloc cuMemAlloc_v2`); these are the ones it maps to, except where noted:
// the check test compares them with the header's mapping.
namespace symbol {
inline constexpr char kCuInit[] = "cuInit";
inline constexpr char kCuDriverGetVersion[] = "cuDriverGetVersion";
inline constexpr char kCuDeviceGetCount[] = "cuDeviceGetCount";
inline constexpr char kCuDeviceGet[] = "cuDeviceGet";
inline constexpr char kCuDeviceGetName[] = "cuDeviceGetName";
inline constexpr char kCuDeviceGetUuid[] = "cuDeviceGetUuid_v2";
inline constexpr char kCuDeviceGetAttribute[] = "cuDeviceGetAttribute";
inline constexpr char kCuDevicePrimaryCtxRetain[] = "cuDevicePrimaryCtxRetain";
inline constexpr char kCuDevicePrimaryCtxRelease[] = "cuDevicePrimaryCtxRelease_v2";
inline constexpr char kCuCtxSetCurrent[] = "cuCtxSetCurrent";
inline constexpr char kCuMemGetInfo[] = "cuMemGetInfo_v2";
inline constexpr char kCuMemAlloc[] = "cuMemAlloc_v2";
inline constexpr char kCuMemFree[] = "cuMemFree_v2";
inline constexpr char kCuMemcpyHtoD[] = "cuMemcpyHtoD_v2";
inline constexpr char kCuMemcpyDtoH[] = "cuMemcpyDtoH_v2";
inline constexpr char kCuStreamCreate[] = "cuStreamCreate";
inline constexpr char kCuStreamDestroy[] = "cuStreamDestroy_v2";
inline constexpr char kCuStreamSynchronize[] = "cuStreamSynchronize";
inline constexpr char kCuEventCreate[] = "cuEventCreate";
inline constexpr char kCuEventDestroy[] = "cuEventDestroy_v2";
inline constexpr char kCuEventRecord[] = "cuEventRecord";
inline constexpr char kCuEventQuery[] = "cuEventQuery";
// Not the header's cuEventElapsedTime_v2 (drivers from CUDA 12.8 on only): the original
// symbol, with the same signature, exists in every driver.
inline constexpr char kCuEventElapsedTime[] = "cuEventElapsedTime";
inline constexpr char kCuGetErrorString[] = "cuGetErrorString";
}  // namespace symbol

}  // namespace sparkfleet::nccl_api

#endif  // SPARKFLEET_NODE_AGENT_NCCL_WORKER_NCCL_API_H_
