#include <cmath>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

// One warp per row: rows are short (k is 10 to 1000), so a warp keeps its lanes busy without
// block-wide synchronisation. The arithmetic is float64 so that z / T cannot overflow for a small
// T and the float32 results are rounded once, from an accurate value.
__global__ void softmax_rows(const float* logits, int64_t n, int64_t k, double temperature,
                             bool log_out, float* out) {
  const int lane = threadIdx.x & 31;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
       row < n; row += stride) {
    const float* z = logits + row * k;
    float* o = out + row * k;

    double m = -INFINITY;
    bool undefined = false;
    for (int64_t j = lane; j < k; j += 32) {
      const float v = z[j];
      if (isnan(v) || v == INFINITY) undefined = true;
      else m = fmax(m, static_cast<double>(v));
    }
    m = warp_max(m);
    undefined = __any_sync(kFullMask, undefined) || m == -INFINITY;
    if (undefined) {
      for (int64_t j = lane; j < k; j += 32) o[j] = NAN;
      continue;
    }

    // T > 0, so max(z) / T is the maximum of z / T; -Inf entries give exp(-Inf) = 0.
    double sum = 0.0;
    for (int64_t j = lane; j < k; j += 32) sum += exp((z[j] - m) / temperature);
    sum = warp_sum(sum);
    const double log_sum = log(sum);
    for (int64_t j = lane; j < k; j += 32) {
      const double shifted = (z[j] - m) / temperature;
      o[j] = static_cast<float>(log_out ? shifted - log_sum : exp(shifted) / sum);
    }
  }
}

}  // namespace

void softmax(const float* logits, int64_t n, int64_t k, float temperature, bool log, float* out) {
  if (n <= 0 || k <= 0) return;
  auto d_logits = to_device(logits, n * k);
  DeviceBuffer<float> d_out(n * k);
  softmax_rows<<<grid_for(n, kWarpsPerBlock), kThreads>>>(d_logits.get(), n, k, temperature, log,
                                                          d_out.get());
  check_launch("softmax_rows");
  d_out.download(out);
}

}  // namespace oa::cuda
