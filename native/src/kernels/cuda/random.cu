#include <cmath>

#include "../philox.h"
#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

// Every number comes from oa::philox by its absolute stream index (offset + position), so the
// launch shape cannot change the values and the CPU twin draws the same ones.

__global__ void fill(bool normal, uint64_t seed, uint64_t offset, int64_t count, float* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const uint64_t j = offset + static_cast<uint64_t>(i);
    out[i] = normal ? philox::normal(seed, j) : philox::uniform(seed, j);
  }
}

__global__ void linf_ball(const float* x0, int64_t n, int64_t d, const float* eps, float lo,
                          float hi, uint64_t seed, uint64_t offset, float* out) {
  const int64_t total = n * d, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const float u = philox::uniform(seed, offset + static_cast<uint64_t>(i));
    // 2u - 1 is exact; the explicit roundings keep nvcc from fusing into an FMA, so the float32
    // result is bitwise the CPU's.
    out[i] = clamp_to(__fadd_rn(x0[i], __fmul_rn(eps[i / d], 2.0f * u - 1.0f)), lo, hi);
  }
}

// One block per sample: out first receives the raw normals, then, once the block knows their
// float64 norm, the result. With x0 == nullptr it writes the unit direction itself; otherwise the
// point x0 + radius * direction in the box. A zero direction (all normals 0) is left as zeros.
__global__ void l2_ball(const float* x0, int64_t n, int64_t d, const float* eps, float lo, float hi,
                        uint64_t seed, uint64_t offset, float* out) {
  for (int64_t s = blockIdx.x; s < n; s += gridDim.x) {
    float* os = out + s * d;
    const uint64_t first = offset + static_cast<uint64_t>(s) * static_cast<uint64_t>(d);
    double squares = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const float z = philox::normal(seed, first + static_cast<uint64_t>(j));
      os[j] = z;
      squares += static_cast<double>(z) * z;
    }
    const double norm = sqrt(block_sum(squares));
    if (x0 == nullptr) {
      for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
        os[j] = norm > 0.0 ? static_cast<float>(os[j] / norm) : 0.0f;
      continue;
    }
    const float* xs = x0 + s * d;
    const double u = philox::uniform(seed, offset + static_cast<uint64_t>(s));
    const double radius = eps[s] * pow(u, 1.0 / static_cast<double>(d));
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const double step = norm > 0.0 ? radius * (os[j] / norm) : 0.0;
      os[j] = clamp_to(static_cast<float>(xs[j] + step), lo, hi);
    }
  }
}

}  // namespace

void random_fill(Distribution dist, uint64_t seed, uint64_t offset, int64_t count, float* out) {
  if (count <= 0) return;
  DeviceBuffer<float> d_out(count);
  fill<<<grid_for(count), kThreads>>>(dist == Distribution::Normal, seed, offset, count, d_out.get());
  check_launch("random fill");
  d_out.download(out);
}

void random_linf_ball(const float* x0, int64_t n, int64_t d, const float* eps, float lo, float hi,
                      uint64_t seed, uint64_t offset, float* out) {
  if (n <= 0 || d <= 0) return;
  auto d_x0 = to_device(x0, n * d);
  auto d_eps = to_device(eps, n);
  DeviceBuffer<float> d_out(n * d);
  linf_ball<<<grid_for(n * d), kThreads>>>(d_x0.get(), n, d, d_eps.get(), lo, hi, seed, offset,
                                           d_out.get());
  check_launch("random_linf_ball");
  d_out.download(out);
}

void random_l2_ball(const float* x0, int64_t n, int64_t d, const float* eps, float lo, float hi,
                    uint64_t seed, uint64_t offset, float* out) {
  if (n <= 0 || d <= 0) return;
  auto d_x0 = to_device(x0, n * d);
  auto d_eps = to_device(eps, n);
  DeviceBuffer<float> d_out(n * d);
  l2_ball<<<grid_for(n, 1), kThreads>>>(d_x0.get(), n, d, d_eps.get(), lo, hi, seed, offset,
                                        d_out.get());
  check_launch("random_l2_ball");
  d_out.download(out);
}

void unit_directions(int64_t n, int64_t d, uint64_t seed, uint64_t offset, float* out) {
  if (n <= 0 || d <= 0) return;
  DeviceBuffer<float> d_out(n * d);
  l2_ball<<<grid_for(n, 1), kThreads>>>(nullptr, n, d, nullptr, 0.0f, 0.0f, seed, offset,
                                        d_out.get());
  check_launch("unit_directions");
  d_out.download(out);
}

}  // namespace oa::cuda
