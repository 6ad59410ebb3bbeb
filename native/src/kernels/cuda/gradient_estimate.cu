#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

// One thread per output coordinate (s, j); neighbouring threads read neighbouring u[s, i, j], so
// the loads coalesce. The q-term sum is float64, in query order.
__global__ void estimate(const float* f_plus, const float* f_minus, const float* u, int64_t b,
                         int64_t q, int64_t d, double scale, float* out) {
  const int64_t total = b * d, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t s = t / d, j = t % d;
    const float* fp = f_plus + s * q;
    const float* fm = f_minus + s * q;
    const float* us = u + s * q * d + j;
    double acc = 0.0;
    for (int64_t i = 0; i < q; ++i)
      acc += (static_cast<double>(fp[i]) - fm[i]) * us[i * d];
    out[t] = static_cast<float>(acc * scale);
  }
}

}  // namespace

void gradient_estimate(const float* f_plus, const float* f_minus, const float* u, int64_t b,
                       int64_t q, int64_t d, float sigma, float* out) {
  if (b <= 0 || d <= 0) return;
  auto d_plus = to_device(f_plus, b * q);
  auto d_minus = to_device(f_minus, b * q);
  auto d_u = to_device(u, b * q * d);
  DeviceBuffer<float> d_out(b * d);
  const double scale = 1.0 / (2.0 * static_cast<double>(sigma) * static_cast<double>(q));
  estimate<<<grid_for(b * d), kThreads>>>(d_plus.get(), d_minus.get(), d_u.get(), b, q, d, scale,
                                          d_out.get());
  check_launch("gradient_estimate");
  d_out.download(out);
}

}  // namespace oa::cuda
