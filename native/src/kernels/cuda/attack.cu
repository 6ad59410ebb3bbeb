#include <thrust/execution_policy.h>
#include <thrust/sort.h>

#include <math_constants.h>

#include <cmath>
#include <cstring>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

__device__ __forceinline__ float sign_of(float g) { return g > 0.0f ? 1.0f : (g < 0.0f ? -1.0f : 0.0f); }

__global__ void sign_step(const float* x, const float* g, int64_t n, int64_t d, const float* alpha,
                          float* out) {
  const int64_t total = n * d, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    out[i] = x[i] + alpha[i / d] * sign_of(g[i]);
}

// One block per sample: the norm is a block-wide float64 reduction.
__global__ void l2_step(const float* x, const float* g, int64_t n, int64_t d, const float* alpha,
                        float* out) {
  for (int64_t s = blockIdx.x; s < n; s += gridDim.x) {
    const float* xs = x + s * d;
    const float* gs = g + s * d;
    float* os = out + s * d;
    double squares = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) squares += static_cast<double>(gs[j]) * gs[j];
    const double norm = sqrt(block_sum(squares));
    const double scale = norm > 0.0 ? alpha[s] / norm : 0.0;  // a zero gradient leaves x as it is
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      os[j] = norm > 0.0 ? static_cast<float>(xs[j] + scale * gs[j]) : xs[j];
  }
}

// L1 top-k: one radix sort orders every coordinate by (sample ascending, |g| descending), and being
// stable over values that start in index order it breaks equal |g| by the lower index. |g| is
// ordered by its bits (for non-negative floats the bit pattern is monotone); the sample sits in the
// high 32 bits of the key.
__global__ void top_k_keys(const float* g, int64_t n, int64_t d, uint64_t* keys, int64_t* index) {
  const int64_t total = n * d, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const uint32_t magnitude = __float_as_uint(g[i]) & 0x7fffffffu;
    keys[i] = (static_cast<uint64_t>(i / d) << 32) | (0xffffffffu - magnitude);
    index[i] = i;
  }
}

// out already holds x; the first k sorted entries of each sample take the step.
__global__ void top_k_step(const float* x, const float* g, const int64_t* sorted_index, int64_t n,
                           int64_t d, int64_t k, const float* alpha, float* out) {
  const int64_t total = n * k, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t s = t / k, rank = t % k;
    const int64_t i = sorted_index[s * d + rank];
    out[i] = x[i] + (alpha[s] / static_cast<float>(k)) * sign_of(g[i]);
  }
}

// Projections. L∞ is separable and exact.
__global__ void project_linf(const float* v, const float* x0, int64_t n, int64_t d, const float* eps,
                             float lo, float hi, float* out) {
  const int64_t total = n * d, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const float e = eps[i / d];
    out[i] = clamp_to(clamp_to(v[i], x0[i] - e, x0[i] + e), lo, hi);
  }
}

template <Norm kNorm>
__device__ __forceinline__ double shrink(double t, double lambda) {
  if (kNorm == Norm::L2) return t / (1.0 + lambda);
  const double a = fabs(t) - lambda;
  return a > 0.0 ? copysign(a, t) : 0.0;
}

template <Norm kNorm>
__device__ __forceinline__ double point(double v, double x0, double lambda, double lo, double hi) {
  return clamp_to(x0 + shrink<kNorm>(v - x0, lambda), lo, hi);
}

// One pass of the projection's root search for the block's sample, the same values in every
// thread: the squared L2 (or L1) distance f at λ and the root of the closed form f takes given
// which coordinates the box clips at λ. Same arithmetic as find_lambda in cpu/attack.cpp.
struct Pass {
  double f, root;
};

