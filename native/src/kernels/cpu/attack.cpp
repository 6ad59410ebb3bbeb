#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "cpu.h"
#include "parallel.h"
#include "simd.h"

namespace oa::cpu {

namespace {
// Rows per thread below which splitting does not pay: about 64k elements.
int64_t rows_per_thread(int64_t d) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(d, 1)); }

inline float sign(float v) { return static_cast<float>((v > 0) - (v < 0)); }

// std::clamp's result for ordered values, as plain selects that vectorise (std::clamp returns a
// reference, which GCC leaves as a branch).
template <typename T>
inline T clip(T x, T lo, T hi) {
  return x < lo ? lo : (hi < x ? hi : x);
}

void l1_topk_row(const float* x, const float* g, int64_t d, float alpha, int64_t k, float* o,
                 std::vector<int64_t>& idx) {
  idx.resize(d);
  std::iota(idx.begin(), idx.end(), 0);
  // Largest |g| first, lower index first among equals: a strict weak order, so the k chosen
  // coordinates are the same on every run and on the CUDA twin.
  auto before = [g](int64_t a, int64_t b) {
    const float fa = std::fabs(g[a]), fb = std::fabs(g[b]);
    return fa > fb || (fa == fb && a < b);
  };
  std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), before);
  if (o != x) std::copy(x, x + d, o);
  const float step = alpha / static_cast<float>(k);
  for (int64_t r = 0; r < k; ++r) o[idx[r]] += step * sign(g[idx[r]]);
}

// The projection's KKT condition, see project() in kernels.h. With t = v - x0 and c the room from
// x0 to the box edge that t points at, a coordinate's distance from x0 at λ is
//   L2: min(|t| / (1 + λ), c)        L1: min(max(|t| - λ, 0), c)
// so the ball constraint f(λ) (squared L2 or L1 distance) is piecewise of a closed form once we
// know which coordinates are clipped. One pass returns f and that form's own root; iterating on
// the root inside a bracket (bisecting when it leaves it) lands on the exact λ in a few passes.
struct Pass {
  double f;     // squared L2 or L1 distance at λ
  double root;  // λ solving the piecewise form of this pass, NaN when it has none
};

// Branch-free so that the loops vectorise; the per-coordinate class (clipped or free) becomes a
// select.
OA_SIMD_CLONES Pass evaluate_l2(const float* v, const float* x0, int64_t d, float lo, float hi,
                                double lambda, double target) {
  const double inv = 1.0 / (1.0 + lambda);
  double free_sum = 0, clipped = 0;  // Σ t² over free coordinates, Σ room² over clipped ones
#pragma omp simd reduction(+ : free_sum, clipped)
  for (int64_t j = 0; j < d; ++j) {
    const double t = double(v[j]) - x0[j];
    const double room = t > 0 ? double(hi) - x0[j] : x0[j] - double(lo);
    const bool clip = std::fabs(t) * inv >= room;
    clipped += clip ? room * room : 0.0;
    free_sum += clip ? 0.0 : t * t;
  }
  const double root = target > clipped && free_sum > 0 ? std::sqrt(free_sum / (target - clipped)) - 1
                                                        : std::numeric_limits<double>::quiet_NaN();
  return {free_sum * inv * inv + clipped, root};
}

OA_SIMD_CLONES Pass evaluate_l1(const float* v, const float* x0, int64_t d, float lo, float hi,
                                double lambda, double target) {
  double free_sum = 0, free_count = 0, clipped = 0;  // Σ |t| and count over free, Σ room over clipped
#pragma omp simd reduction(+ : free_sum, free_count, clipped)
  for (int64_t j = 0; j < d; ++j) {
    const double t = double(v[j]) - x0[j];
    const double room = t > 0 ? double(hi) - x0[j] : x0[j] - double(lo);
    const double s = std::fabs(t) - lambda;
    const bool clip = s > 0 && s >= room, free = s > 0 && s < room;
    clipped += clip ? room : 0.0;
    free_sum += free ? std::fabs(t) : 0.0;
    free_count += free ? 1.0 : 0.0;
  }
  const double root = free_count > 0 ? (free_sum + clipped - target) / free_count
                                     : std::numeric_limits<double>::quiet_NaN();
  return {free_sum - free_count * lambda + clipped, root};
}

Pass evaluate(Norm norm, const float* v, const float* x0, int64_t d, float lo, float hi,
              double lambda, double target) {
  return norm == Norm::L2 ? evaluate_l2(v, x0, d, lo, hi, lambda, target)
                          : evaluate_l1(v, x0, d, lo, hi, lambda, target);
}

