#include <cmath>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

// Float32 per element, in the order the formulas in kernels.h are written. nvcc would fuse a * b + c
// into one FMA (one rounding instead of two); the _rn intrinsics keep each operation rounded on
// its own, as the CPU computes it, so both twins agree to the bit.
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }

__global__ void sgd(float* params, const float* grad, float* momentum_buf, int64_t n, SgdOptions o,
                    bool first_step) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float p = params[i];
    // PyTorch adds the decay term only when weight_decay != 0 (0 * inf would be NaN).
    float g = o.weight_decay != 0.0f ? add(grad[i], mul(o.weight_decay, p)) : grad[i];
    if (o.momentum != 0.0f) {
      const float buf = first_step ? g
                                   : add(mul(o.momentum, momentum_buf[i]),
                                         mul(sub(1.0f, o.dampening), g));
      momentum_buf[i] = buf;
      g = o.nesterov ? add(g, mul(o.momentum, buf)) : buf;
    }
    params[i] = sub(p, mul(o.lr, g));
  }
}

__global__ void adam(float* params, const float* grad, float* m, float* v, int64_t n, AdamOptions o,
                     float step_size, float sqrt_correction2) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float p = params[i];
    float g = grad[i];
    if (o.weight_decay != 0.0f) {
      if (o.decoupled) p = mul(p, sub(1.0f, mul(o.lr, o.weight_decay)));
      else g = add(g, mul(o.weight_decay, p));
    }
    const float mi = add(mul(o.beta1, m[i]), mul(sub(1.0f, o.beta1), g));
    const float vi = add(mul(o.beta2, v[i]), mul(sub(1.0f, o.beta2), mul(g, g)));
    m[i] = mi;
    v[i] = vi;
    // PyTorch's order, as the CPU twin: p - step_size * (m / (sqrt(v) / sqrt(c2) + eps)).
    const float denom = add(sqrtf(vi) / sqrt_correction2, o.eps);  // IEEE division and sqrt
    params[i] = sub(p, mul(step_size, mi / denom));
  }
}

}  // namespace

void sgd_step(float* params, const float* grad, float* momentum_buf, int64_t n, const SgdOptions& o,
              int64_t step) {
  if (n <= 0) return;
  const bool with_momentum = o.momentum != 0.0f;
  if (with_momentum && momentum_buf == nullptr)
    throw KernelError("sgd_step: momentum != 0 needs a momentum buffer");
  auto d_params = to_device(params, n);
  auto d_grad = to_device(grad, n);
  DeviceBuffer<float> d_buf(with_momentum ? n : 0);
  if (with_momentum) d_buf.upload(momentum_buf);
  sgd<<<grid_for(n), kThreads>>>(d_params.get(), d_grad.get(), d_buf.get(), n, o, step == 0);
  check_launch("sgd_step");
  d_params.download(params);
  if (with_momentum) d_buf.download(momentum_buf);
}

void adam_step(float* params, const float* grad, float* m, float* v, int64_t n, const AdamOptions& o,
               int64_t step) {
  if (n <= 0) return;
  // Bias corrections in float64 on the host (pow of a float32 beta to a large t loses little
  // there), then rounded once to float32 for the per-element arithmetic.
  const double t = static_cast<double>(step + 1);
  const float correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta1), t));
  const float sqrt_correction2 = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(o.beta2), t)));
  const float step_size = o.lr / correction1;
  auto d_params = to_device(params, n);
  auto d_grad = to_device(grad, n);
  auto d_m = to_device(m, n);
  auto d_v = to_device(v, n);
  adam<<<grid_for(n), kThreads>>>(d_params.get(), d_grad.get(), d_m.get(), d_v.get(), n, o, step_size,
                                  sqrt_correction2);
  check_launch("adam_step");
  d_params.download(params);
  d_m.download(m);
  d_v.download(v);
}

}  // namespace oa::cuda