template <Norm kNorm>
__device__ Pass evaluate(const float* v, const float* x0, int64_t d, double lambda, double lo,
                         double hi, double target) {
  double f = 0.0, free_sum = 0.0, clipped = 0.0, free_count = 0.0;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const double t = static_cast<double>(v[j]) - x0[j];
    const double room = t > 0 ? hi - x0[j] : x0[j] - lo;
    const double a = fabs(t);
    if (kNorm == Norm::L2) {
      const double s = a / (1.0 + lambda);
      if (s >= room) clipped += room * room, f += room * room;
      else free_sum += a * a, f += s * s;
    } else {
      const double s = a - lambda;
      if (s <= 0.0) continue;
      if (s >= room) clipped += room, f += room;
      else free_sum += a, f += s, free_count += 1.0;
    }
  }
  f = block_sum(f), free_sum = block_sum(free_sum), clipped = block_sum(clipped);
  free_count = block_sum(free_count);
  double root = CUDART_NAN;
  if (kNorm == Norm::L2 && target > clipped && free_sum > 0) root = sqrt(free_sum / (target - clipped)) - 1.0;
  if (kNorm == Norm::L1 && free_count > 0) root = (free_sum + clipped - target) / free_count;
  return {f, root};
}

// L2 and L1, one block per sample, in float64, by the steps of find_lambda in cpu/attack.cpp:
// eps = 0 gives x0; λ = 0 when z(0) is inside; otherwise iterate on the closed-form root inside
// the bracket [0, ||t||₂/eps - 1] (L2) or [0, max |t|] (L1), bisecting when it leaves it.
template <Norm kNorm>
__global__ void project_ball(const float* v, const float* x0, int64_t n, int64_t d,
                             const float* eps, float box_lo, float box_hi, float* out) {
  const double lo_b = box_lo, hi_b = box_hi;
  for (int64_t s = blockIdx.x; s < n; s += gridDim.x) {
    const float* vs = v + s * d;
    const float* xs = x0 + s * d;
    float* os = out + s * d;
    const double radius = eps[s];
    if (!(radius > 0.0)) {
      for (int64_t j = threadIdx.x; j < d; j += blockDim.x) os[j] = xs[j];
      continue;
    }
    const double target = kNorm == Norm::L2 ? radius * radius : radius;
    Pass pass = evaluate<kNorm>(vs, xs, d, 0.0, lo_b, hi_b, target);
    double lambda = 0.0;
    if (pass.f > target) {
      double edge = 0.0;
      for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
        const double t = static_cast<double>(vs[j]) - xs[j];
        edge = kNorm == Norm::L2 ? edge + t * t : fmax(edge, fabs(t));
      }
      double lo = 0.0, hi = kNorm == Norm::L2 ? sqrt(block_sum(edge)) / radius - 1.0 : block_max(edge);
      bool converged = false;
      for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; ++it) {
        if (fabs(pass.root - lambda) <= 1e-13 * lambda) {
          lambda = fmax(pass.root, lambda);
          converged = true;
          break;
        }
        const bool inside = pass.root > lo && pass.root < hi;
        lambda = inside ? pass.root : 0.5 * (lo + hi);
        pass = evaluate<kNorm>(vs, xs, d, lambda, lo_b, hi_b, target);
        if (pass.f > target) lo = lambda;
        else hi = lambda;
      }
      if (!converged) lambda = hi;
    }
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
      os[j] = static_cast<float>(point<kNorm>(vs[j], xs[j], lambda, lo_b, hi_b));
  }
}

__global__ void norms(const float* delta, int64_t n, int64_t d, double* out) {
  for (int64_t s = blockIdx.x; s < n; s += gridDim.x) {
    const float* ds = delta + s * d;
    double l0 = 0.0, l1 = 0.0, l2 = 0.0, linf = 0.0;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
      const double x = ds[j];
      l0 += x != 0.0 ? 1.0 : 0.0;
      l1 += fabs(x);
      l2 += x * x;
      linf = fmax(linf, fabs(x));
    }
    l0 = block_sum(l0);
    l1 = block_sum(l1);
    l2 = block_sum(l2);
    linf = block_max(linf);
    if (threadIdx.x == 0) {
      out[s] = l0;
      out[n + s] = l1;
      out[2 * n + s] = sqrt(l2);
      out[3 * n + s] = linf;
    }
  }
}

}  // namespace

