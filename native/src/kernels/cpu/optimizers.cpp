#include <cmath>

#include "cpu.h"
#include "parallel.h"
#include "simd.h"

namespace oa::cpu {

namespace {
constexpr int64_t kPerThread = 1 << 16;

// The update loops carry no dependence between elements: `omp simd` lets them vectorise without
// the aliasing checks that params, grad and state pointers would otherwise need.
OA_SIMD_CLONES void sgd_chunk(float* params, const float* grad, float* momentum_buf, int64_t n,
                              const SgdOptions o, bool first_step) {
  const bool use_momentum = o.momentum != 0.0f, decay = o.weight_decay != 0.0f;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    // As in PyTorch, no decay term at all when weight_decay is 0 (an Inf weight stays Inf, not NaN).
    float g = decay ? grad[i] + o.weight_decay * params[i] : grad[i];
    if (use_momentum) {
      const float buf = first_step ? g : o.momentum * momentum_buf[i] + (1.0f - o.dampening) * g;
      momentum_buf[i] = buf;
      g = o.nesterov ? g + o.momentum * buf : buf;
    }
    params[i] -= o.lr * g;
  }
}

OA_SIMD_CLONES void adam_chunk(float* params, const float* grad, float* m, float* v, int64_t n,
                               const AdamOptions o, float step_size, float sqrt_correction2) {
  const float decay = o.decoupled ? 1.0f - o.lr * o.weight_decay : 1.0f;
  const float l2 = o.decoupled ? 0.0f : o.weight_decay;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float p = params[i] * decay;
    const float g = l2 != 0.0f ? grad[i] + l2 * params[i] : grad[i];
    m[i] = o.beta1 * m[i] + (1.0f - o.beta1) * g;
    v[i] = o.beta2 * v[i] + (1.0f - o.beta2) * g * g;
    // PyTorch's order: p - step_size * (m / (sqrt(v) / sqrt(c2) + eps)).
    params[i] = p - step_size * (m[i] / (std::sqrt(v[i]) / sqrt_correction2 + o.eps));
  }
}
}  // namespace

void sgd_step(int threads, float* params, const float* grad, float* momentum_buf, int64_t n,
              const SgdOptions& o, int64_t step) {
  parallel_for(threads, n, kPerThread, [&](int64_t begin, int64_t end) {
    sgd_chunk(params + begin, grad + begin, momentum_buf + begin, end - begin, o, step == 0);
  });
}

void adam_step(int threads, float* params, const float* grad, float* m, float* v, int64_t n,
               const AdamOptions& o, int64_t step) {
  const double t = static_cast<double>(step + 1);
  const float correction1 = static_cast<float>(1.0 - std::pow(double(o.beta1), t));
  const float sqrt_correction2 = static_cast<float>(std::sqrt(1.0 - std::pow(double(o.beta2), t)));
  parallel_for(threads, n, kPerThread, [&](int64_t begin, int64_t end) {
    adam_chunk(params + begin, grad + begin, m + begin, v + begin, end - begin, o,
               o.lr / correction1, sqrt_correction2);
  });
}

}  // namespace oa::cpu
