// Argument checking for every binding: a JS value either converts to exactly what the kernel
// expects or the call ends with a TypeError/RangeError naming the function and the argument.
// Kernels never see an unchecked pointer or size.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../kernels/kernels.h"

namespace oa::addon {

// A typed array argument: its data pointer, element count and the JS object that owns it (kept
// alive by async work through a reference).
template <typename T>
struct Buffer {
  T* data;
  int64_t length;
  Napi::Object owner;
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  Napi::Env env() const { return info_.Env(); }
  [[noreturn]] void type_error(size_t i, const std::string& what) const;
  [[noreturn]] void range_error(size_t i, const std::string& what) const;
  [[noreturn]] void range_error(const std::string& what) const;

  Buffer<float> float32(size_t i) const;
  Buffer<double> float64(size_t i) const;
  Buffer<int32_t> int32(size_t i) const;
  Buffer<uint8_t> uint8(size_t i) const;

  double number(size_t i) const;           // finite
  double positive(size_t i) const;         // finite, > 0
  int64_t integer(size_t i, int64_t min, int64_t max) const;
  bool boolean(size_t i) const;
  uint64_t uint64(size_t i) const;         // a BigInt or a non-negative safe integer
  std::string one_of(size_t i, const std::vector<std::string>& choices) const;
  Device device(size_t i) const;           // 'cpu' | 'cuda', checked against what is available

  // A per-sample parameter: a Float32Array of length n, each finite and >= 0.
  Buffer<float> per_sample(size_t i, int64_t n) const;
  // The number of rows of a flat [rows, width] buffer given as argument i; width must divide its
  // length (`what` names the width in the message, e.g. "k" or "d").
  int64_t rows(size_t i, int64_t length, int64_t width, const char* what) const;
  // Checks length == expected for argument i.
  void expect_length(size_t i, int64_t length, int64_t expected, const char* meaning) const;
  // Labels in [0, k).
  void check_labels(size_t i, const Buffer<int32_t>& labels, int64_t k) const;

 private:
  template <typename T>
  Buffer<T> typed(size_t i, napi_typedarray_type type, const char* type_name) const;
  std::string where(size_t i) const;

  const Napi::CallbackInfo& info_;
  const char* fn_;
};

}  // namespace oa::addon
