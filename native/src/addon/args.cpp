#include "args.h"

#include <cmath>

namespace oa::addon {

std::string Args::where(size_t i) const {
  return std::string(fn_) + ": argument " + std::to_string(i + 1) + " ";
}

void Args::type_error(size_t i, const std::string& what) const {
  throw Napi::TypeError::New(env(), where(i) + what);
}

void Args::range_error(size_t i, const std::string& what) const {
  throw Napi::RangeError::New(env(), where(i) + what);
}

void Args::range_error(const std::string& what) const {
  throw Napi::RangeError::New(env(), std::string(fn_) + ": " + what);
}

template <typename T>
Buffer<T> Args::typed(size_t i, napi_typedarray_type type, const char* type_name) const {
  if (i >= info_.Length() || !info_[i].IsTypedArray())
    type_error(i, std::string("must be a ") + type_name);
  auto array = info_[i].As<Napi::TypedArray>();
  if (array.TypedArrayType() != type) type_error(i, std::string("must be a ") + type_name);
  // A detached buffer (transferred to a worker, say) has no data: refuse it rather than read it.
  if (array.ArrayBuffer().Data() == nullptr && array.ElementLength() > 0)
    type_error(i, "is detached");
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return {reinterpret_cast<T*>(base), static_cast<int64_t>(array.ElementLength()), array};
}

Buffer<float> Args::float32(size_t i) const { return typed<float>(i, napi_float32_array, "Float32Array"); }
Buffer<double> Args::float64(size_t i) const { return typed<double>(i, napi_float64_array, "Float64Array"); }
Buffer<int32_t> Args::int32(size_t i) const { return typed<int32_t>(i, napi_int32_array, "Int32Array"); }
Buffer<uint8_t> Args::uint8(size_t i) const { return typed<uint8_t>(i, napi_uint8_array, "Uint8Array"); }

double Args::number(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsNumber()) type_error(i, "must be a number");
  const double v = info_[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) range_error(i, "must be finite, got " + std::to_string(v));
  return v;
}

double Args::positive(size_t i) const {
  const double v = number(i);
  if (!(v > 0)) range_error(i, "must be > 0, got " + std::to_string(v));
  return v;
}

int64_t Args::integer(size_t i, int64_t min, int64_t max) const {
  const double v = number(i);
  if (v != std::floor(v)) range_error(i, "must be an integer, got " + std::to_string(v));
  if (v < static_cast<double>(min) || v > static_cast<double>(max))
    range_error(i, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                       std::to_string(static_cast<int64_t>(v)));
  return static_cast<int64_t>(v);
}

bool Args::boolean(size_t i) const {
  if (i >= info_.Length() || !info_[i].IsBoolean()) type_error(i, "must be a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

uint64_t Args::uint64(size_t i) const {
  if (i < info_.Length() && info_[i].IsBigInt()) {
    bool lossless = false;
    const uint64_t v = info_[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) range_error(i, "must fit in an unsigned 64-bit integer");
    return v;
  }
  if (i < info_.Length() && info_[i].IsNumber())
    return static_cast<uint64_t>(integer(i, 0, (int64_t{1} << 53) - 1));
  type_error(i, "must be a bigint or a non-negative integer");
}

std::string Args::one_of(size_t i, const std::vector<std::string>& choices) const {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
  if (i >= info_.Length() || !info_[i].IsString()) type_error(i, "must be one of " + list);
  const std::string v = info_[i].As<Napi::String>().Utf8Value();
  for (const auto& c : choices)
    if (v == c) return v;
  range_error(i, "must be one of " + list + ", got '" + v + "'");
}

Device Args::device(size_t i) const {
  if (one_of(i, {"cpu", "cuda"}) == "cpu") return Device::Cpu;
  const CudaInfo cuda = cuda_info();
  if (!cuda.available) throw Napi::Error::New(env(), std::string(fn_) + ": CUDA is not available: " + cuda.reason);
  return Device::Cuda;
}

Buffer<float> Args::per_sample(size_t i, int64_t n) const {
  Buffer<float> b = float32(i);
  expect_length(i, b.length, n, "one value per sample");
  for (int64_t s = 0; s < n; ++s)
    if (!(std::isfinite(b.data[s]) && b.data[s] >= 0))
      range_error(i, "must hold finite values >= 0, got " + std::to_string(b.data[s]) +
                         " at index " + std::to_string(s));
  return b;
}

int64_t Args::rows(size_t i, int64_t length, int64_t width, const char* what) const {
  if (length % width != 0)
    range_error(i, "has length " + std::to_string(length) + ", not a multiple of " + what + " = " + std::to_string(width));
  return length / width;
}

void Args::expect_length(size_t i, int64_t length, int64_t expected, const char* meaning) const {
  if (length != expected)
    range_error(i, "has length " + std::to_string(length) + ", expected " +
                       std::to_string(expected) + " (" + meaning + ")");
}

void Args::check_labels(size_t i, const Buffer<int32_t>& labels, int64_t k) const {
  for (int64_t s = 0; s < labels.length; ++s)
    if (labels.data[s] < 0 || labels.data[s] >= k)
      range_error(i, "holds label " + std::to_string(labels.data[s]) + " at index " +
                         std::to_string(s) + ", outside [0, " + std::to_string(k) + ")");
}

}  // namespace oa::addon
