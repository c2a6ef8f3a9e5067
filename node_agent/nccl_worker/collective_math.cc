#include "node_agent/nccl_worker/collective_math.h"

#include <cmath>
#include <cstring>

namespace sparkfleet::nccl_worker {
namespace {

using nccl_api::DataType;
using nccl_api::RedOp;

struct Named {
  int value;
  const char* name;
};

constexpr Named kCollectives[] = {{static_cast<int>(Collective::kAllReduce), "all_reduce"},
                                  {static_cast<int>(Collective::kAllGather), "all_gather"},
                                  {static_cast<int>(Collective::kReduceScatter), "reduce_scatter"},
                                  {static_cast<int>(Collective::kBroadcast), "broadcast"}};
constexpr Named kTypes[] = {{nccl_api::kInt8, "int8"},      {nccl_api::kUint8, "uint8"},
                            {nccl_api::kInt32, "int32"},    {nccl_api::kUint32, "uint32"},
                            {nccl_api::kInt64, "int64"},    {nccl_api::kUint64, "uint64"},
                            {nccl_api::kFloat16, "half"},   {nccl_api::kFloat32, "float"},
                            {nccl_api::kFloat64, "double"}, {nccl_api::kBfloat16, "bfloat16"}};
constexpr Named kRedOps[] = {{nccl_api::kSum, "sum"},
                             {nccl_api::kProd, "prod"},
                             {nccl_api::kMax, "max"},
                             {nccl_api::kMin, "min"},
                             {nccl_api::kAvg, "avg"}};

template <size_t N>
const char* NameOf(const Named (&table)[N], int value) {
  for (const Named& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <size_t N>
bool ValueOf(const Named (&table)[N], const std::string& name, int* value) {
  for (const Named& entry : table) {
    if (name == entry.name) {
      *value = entry.value;
      return true;
    }
  }
  return false;
}

uint16_t FloatToHalf(float value) {
  uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exponent = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 31) return sign | 0x7c00;
  if (exponent <= 0) {  // subnormal half: m * 2^-24
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - exponent);
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exponent) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // a carry bumps the exponent
  return static_cast<uint16_t>(half);
}

float HalfToFloat(uint16_t half) {
  uint32_t sign = (half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {
    float v = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -v : v;
  }
  uint32_t bits = exponent == 31 ? (sign | 0x7f800000u | (mantissa << 13))
                                 : (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

uint16_t FloatToBfloat16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, sizeof x);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 0x40);  // NaN
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

float Bfloat16ToFloat(uint16_t bits16) {
  uint32_t bits = static_cast<uint32_t>(bits16) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

template <typename T>
void Store(double value, void* out) {
  T v = static_cast<T>(std::llround(value));
  std::memcpy(out, &v, sizeof v);
}

template <typename T>
double Load(const void* in) {
  T v;
  std::memcpy(&v, in, sizeof v);
  return static_cast<double>(v);
}

double Reduce(RedOp op, int nranks, size_t index) {
  double acc = InputValue(op, 0, nranks, index);
  for (int q = 1; q < nranks; ++q) {
    double v = InputValue(op, q, nranks, index);
    switch (op) {
      case nccl_api::kProd:
        acc *= v;
        break;
      case nccl_api::kMax:
        acc = std::fmax(acc, v);
        break;
      case nccl_api::kMin:
        acc = std::fmin(acc, v);
        break;
      default:
        acc += v;
        break;  // sum, avg
    }
  }
  return op == nccl_api::kAvg ? acc / nranks : acc;
}

}  // namespace

const char* CollectiveName(Collective collective) {
  return NameOf(kCollectives, static_cast<int>(collective));
}
bool ParseCollective(const std::string& name, Collective* out) {
  int value = 0;
  if (!ValueOf(kCollectives, name, &value)) return false;
  *out = static_cast<Collective>(value);
  return true;
}
const char* DataTypeName(DataType type) { return NameOf(kTypes, type); }
bool ParseDataType(const std::string& name, DataType* out) {
  int value = 0;
  if (!ValueOf(kTypes, name, &value)) return false;
  *out = static_cast<DataType>(value);
  return true;
}
const char* RedOpName(RedOp op) { return NameOf(kRedOps, op); }
bool ParseRedOp(const std::string& name, RedOp* out) {
  int value = 0;
  if (!ValueOf(kRedOps, name, &value)) return false;
  *out = static_cast<RedOp>(value);
  return true;
}

size_t DataTypeSize(DataType type) {
  switch (type) {
    case nccl_api::kInt8:
    case nccl_api::kUint8:
      return 1;
    case nccl_api::kFloat16:
    case nccl_api::kBfloat16:
      return 2;
    case nccl_api::kInt32:
    case nccl_api::kUint32:
    case nccl_api::kFloat32:
      return 4;
    default:
      return 8;
  }
}

bool HasReduction(Collective collective) {
  return collective == Collective::kAllReduce || collective == Collective::kReduceScatter;
}

bool IsFloatingType(DataType type) {
  return type == nccl_api::kFloat16 || type == nccl_api::kFloat32 || type == nccl_api::kFloat64 ||
         type == nccl_api::kBfloat16;
}

double BusBandwidthFactor(Collective collective, int nranks) {
  if (nranks < 1) return 0;
  double n = nranks;
  switch (collective) {
    case Collective::kAllReduce:
      return 2 * (n - 1) / n;
    case Collective::kAllGather:
    case Collective::kReduceScatter:
      return (n - 1) / n;
    default:
      return 1;
  }
}

RowShape ShapeFor(Collective collective, DataType type, int nranks, size_t requested_bytes) {
  const size_t element = DataTypeSize(type);
  const size_t n = nranks > 0 ? static_cast<size_t>(nranks) : 1;
  RowShape shape;
  if (collective == Collective::kAllGather || collective == Collective::kReduceScatter) {
    shape.count = requested_bytes / (element * n);
    shape.size_bytes = shape.count * n * element;
    bool gather = collective == Collective::kAllGather;
    shape.send_elements = gather ? shape.count : shape.count * n;
    shape.recv_elements = gather ? shape.count * n : shape.count;
  } else {
    shape.count = requested_bytes / element;
    shape.size_bytes = shape.count * element;
    shape.send_elements = shape.recv_elements = shape.count;
  }
  return shape;
}

std::vector<size_t> SizeSweep(size_t min_bytes, size_t max_bytes, unsigned factor) {
  std::vector<size_t> sizes;
  if (min_bytes == 0 || factor < 2) return sizes;
  for (size_t size = min_bytes; size <= max_bytes; size *= factor) {
    sizes.push_back(size);
    if (size > max_bytes / factor) break;  // the next step would overflow or pass max
  }
  return sizes;
}

size_t MemoryCapBytes(size_t free_bytes, double fraction) {
  if (fraction <= 0) return 0;
  double budget = static_cast<double>(free_bytes) * (fraction > 1 ? 1 : fraction);
  return static_cast<size_t>(budget / 3);
}

double DefaultMemoryFraction(bool integrated) { return integrated ? 0.25 : 0.5; }

double InputValue(RedOp op, int rank, int nranks, size_t index) {
  if (op == nccl_api::kProd) {
    return (nranks > 0 && index % static_cast<size_t>(nranks) == static_cast<size_t>(rank)) ? 2 : 1;
  }
  if (op == nccl_api::kAvg) return 1 + static_cast<double>(index % 4);
  return 1 + static_cast<double>((static_cast<size_t>(rank) + index) % 4);
}

double ExpectedValue(Collective collective, RedOp op, int root, int rank, int nranks, size_t count,
                     size_t index) {
  switch (collective) {
    case Collective::kAllReduce:
      return Reduce(op, nranks, index);
    case Collective::kReduceScatter:
      return Reduce(op, nranks, static_cast<size_t>(rank) * count + index);
    case Collective::kAllGather: {
      if (count == 0) return 0;
      return InputValue(op, static_cast<int>(index / count), nranks, index % count);
    }
    default:
      return InputValue(op, root, nranks, index);
  }
}

double Tolerance(RedOp op, DataType type, double expected) {
  if (op != nccl_api::kAvg || !IsFloatingType(type)) return 0;
  return 1e-2 * std::fabs(expected);
}

void EncodeValue(DataType type, double value, void* out) {
  switch (type) {
    case nccl_api::kInt8:
      return Store<int8_t>(value, out);
    case nccl_api::kUint8:
      return Store<uint8_t>(value, out);
    case nccl_api::kInt32:
      return Store<int32_t>(value, out);
    case nccl_api::kUint32:
      return Store<uint32_t>(value, out);
    case nccl_api::kInt64:
      return Store<int64_t>(value, out);
    case nccl_api::kUint64:
      return Store<uint64_t>(value, out);
    case nccl_api::kFloat16: {
      uint16_t bits = FloatToHalf(static_cast<float>(value));
      std::memcpy(out, &bits, sizeof bits);
      return;
    }
    case nccl_api::kBfloat16: {
      uint16_t bits = FloatToBfloat16(static_cast<float>(value));
      std::memcpy(out, &bits, sizeof bits);
      return;
    }
    case nccl_api::kFloat32: {
      float v = static_cast<float>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    default:
      std::memcpy(out, &value, sizeof value);
  }
}

double DecodeValue(DataType type, const void* in) {
  switch (type) {
    case nccl_api::kInt8:
      return Load<int8_t>(in);
    case nccl_api::kUint8:
      return Load<uint8_t>(in);
    case nccl_api::kInt32:
      return Load<int32_t>(in);
    case nccl_api::kUint32:
      return Load<uint32_t>(in);
    case nccl_api::kInt64:
      return Load<int64_t>(in);
    case nccl_api::kUint64:
      return Load<uint64_t>(in);
    case nccl_api::kFloat16:
      return HalfToFloat(static_cast<uint16_t>(Load<uint16_t>(in)));
    case nccl_api::kBfloat16:
      return Bfloat16ToFloat(static_cast<uint16_t>(Load<uint16_t>(in)));
    case nccl_api::kFloat32:
      return Load<float>(in);
    default:
      return Load<double>(in);
  }
}

}  // namespace sparkfleet::nccl_worker
