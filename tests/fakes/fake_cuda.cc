// libcuda.so.1 stand-in for running the real spark-nccl-worker without a GPU: one (or
// $FAKE_CUDA_DEVICES) "integrated" device whose memory is host memory, synchronous
// streams, events that read the clock. $FAKE_CUDA_FREE_BYTES sets the free memory
// (default 1 GiB). Only the symbols nccl_api.h names.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "node_agent/nccl_worker/nccl_api.h"

namespace api = sparkfleet::nccl_api;

namespace {

struct FakeEvent {
  double ms = 0;
};

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

unsigned long long EnvNumber(const char* name, unsigned long long fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

int context_cell = 0;

}  // namespace

extern "C" {

api::CuResult cuInit(unsigned) { return 0; }
api::CuResult cuDriverGetVersion(int* version) {
  *version = 13000;
  return 0;
}
api::CuResult cuDeviceGetCount(int* count) {
  *count = static_cast<int>(EnvNumber("FAKE_CUDA_DEVICES", 1));
  return 0;
}
api::CuResult cuDeviceGet(api::CuDevice* device, int ordinal) {
  *device = ordinal;
  return 0;
}
api::CuResult cuDeviceGetName(char* name, int len, api::CuDevice) {
  std::snprintf(name, static_cast<size_t>(len), "Fake GB10");
  return 0;
}
api::CuResult cuDeviceGetUuid_v2(api::CuUuid* uuid, api::CuDevice device) {
  std::memset(uuid->bytes, 0x11 * (device + 1), sizeof uuid->bytes);
  return 0;
}
api::CuResult cuDeviceGetAttribute(int* value, int attribute, api::CuDevice) {
  *value = attribute == api::kDeviceAttributeIntegrated ? 1 : 0;
  return 0;
}
api::CuResult cuDevicePrimaryCtxRetain(api::CuContext* context, api::CuDevice) {
  *context = reinterpret_cast<api::CuContext>(&context_cell);
  return 0;
}
api::CuResult cuDevicePrimaryCtxRelease_v2(api::CuDevice) { return 0; }
api::CuResult cuCtxSetCurrent(api::CuContext) { return 0; }
api::CuResult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  *free_bytes = EnvNumber("FAKE_CUDA_FREE_BYTES", 1ull << 30);
  *total_bytes = 2 * *free_bytes;
  return 0;
}
api::CuResult cuMemAlloc_v2(api::CuDevicePtr* pointer, size_t bytes) {
  void* memory = std::malloc(bytes);
  if (memory == nullptr) return 2;  // CUDA_ERROR_OUT_OF_MEMORY
  *pointer = reinterpret_cast<api::CuDevicePtr>(memory);
  return 0;
}
api::CuResult cuMemFree_v2(api::CuDevicePtr pointer) {
  std::free(reinterpret_cast<void*>(pointer));
  return 0;
}
api::CuResult cuMemcpyHtoD_v2(api::CuDevicePtr destination, const void* source, size_t bytes) {
  std::memcpy(reinterpret_cast<void*>(destination), source, bytes);
  return 0;
}
api::CuResult cuMemcpyDtoH_v2(void* destination, api::CuDevicePtr source, size_t bytes) {
  std::memcpy(destination, reinterpret_cast<const void*>(source), bytes);
  return 0;
}
api::CuResult cuStreamCreate(api::Stream* stream, unsigned) {
  *stream = reinterpret_cast<api::Stream>(new int(0));
  return 0;
}
api::CuResult cuStreamDestroy_v2(api::Stream stream) {
  delete reinterpret_cast<int*>(stream);
  return 0;
}
api::CuResult cuStreamSynchronize(api::Stream) { return 0; }
api::CuResult cuEventCreate(api::CuEvent* event, unsigned) {
  *event = reinterpret_cast<api::CuEvent>(new FakeEvent);
  return 0;
}
api::CuResult cuEventDestroy_v2(api::CuEvent event) {
  delete reinterpret_cast<FakeEvent*>(event);
  return 0;
}
api::CuResult cuEventRecord(api::CuEvent event, api::Stream) {
  reinterpret_cast<FakeEvent*>(event)->ms = NowMs();
  return 0;
}
api::CuResult cuEventQuery(api::CuEvent) { return 0; }
api::CuResult cuEventElapsedTime(float* milliseconds, api::CuEvent start, api::CuEvent end) {
  *milliseconds = static_cast<float>(reinterpret_cast<FakeEvent*>(end)->ms -
                                     reinterpret_cast<FakeEvent*>(start)->ms);
  return 0;
}
api::CuResult cuGetErrorString(api::CuResult, const char** text) {
  *text = "fake CUDA error";
  return 0;
}

}  // extern "C"