// λ >= 0 with f(λ) = target (eps² for L2, eps for L1), or 0 when v is already inside.
// Returns +∞ for eps = 0, which makes z = x0.
double find_lambda(Norm norm, const float* v, const float* x0, int64_t d, float eps, float lo, float hi) {
  if (eps == 0) return std::numeric_limits<double>::infinity();
  const double target = norm == Norm::L2 ? double(eps) * eps : eps;
  Pass pass = evaluate(norm, v, x0, d, lo, hi, 0.0, target);
  if (pass.f <= target) return 0.0;
  // The bracket's upper end is feasible: without the box, λ = ||t||₂/eps - 1 (L2) reaches the
  // sphere and clipping only shortens; at λ = max |t| (L1) every coordinate is back at x0.
  double bracket_lo = 0, bracket_hi = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double t = double(v[j]) - x0[j];
    bracket_hi = norm == Norm::L2 ? bracket_hi + t * t : std::max(bracket_hi, std::fabs(t));
  }
  if (norm == Norm::L2) bracket_hi = std::sqrt(bracket_hi) / eps - 1;
  double lambda = 0;
  for (int it = 0; it < 200 && bracket_hi - bracket_lo > 1e-12 * bracket_hi; ++it) {
    // The pass's own root, once it stops moving, is the exact λ (to rounding).
    if (std::fabs(pass.root - lambda) <= 1e-13 * lambda) return std::max(pass.root, lambda);
    const bool inside = pass.root > bracket_lo && pass.root < bracket_hi;
    lambda = inside ? pass.root : 0.5 * (bracket_lo + bracket_hi);
    pass = evaluate(norm, v, x0, d, lo, hi, lambda, target);
    (pass.f > target ? bracket_lo : bracket_hi) = lambda;
  }
  return bracket_hi;
}

OA_SIMD_CLONES void project_linf_row(const float* v, const float* x0, int64_t d, float eps, float lo,
                                     float hi, float* out) {
#pragma omp simd
  for (int64_t j = 0; j < d; ++j) out[j] = clip(clip(v[j], x0[j] - eps, x0[j] + eps), lo, hi);
}

// out = clip(x0 + shrink_λ(v - x0), lo, hi); λ = ∞ (eps = 0) gives x0.
OA_SIMD_CLONES void write_projection(Norm norm, const float* v, const float* x0, int64_t d,
                                     double lambda, float lo, float hi, float* out) {
  if (norm == Norm::L2) {
    const double scale = 1.0 / (1.0 + lambda);
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) {
      const double z = x0[j] + (double(v[j]) - x0[j]) * scale;
      out[j] = clip(static_cast<float>(z), lo, hi);  // rounding commutes with a float clip
    }
    return;
  }
#pragma omp simd
  for (int64_t j = 0; j < d; ++j) {
    const double t = double(v[j]) - x0[j];
    const double a = std::fabs(t) - lambda;
    const double z = x0[j] + (a > 0 ? (t < 0 ? -a : a) : 0.0);
    out[j] = clip(static_cast<float>(z), lo, hi);  // rounding commutes with a float clip
  }
}
struct Norms {
  double l0, l1, l2_squared, linf;
};

OA_SIMD_CLONES Norms row_norms(const float* r, int64_t d) {
  double l0 = 0, l1 = 0, l2 = 0;
  float linf = 0;  // a max is exact in float
#pragma omp simd reduction(+ : l0, l1, l2) reduction(max : linf)
  for (int64_t j = 0; j < d; ++j) {
    const float a = std::fabs(r[j]);
    l0 += a != 0 ? 1.0 : 0.0;
    l1 += a;
    l2 += double(a) * a;
    linf = std::max(linf, a);
  }
  return {l0, l1, l2, linf};
}
}  // namespace

void attack_step(int threads, StepKind kind, const float* x, const float* g, int64_t n, int64_t d,
                 const float* alpha, int64_t l1_k, float* out) {
  parallel_for(threads, n, rows_per_thread(d), [&](int64_t begin, int64_t end) {
    std::vector<int64_t> idx;
    for (int64_t i = begin; i < end; ++i) {
      const float* xi = x + i * d;
      const float* gi = g + i * d;
      float* oi = out + i * d;
      if (kind == StepKind::Sign) {
        for (int64_t j = 0; j < d; ++j) oi[j] = xi[j] + alpha[i] * sign(gi[j]);
      } else if (kind == StepKind::L2) {
        double sq = 0;
        for (int64_t j = 0; j < d; ++j) sq += double(gi[j]) * gi[j];
        const float scale = sq > 0 ? static_cast<float>(alpha[i] / std::sqrt(sq)) : 0.0f;
        for (int64_t j = 0; j < d; ++j) oi[j] = xi[j] + scale * gi[j];
      } else {
        l1_topk_row(xi, gi, d, alpha[i], l1_k, oi, idx);
      }
    }
  });
}

void project(int threads, Norm norm, const float* v, const float* x0, int64_t n, int64_t d,
             const float* eps, float lo, float hi, float* out) {
  parallel_for(threads, n, rows_per_thread(d), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* vi = v + i * d;
      const float* ci = x0 + i * d;
      float* oi = out + i * d;
      if (norm == Norm::Linf) {
        project_linf_row(vi, ci, d, eps[i], lo, hi, oi);
      } else {
        write_projection(norm, vi, ci, d, find_lambda(norm, vi, ci, d, eps[i], lo, hi), lo, hi, oi);
      }
    }
  });
}

void perturbation_norms(int threads, const float* delta, int64_t n, int64_t d, double* out) {
  parallel_for(threads, n, rows_per_thread(d), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* r = delta + i * d;
      const Norms s = row_norms(r, d);
      out[0 * n + i] = s.l0, out[1 * n + i] = s.l1, out[2 * n + i] = std::sqrt(s.l2_squared), out[3 * n + i] = s.linf;
    }
  });
}

}  // namespace oa::cpu