void attack_step(StepKind kind, const float* x, const float* g, int64_t n, int64_t d,
                 const float* alpha, int64_t l1_k, float* out) {
  if (n <= 0 || d <= 0) return;
  const int64_t total = n * d;
  // Every input is on the device before `out` is written, so out may alias x.
  auto d_x = to_device(x, total);
  auto d_g = to_device(g, total);
  auto d_alpha = to_device(alpha, n);
  DeviceBuffer<float> d_out(total);
  switch (kind) {
    case StepKind::Sign:
      sign_step<<<grid_for(total), kThreads>>>(d_x.get(), d_g.get(), n, d, d_alpha.get(), d_out.get());
      check_launch("sign_step");
      break;
    case StepKind::L2:
      l2_step<<<grid_for(n, 1), kThreads>>>(d_x.get(), d_g.get(), n, d, d_alpha.get(), d_out.get());
      check_launch("l2_step");
      break;
    case StepKind::L1TopK: {
      if (n > 0xffffffffLL) throw KernelError("attack_step: L1 top-k supports at most 2^32 - 1 samples on CUDA");
      const int64_t k = l1_k < 1 ? 1 : (l1_k > d ? d : l1_k);
      DeviceBuffer<uint64_t> d_keys(total);
      DeviceBuffer<int64_t> d_index(total);
      top_k_keys<<<grid_for(total), kThreads>>>(d_g.get(), n, d, d_keys.get(), d_index.get());
      check_launch("top_k_keys");
      with_thrust("attack_step top-k sort", [&] {
        thrust::stable_sort_by_key(thrust::device, d_keys.get(), d_keys.get() + total, d_index.get());
      });
      OA_CUDA_CHECK(cudaMemcpy(d_out.get(), d_x.get(), d_x.bytes(), cudaMemcpyDeviceToDevice));
      top_k_step<<<grid_for(n * k), kThreads>>>(d_x.get(), d_g.get(), d_index.get(), n, d, k,
                                               d_alpha.get(), d_out.get());
      check_launch("top_k_step");
      break;
    }
  }
  d_out.download(out);
}

void project(Norm norm, const float* v, const float* x0, int64_t n, int64_t d, const float* eps,
             float lo, float hi, float* out) {
  if (n <= 0 || d <= 0) return;
  const int64_t total = n * d;
  auto d_v = to_device(v, total);  // before out is written: out may alias v
  auto d_x0 = to_device(x0, total);
  auto d_eps = to_device(eps, n);
  DeviceBuffer<float> d_out(total);
  switch (norm) {
    case Norm::Linf:
      project_linf<<<grid_for(total), kThreads>>>(d_v.get(), d_x0.get(), n, d, d_eps.get(), lo, hi,
                                                  d_out.get());
      check_launch("project_linf");
      break;
    case Norm::L2:
      project_ball<Norm::L2><<<grid_for(n, 1), kThreads>>>(d_v.get(), d_x0.get(), n, d,
                                                           d_eps.get(), lo, hi, d_out.get());
      check_launch("project_ball<L2>");
      break;
    case Norm::L1:
      project_ball<Norm::L1><<<grid_for(n, 1), kThreads>>>(d_v.get(), d_x0.get(), n, d,
                                                           d_eps.get(), lo, hi, d_out.get());
      check_launch("project_ball<L1>");
      break;
  }
  d_out.download(out);
}

void perturbation_norms(const float* delta, int64_t n, int64_t d, double* out) {
  if (n <= 0) return;
  if (d <= 0) {  // an empty perturbation has every norm 0
    std::memset(out, 0, static_cast<size_t>(4 * n) * sizeof(double));
    return;
  }
  auto d_delta = to_device(delta, n * d);
  DeviceBuffer<double> d_out(4 * n);
  norms<<<grid_for(n, 1), kThreads>>>(d_delta.get(), n, d, d_out.get());
  check_launch("norms");
  d_out.download(out);
}

}  // namespace oa::cuda
