// Compile-time check of nccl_api.h against the real nccl.h and cuda.h: every value, size
// and function signature the worker declares by hand must match the headers it stands
// in for, and every versioned symbol name must be the one cuda.h maps the API name to.
// The check is the compilation; built only where the headers exist (CMakeLists.txt).
#include <cuda.h>
#include <nccl.h>

#include <cstdio>
#include <tuple>
#include <type_traits>
#include <utility>

#include "node_agent/nccl_worker/nccl_api.h"

namespace api = sparkfleet::nccl_api;

namespace {

template <typename T, typename = void>
struct IsComplete : std::false_type {};
template <typename T>
struct IsComplete<T, std::void_t<decltype(sizeof(T))>> : std::true_type {};

template <typename A, typename B>
constexpr bool SameAbi();

// Pointees: void with void, opaque handles with opaque handles, the rest by value.
template <typename A, typename B>
constexpr bool SamePointee() {
  if constexpr (std::is_const_v<A> != std::is_const_v<B>) {
    return false;
  } else if constexpr (std::is_void_v<A> || std::is_void_v<B>) {
    return std::is_void_v<A> && std::is_void_v<B>;
  } else if constexpr (std::is_class_v<A> && std::is_class_v<B> &&
                       (!IsComplete<A>::value || !IsComplete<B>::value)) {
    return !IsComplete<A>::value && !IsComplete<B>::value;
  } else {
    return SameAbi<std::remove_cv_t<A>, std::remove_cv_t<B>>();
  }
}

// Two types are passed and returned the same way: pointers to alike things, enums and
// ints of one size, structs of one size, or the very same arithmetic type.
template <typename A, typename B>
constexpr bool SameAbi() {
  if constexpr (std::is_pointer_v<A> || std::is_pointer_v<B>) {
    if constexpr (std::is_pointer_v<A> && std::is_pointer_v<B>) {
      return SamePointee<std::remove_pointer_t<A>, std::remove_pointer_t<B>>();
    } else {
      return false;
    }
  } else if constexpr (std::is_enum_v<A> || std::is_enum_v<B>) {
    return (std::is_enum_v<A> || std::is_same_v<A, int>)&&(
               std::is_enum_v<B> || std::is_same_v<B, int>)&&sizeof(A) == sizeof(B);
  } else if constexpr (std::is_class_v<A> || std::is_class_v<B>) {
    return std::is_class_v<A> && std::is_class_v<B> && sizeof(A) == sizeof(B);
  } else {
    return std::is_same_v<A, B>;
  }
}

template <typename F>
struct Signature;
template <typename R, typename... Args>
struct Signature<R (*)(Args...)> {
  using Return = R;
  using Arguments = std::tuple<Args...>;
  static constexpr size_t kArity = sizeof...(Args);
};

template <typename TA, typename TB, size_t... I>
constexpr bool SameArguments(std::index_sequence<I...>) {
  return (SameAbi<std::tuple_element_t<I, TA>, std::tuple_element_t<I, TB>>() && ...);
}

template <typename Real, typename Ours>
constexpr bool SameSignature() {
  using R = Signature<Real>;
  using O = Signature<Ours>;
  if constexpr (R::kArity != O::kArity) {
    return false;
  } else {
    return SameAbi<typename R::Return, typename O::Return>() &&
           SameArguments<typename R::Arguments, typename O::Arguments>(
               std::make_index_sequence<R::kArity>{});
  }
}

constexpr bool SameText(const char* a, const char* b) {
  return *a == *b && (*a == '\0' || SameText(a + 1, b + 1));
}

#define SPARKFLEET_TEXT2(x) #x
#define SPARKFLEET_TEXT(x) SPARKFLEET_TEXT2(x)

// ---- NCCL
static_assert(api::kUniqueIdBytes == NCCL_UNIQUE_ID_BYTES);
static_assert(sizeof(api::UniqueId) == sizeof(ncclUniqueId));
static_assert(sizeof(api::Comm) == sizeof(ncclComm_t));
static_assert(sizeof(api::Stream) == sizeof(cudaStream_t));
static_assert(api::kSuccess == static_cast<int>(ncclSuccess));
static_assert(api::kUnhandledCudaError == static_cast<int>(ncclUnhandledCudaError));
static_assert(api::kSystemError == static_cast<int>(ncclSystemError));
static_assert(api::kInternalError == static_cast<int>(ncclInternalError));
static_assert(api::kInvalidArgument == static_cast<int>(ncclInvalidArgument));
static_assert(api::kInvalidUsage == static_cast<int>(ncclInvalidUsage));
static_assert(api::kRemoteError == static_cast<int>(ncclRemoteError));
static_assert(api::kInProgress == static_cast<int>(ncclInProgress));
static_assert(api::kInt8 == static_cast<int>(ncclInt8));
static_assert(api::kUint8 == static_cast<int>(ncclUint8));
static_assert(api::kInt32 == static_cast<int>(ncclInt32));
static_assert(api::kUint32 == static_cast<int>(ncclUint32));
static_assert(api::kInt64 == static_cast<int>(ncclInt64));
static_assert(api::kUint64 == static_cast<int>(ncclUint64));
static_assert(api::kFloat16 == static_cast<int>(ncclFloat16));
static_assert(api::kFloat32 == static_cast<int>(ncclFloat32));
static_assert(api::kFloat64 == static_cast<int>(ncclFloat64));
static_assert(api::kBfloat16 == static_cast<int>(ncclBfloat16));
static_assert(api::kSum == static_cast<int>(ncclSum));
static_assert(api::kProd == static_cast<int>(ncclProd));
static_assert(api::kMax == static_cast<int>(ncclMax));
static_assert(api::kMin == static_cast<int>(ncclMin));
static_assert(api::kAvg == static_cast<int>(ncclAvg));
static_assert(SameSignature<decltype(&::ncclGetVersion), api::GetVersionFn>());
static_assert(SameSignature<decltype(&::ncclGetUniqueId), api::GetUniqueIdFn>());
static_assert(SameSignature<decltype(&::ncclCommInitRank), api::CommInitRankFn>());
static_assert(SameSignature<decltype(&::ncclCommDestroy), api::CommDestroyFn>());
static_assert(SameSignature<decltype(&::ncclCommAbort), api::CommAbortFn>());
static_assert(SameSignature<decltype(&::ncclGetErrorString), api::GetErrorStringFn>());
static_assert(SameSignature<decltype(&::ncclCommGetAsyncError), api::CommGetAsyncErrorFn>());
static_assert(SameSignature<decltype(&::ncclAllReduce), api::AllReduceFn>());
static_assert(SameSignature<decltype(&::ncclAllGather), api::AllGatherFn>());
static_assert(SameSignature<decltype(&::ncclReduceScatter), api::ReduceScatterFn>());
static_assert(SameSignature<decltype(&::ncclBroadcast), api::BroadcastFn>());
static_assert(SameSignature<decltype(&::ncclGroupStart), api::GroupStartFn>());
static_assert(SameSignature<decltype(&::ncclGroupEnd), api::GroupEndFn>());

// ---- CUDA driver
static_assert(sizeof(api::CuResult) == sizeof(CUresult));
static_assert(api::kCudaSuccess == CUDA_SUCCESS);
static_assert(api::kCudaErrorNotReady == CUDA_ERROR_NOT_READY);
static_assert(std::is_same_v<api::CuDevice, CUdevice>);
static_assert(std::is_same_v<api::CuDevicePtr, CUdeviceptr>);
static_assert(sizeof(api::CuContext) == sizeof(CUcontext));
static_assert(sizeof(api::CuEvent) == sizeof(CUevent));
static_assert(sizeof(api::CuUuid) == sizeof(CUuuid));
static_assert(api::kStreamNonBlocking == CU_STREAM_NON_BLOCKING);
static_assert(api::kEventDefault == CU_EVENT_DEFAULT);
static_assert(api::kDeviceAttributeIntegrated == CU_DEVICE_ATTRIBUTE_INTEGRATED);

#define SPARKFLEET_CHECK_CU(name, ours, constant)                      \
  static_assert(SameSignature<decltype(&::name), api::ours>(), #name); \
  static_assert(SameText(api::symbol::constant, SPARKFLEET_TEXT(name)), #name)

SPARKFLEET_CHECK_CU(cuInit, CuInitFn, kCuInit);
SPARKFLEET_CHECK_CU(cuDriverGetVersion, CuDriverGetVersionFn, kCuDriverGetVersion);
SPARKFLEET_CHECK_CU(cuDeviceGetCount, CuDeviceGetCountFn, kCuDeviceGetCount);
SPARKFLEET_CHECK_CU(cuDeviceGet, CuDeviceGetFn, kCuDeviceGet);
SPARKFLEET_CHECK_CU(cuDeviceGetName, CuDeviceGetNameFn, kCuDeviceGetName);
SPARKFLEET_CHECK_CU(cuDeviceGetUuid, CuDeviceGetUuidFn, kCuDeviceGetUuid);
SPARKFLEET_CHECK_CU(cuDevicePrimaryCtxRetain, CuDevicePrimaryCtxRetainFn,
                    kCuDevicePrimaryCtxRetain);
SPARKFLEET_CHECK_CU(cuDevicePrimaryCtxRelease, CuDevicePrimaryCtxReleaseFn,
                    kCuDevicePrimaryCtxRelease);
SPARKFLEET_CHECK_CU(cuCtxSetCurrent, CuCtxSetCurrentFn, kCuCtxSetCurrent);
SPARKFLEET_CHECK_CU(cuMemGetInfo, CuMemGetInfoFn, kCuMemGetInfo);
SPARKFLEET_CHECK_CU(cuMemAlloc, CuMemAllocFn, kCuMemAlloc);
SPARKFLEET_CHECK_CU(cuMemFree, CuMemFreeFn, kCuMemFree);
SPARKFLEET_CHECK_CU(cuMemcpyHtoD, CuMemcpyHtoDFn, kCuMemcpyHtoD);
SPARKFLEET_CHECK_CU(cuMemcpyDtoH, CuMemcpyDtoHFn, kCuMemcpyDtoH);
SPARKFLEET_CHECK_CU(cuStreamCreate, CuStreamCreateFn, kCuStreamCreate);
SPARKFLEET_CHECK_CU(cuStreamDestroy, CuStreamDestroyFn, kCuStreamDestroy);
SPARKFLEET_CHECK_CU(cuStreamSynchronize, CuStreamSynchronizeFn, kCuStreamSynchronize);
SPARKFLEET_CHECK_CU(cuEventCreate, CuEventCreateFn, kCuEventCreate);
SPARKFLEET_CHECK_CU(cuEventDestroy, CuEventDestroyFn, kCuEventDestroy);
SPARKFLEET_CHECK_CU(cuEventRecord, CuEventRecordFn, kCuEventRecord);
SPARKFLEET_CHECK_CU(cuEventQuery, CuEventQueryFn, kCuEventQuery);
SPARKFLEET_CHECK_CU(cuGetErrorString, CuGetErrorStringFn, kCuGetErrorString);
// The one deliberate exception (nccl_api.h): the unversioned symbol, same signature.
static_assert(SameSignature<decltype(&::cuEventElapsedTime), api::CuEventElapsedTimeFn>());
static_assert(SameText(api::symbol::kCuEventElapsedTime, "cuEventElapsedTime"));

}  // namespace

int main() {
  std::printf("nccl_api.h matches nccl.h (NCCL %d) and cuda.h (CUDA %d)\n", NCCL_VERSION_CODE,
              CUDA_VERSION);
  return 0;
}
