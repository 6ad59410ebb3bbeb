// Shared plumbing for the CUDA twins: error checking, an owning device buffer, launch sizes and the
// warp/block reductions the row- and sample-wise kernels are built from.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>

#include "../kernels.h"

namespace oa::cuda {

[[noreturn]] inline void fail(cudaError_t err, const char* what) {
  // Reset the non-sticky error state so that the next call does not inherit this failure.
  cudaGetLastError();
  throw KernelError(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" + what + ")");
}

#define OA_CUDA_CHECK(call)                                                \
  do {                                                                     \
    const cudaError_t oa_cuda_err_ = (call);                               \
    if (oa_cuda_err_ != cudaSuccess) ::oa::cuda::fail(oa_cuda_err_, #call); \
  } while (0)

// A bad launch configuration is reported at once, a fault in the kernel only at synchronisation;
// checking both here ties either to the kernel that caused it.
inline void check_launch(const char* kernel) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) err = cudaDeviceSynchronize();
  if (err != cudaSuccess) fail(err, kernel);
}

// Thrust reports failures as its own exceptions; the contract promises KernelError.
template <typename Body>
void with_thrust(const char* what, Body body) {
  try {
    body();
  } catch (const KernelError&) {
    throw;
  } catch (const std::exception& e) {
    cudaGetLastError();
    throw KernelError(std::string("CUDA error in ") + what + ": " + e.what());
  }
}

// Owning, move-only device allocation; zero elements allocate nothing, so n == 0 needs no case.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(int64_t count) : count_(count > 0 ? static_cast<size_t>(count) : 0) {
    if (count_ > 0) OA_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), bytes()));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      ptr_ = std::exchange(other.ptr_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  T* get() const { return ptr_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

  void upload(const T* host) {
    if (count_ > 0) OA_CUDA_CHECK(cudaMemcpy(ptr_, host, bytes(), cudaMemcpyHostToDevice));
  }
  void download(T* host) const {
    if (count_ > 0) OA_CUDA_CHECK(cudaMemcpy(host, ptr_, bytes(), cudaMemcpyDeviceToHost));
  }
  void zero() {
    if (count_ > 0) OA_CUDA_CHECK(cudaMemset(ptr_, 0, bytes()));
  }

 private:
  void release() noexcept {
    if (ptr_ != nullptr) cudaFree(ptr_);  // a destructor must not throw; a failed free is moot
    ptr_ = nullptr;
    count_ = 0;
  }

  T* ptr_ = nullptr;
  size_t count_ = 0;
};

template <typename T>
DeviceBuffer<T> to_device(const T* host, int64_t count) {
  DeviceBuffer<T> buffer(count);
  buffer.upload(host);
  return buffer;
}

constexpr int kThreads = 256;  // every kernel here runs full warps: the reductions rely on it
constexpr int kWarpsPerBlock = kThreads / 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int64_t kMaxBlocks = 65535;  // kernels loop over their items, so any cap is correct

// Blocks for a grid-stride loop over `items` with one item per thread (or per warp when
// per_block is kWarpsPerBlock, or per block when it is 1).
inline unsigned grid_for(int64_t items, int64_t per_block = kThreads) {
  const int64_t blocks = (items + per_block - 1) / per_block;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(blocks, kMaxBlocks)));
}

// Butterfly reductions: every lane ends with the bitwise same value (each step combines the same
// two operands in every lane of a pair), so warp-uniform branches on the result are safe.
__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
__device__ __forceinline__ double warp_max(double v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmax(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// Block-wide reductions returning the total to every thread, in a fixed order, so the result is
// deterministic and identical across the block (the projection's bisection branches on it). Every
// thread of the block must call them.
__device__ inline double block_sum(double v) {
  __shared__ double partial[32];
  v = warp_sum(v);
  __syncthreads();  // the previous call's readers are done with `partial`
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  double total = 0.0;
  for (unsigned w = 0; w < (blockDim.x + 31) / 32; ++w) total += partial[w];
  return total;
}
__device__ inline double block_max(double v) {
  __shared__ double partial[32];
  v = warp_max(v);
  __syncthreads();
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  double best = partial[0];
  for (unsigned w = 1; w < (blockDim.x + 31) / 32; ++w) best = fmax(best, partial[w]);
  return best;
}

// A NaN passes through, as with std::clamp.
template <typename T>
__device__ __forceinline__ T clamp_to(T x, T lo, T hi) {
  return x < lo ? lo : (hi < x ? hi : x);
}

}  // namespace oa::cuda
