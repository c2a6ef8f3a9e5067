#include "node_agent/nccl_worker/collective_bench.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "node_agent/nccl_worker/collective_math.h"

namespace sparkfleet::nccl_worker {
namespace {

using nccl_api::CuDevicePtr;
using nccl_api::CuEvent;
using nccl_api::CuResult;

std::string UuidText(const nccl_api::CuUuid& uuid) {
  const unsigned char* b = reinterpret_cast<const unsigned char*>(uuid.bytes);
  char text[64];
  std::snprintf(text, sizeof text,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return text;
}

class Bench {
 public:
  Bench(const WorkerOptions& options, const NcclLibrary& nccl, const CudaDriver& cuda,
        const std::function<void(const std::string&)>& emit)
      : o_(options), nccl_(nccl), cuda_(cuda), emit_(emit) {}
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;
  ~Bench() { TearDown(); }

  int Run() {
    const auto start = std::chrono::steady_clock::now();
    SummaryLine summary;
    bool ok = ParseNames() && SetUpDevice() && SetUpComm() && Sweep(&summary);
    if (!ok) {
      emit_(FormatError(error_));
      return 1;
    }
    summary.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    emit_(FormatSummary(summary));
    return 0;
  }

 private:
  bool Fail(const std::string& message) {
    if (error_.empty()) error_ = message;
    return false;
  }
  bool Cu(CuResult r, const char* what) {
    if (r == nccl_api::kCudaSuccess) return true;
    const char* text = nullptr;
    if (cuda_.get_error_string(r, &text) != nccl_api::kCudaSuccess || text == nullptr) {
      text = "unknown CUDA error";
    }
    return Fail(std::string(what) + ": " + text + " (CUresult " + std::to_string(r) + ")");
  }
  bool Nccl(nccl_api::Result r, const char* what) {
    if (r == nccl_api::kSuccess) return true;
    return Fail(std::string(what) + ": " + nccl_.get_error_string(r) + " (ncclResult " +
                std::to_string(r) + ")");
  }

  bool ParseNames() {
    if (!ParseCollective(o_.op, &collective_)) return Fail("unknown --op " + o_.op);
    if (!ParseDataType(o_.dtype, &type_)) return Fail("unknown --dtype " + o_.dtype);
    if (!ParseRedOp(o_.redop, &redop_)) return Fail("unknown --redop " + o_.redop);
    element_ = DataTypeSize(type_);
    return true;
  }

  bool SetUpDevice() {
    VersionLine version;
    if (!Nccl(nccl_.get_version(&version.nccl_code), "ncclGetVersion")) return false;
    version.nccl_version = NcclVersionText(version.nccl_code);
    cuda_.driver_get_version(&version.cuda_driver_version);
    emit_(FormatVersion(version));
    if (!Cu(cuda_.init(0), "cuInit")) return false;
    int count = 0;
    if (!Cu(cuda_.device_get_count(&count), "cuDeviceGetCount")) return false;
    if (o_.device >= count) {
      return Fail("CUDA device " + std::to_string(o_.device) + " does not exist (the driver sees " +
                  std::to_string(count) + ")");
    }
    if (!Cu(cuda_.device_get(&device_, o_.device), "cuDeviceGet") ||
        !Cu(cuda_.primary_ctx_retain(&context_, device_), "cuDevicePrimaryCtxRetain")) {
      return false;
    }
    context_retained_ = true;
    if (!Cu(cuda_.ctx_set_current(context_), "cuCtxSetCurrent")) return false;
    DeviceLine line;
    line.ordinal = o_.device;
    char name[256] = {};
    if (cuda_.device_get_name(name, sizeof name - 1, device_) == nccl_api::kCudaSuccess) {
      line.name = name;
    }
    nccl_api::CuUuid uuid;
    if (cuda_.device_get_uuid != nullptr &&
        cuda_.device_get_uuid(&uuid, device_) == nccl_api::kCudaSuccess) {
      line.uuid = UuidText(uuid);
    }
    int integrated = 0;
    cuda_.device_get_attribute(&integrated, nccl_api::kDeviceAttributeIntegrated, device_);
    line.integrated = integrated != 0;
    size_t free_bytes = 0, total_bytes = 0;
    if (!Cu(cuda_.mem_get_info(&free_bytes, &total_bytes), "cuMemGetInfo")) return false;
    line.free_bytes = static_cast<int64_t>(free_bytes);
    line.total_bytes = static_cast<int64_t>(total_bytes);
    double fraction =
        o_.memory_fraction > 0 ? o_.memory_fraction : DefaultMemoryFraction(line.integrated);
    local_cap_ = MemoryCapBytes(free_bytes, fraction);
    emit_(FormatDevice(line));
    return Cu(cuda_.stream_create(&stream_, nccl_api::kStreamNonBlocking), "cuStreamCreate") &&
           Cu(cuda_.event_create(&start_, nccl_api::kEventDefault), "cuEventCreate") &&
           Cu(cuda_.event_create(&stop_, nccl_api::kEventDefault), "cuEventCreate");
  }

  bool SetUpComm() {
    nccl_api::UniqueId id;
    std::memset(&id, 0, sizeof id);
    if (o_.unique_id_hex.empty()) {
      if (!Nccl(nccl_.get_unique_id(&id), "ncclGetUniqueId")) return false;
      emit_(FormatUniqueId(std::string(id.internal, sizeof id.internal)));
    } else {
      std::string bytes;
      if (!HexToBytes(o_.unique_id_hex, &bytes) || bytes.size() != sizeof id.internal) {
        return Fail("--unique-id is not 256 hex digits");
      }
      std::memcpy(id.internal, bytes.data(), sizeof id.internal);
    }
    if (!Nccl(nccl_.comm_init_rank(&comm_, o_.nranks, id, o_.rank), "ncclCommInitRank")) {
      return false;
    }
    emit_(FormatReady(o_.nranks));
    return true;
  }

  // The smallest cap over every rank, through an in-place all-reduce (min) of one int64.
  bool AgreeOnCap(int64_t* cap) {
    CuDevicePtr cell = 0;
    int64_t value = static_cast<int64_t>(local_cap_);
    bool ok = Cu(cuda_.mem_alloc(&cell, sizeof value), "cuMemAlloc") &&
              Cu(cuda_.memcpy_htod(cell, &value, sizeof value), "cuMemcpyHtoD") &&
              Nccl(nccl_.all_reduce(reinterpret_cast<void*>(cell), reinterpret_cast<void*>(cell), 1,
                                    nccl_api::kInt64, nccl_api::kMin, comm_, stream_),
                   "ncclAllReduce (memory cap)") &&
              Cu(cuda_.stream_synchronize(stream_), "cuStreamSynchronize") &&
              Cu(cuda_.memcpy_dtoh(&value, cell, sizeof value), "cuMemcpyDtoH");
    if (cell != 0) cuda_.mem_free(cell);
    *cap = value;
    return ok;
  }

  bool Sweep(SummaryLine* summary) {
    int64_t cap = 0;
    if (!AgreeOnCap(&cap)) return false;
    summary->size_cap_bytes = cap;
    std::vector<RowShape> shapes;
    for (size_t size :
         SizeSweep(static_cast<size_t>(o_.min_bytes), static_cast<size_t>(o_.max_bytes),
                   static_cast<unsigned>(o_.step_factor))) {
      RowShape shape = ShapeFor(collective_, type_, o_.nranks, size);
      if (static_cast<int64_t>(shape.size_bytes) <= cap) shapes.push_back(shape);
    }
    if (shapes.empty()) {
      return Fail("-b " + std::to_string(o_.min_bytes) + " is larger than the " +
                  std::to_string(cap) + " bytes free GPU memory allows (3 x size must fit in " +
                  "the usable share of free memory)");
    }
    if (!Allocate(shapes.back())) return false;
    double busbw_sum = 0;
    for (const RowShape& shape : shapes) {
      RowLine row;
      row.size_bytes = static_cast<int64_t>(shape.size_bytes);
      row.count = static_cast<int64_t>(shape.count);
      row.type = DataTypeName(type_);
      row.redop = HasReduction(collective_) ? RedOpName(redop_) : "none";
      row.root = collective_ == Collective::kBroadcast ? o_.root : -1;
      if (!Measure(shape, false, &row.out_of_place) || !Measure(shape, true, &row.in_place)) {
        return false;
      }
      emit_(FormatRow(row));
      busbw_sum += row.out_of_place.busbw_gbps + row.in_place.busbw_gbps;
      for (const Timings* t : {&row.out_of_place, &row.in_place}) {
        if (t->wrong > 0) summary->wrong_total += t->wrong;
      }
      summary->rows++;
      summary->max_size_bytes = row.size_bytes;
    }
    summary->avg_busbw_gbps = busbw_sum / (2.0 * static_cast<double>(summary->rows));
    return true;
  }

  bool Allocate(const RowShape& largest) {
    send_bytes_ = largest.send_elements * element_;
    whole_bytes_ = largest.size_bytes;  // >= send and receive buffers
    host_.assign(whole_bytes_ == 0 ? 1 : whole_bytes_, 0);
    return Cu(cuda_.mem_alloc(&send_, send_bytes_ ? send_bytes_ : 1), "cuMemAlloc") &&
           Cu(cuda_.mem_alloc(&recv_, whole_bytes_ ? whole_bytes_ : 1), "cuMemAlloc");
  }

  struct Pointers {
    CuDevicePtr send = 0;
    CuDevicePtr recv = 0;
  };
  // In place, recv_ holds the whole buffer: all-gather sends from its own slot of the
  // output, reduce-scatter receives into its own slot of the input.
  Pointers BuffersFor(const RowShape& shape, bool in_place) const {
    if (!in_place) return {send_, recv_};
    CuDevicePtr slot = recv_ + static_cast<CuDevicePtr>(o_.rank) * shape.count * element_;
    switch (collective_) {
      case Collective::kAllGather:
        return {slot, recv_};
      case Collective::kReduceScatter:
        return {recv_, slot};
      default:
        return {recv_, recv_};
    }
  }

  // Period after which input and expected values repeat (see collective_math.h).
  size_t Period() const { return 4 * static_cast<size_t>(o_.nranks); }

  // Writes this rank's input into the send buffer (in place: into its slot of the whole
  // buffer) and zeroes the output.
  bool Fill(const RowShape& shape, bool in_place) {
    Pointers p = BuffersFor(shape, in_place);
    const size_t recv_bytes = shape.recv_elements * element_;
    const size_t send_bytes = shape.send_elements * element_;
    std::memset(host_.data(), 0, host_.size());
    if (recv_bytes > 0 &&
        !Cu(cuda_.memcpy_htod(p.recv, host_.data(), recv_bytes), "cuMemcpyHtoD")) {
      return false;
    }
    const size_t period = Period();
    for (size_t i = 0; i < shape.send_elements; ++i) {
      unsigned char* at = host_.data() + i * element_;
      if (i < period) {
        EncodeValue(type_, InputValue(redop_, o_.rank, o_.nranks, i), at);
      } else {
        std::memcpy(at, host_.data() + (i % period) * element_, element_);
      }
    }
    return send_bytes == 0 ||
           Cu(cuda_.memcpy_htod(p.send, host_.data(), send_bytes), "cuMemcpyHtoD");
  }

  bool Launch(const RowShape& shape, bool in_place) {
    Pointers p = BuffersFor(shape, in_place);
    const void* send = reinterpret_cast<const void*>(p.send);
    void* recv = reinterpret_cast<void*>(p.recv);
    switch (collective_) {
      case Collective::kAllReduce:
        return Nccl(nccl_.all_reduce(send, recv, shape.count, type_, redop_, comm_, stream_),
                    "ncclAllReduce");
      case Collective::kAllGather:
        return Nccl(nccl_.all_gather(send, recv, shape.count, type_, comm_, stream_),
                    "ncclAllGather");
      case Collective::kReduceScatter:
        return Nccl(nccl_.reduce_scatter(send, recv, shape.count, type_, redop_, comm_, stream_),
                    "ncclReduceScatter");
      default:
        return Nccl(nccl_.broadcast(send, recv, shape.count, type_, o_.root, comm_, stream_),
                    "ncclBroadcast");
    }
  }

  // Waits for `event`, watching NCCL's asynchronous errors (a peer that died) meanwhile.
  bool Wait(CuEvent event) {
    for (unsigned polls = 0;; ++polls) {
      CuResult r = cuda_.event_query(event);
      if (r == nccl_api::kCudaSuccess) return true;
      if (r != nccl_api::kCudaErrorNotReady) return Cu(r, "cuEventQuery");
      if (polls % 256 == 0) {
        nccl_api::Result async = nccl_api::kSuccess;
        if (!Nccl(nccl_.comm_get_async_error(comm_, &async), "ncclCommGetAsyncError")) return false;
        if (async != nccl_api::kSuccess && async != nccl_api::kInProgress) {
          return Nccl(async, "NCCL asynchronous error");
        }
      }
      struct timespec nap = {0, 20000};
      nanosleep(&nap, nullptr);
    }
  }

  bool Iterate(const RowShape& shape, bool in_place, int64_t iterations) {
    for (int64_t i = 0; i < iterations; ++i) {
      if (!Launch(shape, in_place)) return false;
    }
    return Cu(cuda_.event_record(stop_, stream_), "cuEventRecord") && Wait(stop_);
  }

  bool Measure(const RowShape& shape, bool in_place, Timings* out) {
    if (!Fill(shape, in_place) || !Iterate(shape, in_place, o_.warmup_iters)) return false;
    if (!Cu(cuda_.event_record(start_, stream_), "cuEventRecord") ||
        !Iterate(shape, in_place, o_.iters)) {
      return false;
    }
    float ms = 0;
    if (!Cu(cuda_.event_elapsed_time(&ms, start_, stop_), "cuEventElapsedTime")) return false;
    out->time_us = static_cast<double>(ms) * 1000.0 / static_cast<double>(o_.iters);
    out->algbw_gbps =
        out->time_us > 0 ? static_cast<double>(shape.size_bytes) / (out->time_us * 1e3) : 0;
    out->busbw_gbps = out->algbw_gbps * BusBandwidthFactor(collective_, o_.nranks);
    out->wrong = -1;
    if (!o_.check) return true;
    return Fill(shape, in_place) && Iterate(shape, in_place, 1) &&
           Check(shape, in_place, &out->wrong);
  }

  bool Check(const RowShape& shape, bool in_place, int64_t* wrong) {
    Pointers p = BuffersFor(shape, in_place);
    const size_t elements = shape.recv_elements;
    if (elements > 0 &&
        !Cu(cuda_.memcpy_dtoh(host_.data(), p.recv, elements * element_), "cuMemcpyDtoH")) {
      return false;
    }
    // Output positions [block*len, (block+1)*len) repeat with Period() inside a block.
    const bool gather = collective_ == Collective::kAllGather;
    const size_t blocks = gather ? static_cast<size_t>(o_.nranks) : 1;
    const size_t len = gather ? shape.count : elements;
    const size_t period = Period();
    std::vector<unsigned char> pattern(period * element_);
    std::vector<double> expected(period);
    *wrong = 0;
    for (size_t block = 0; block < blocks; ++block) {
      size_t first = block * len;
      for (size_t k = 0; k < period && k < len; ++k) {
        expected[k] =
            ExpectedValue(collective_, redop_, o_.root, o_.rank, o_.nranks, shape.count, first + k);
        EncodeValue(type_, expected[k], pattern.data() + k * element_);
      }
      for (size_t i = 0; i < len; ++i) {
        const unsigned char* got = host_.data() + (first + i) * element_;
        size_t k = i % period;
        if (std::memcmp(got, pattern.data() + k * element_, element_) == 0) continue;
        double diff = DecodeValue(type_, got) - expected[k];
        if (!(diff <= Tolerance(redop_, type_, expected[k]) &&
              -diff <= Tolerance(redop_, type_, expected[k]))) {
          ++*wrong;
        }
      }
    }
    return true;
  }

  void TearDown() {
    if (comm_ != nullptr) {
      // After a failure a peer may never answer: abort instead of a destroy that waits.
      if (error_.empty()) {
        nccl_.comm_destroy(comm_);
      } else {
        nccl_.comm_abort(comm_);
      }
      comm_ = nullptr;
    }
    if (send_ != 0) cuda_.mem_free(send_);
    if (recv_ != 0) cuda_.mem_free(recv_);
    if (start_ != nullptr) cuda_.event_destroy(start_);
    if (stop_ != nullptr) cuda_.event_destroy(stop_);
    if (stream_ != nullptr) cuda_.stream_destroy(stream_);
    if (context_retained_) cuda_.primary_ctx_release(device_);
  }

  const WorkerOptions& o_;
  const NcclLibrary& nccl_;
  const CudaDriver& cuda_;
  const std::function<void(const std::string&)>& emit_;
  std::string error_;
  Collective collective_ = Collective::kAllReduce;
  nccl_api::DataType type_ = nccl_api::kFloat32;
  nccl_api::RedOp redop_ = nccl_api::kSum;
  size_t element_ = 4;
  nccl_api::CuDevice device_ = 0;
  nccl_api::CuContext context_ = nullptr;
  bool context_retained_ = false;
  nccl_api::Stream stream_ = nullptr;
  CuEvent start_ = nullptr;
  CuEvent stop_ = nullptr;
  nccl_api::Comm comm_ = nullptr;
  size_t local_cap_ = 0;
  CuDevicePtr send_ = 0;
  CuDevicePtr recv_ = 0;
  size_t send_bytes_ = 0;
  size_t whole_bytes_ = 0;
  std::vector<unsigned char> host_;
};

}  // namespace

int RunCollectiveBench(const WorkerOptions& options, const NcclLibrary& nccl,
                       const CudaDriver& cuda,
                       const std::function<void(const std::string&)>& emit) {
  Bench bench(options, nccl, cuda, emit);
  return bench.Run();
}

}  // namespace sparkfleet::nccl_worker
