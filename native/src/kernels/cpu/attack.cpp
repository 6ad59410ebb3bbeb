#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cpu.h"
#include "parallel.h"

namespace oa::cpu {

namespace {
// Rows per thread below which splitting does not pay: about 64k elements.
int64_t rows_per_thread(int64_t d) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(d, 1)); }

inline float sign(float v) { return static_cast<float>((v > 0) - (v < 0)); }

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

// z(λ) for one coordinate, see project() in kernels.h.
inline double shrunk(Norm norm, double t, double lambda) {
  if (norm == Norm::L2) return t / (1 + lambda);
  const double a = std::fabs(t) - lambda;
  return a > 0 ? std::copysign(a, t) : 0.0;
}

double distance(Norm norm, const float* v, const float* x0, int64_t d, float lo, float hi,
                double lambda) {
  double acc = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double z = std::clamp(x0[j] + shrunk(norm, double(v[j]) - x0[j], lambda), double(lo), double(hi));
    const double t = z - x0[j];
    acc += norm == Norm::L2 ? t * t : std::fabs(t);
  }
  return norm == Norm::L2 ? std::sqrt(acc) : acc;
}

// Smallest λ >= 0 with ||z(λ) - x0|| <= eps, by the bracket-and-bisect rule that the CUDA twin
// follows step for step: λ = 0 if feasible; else bracket [0, hi] with hi doubling from 1 (L2) or
// hi = max |v - x0| where z = x0 (L1); bisect to a relative width of 1e-12 (at most 200 halvings)
// and return the feasible end.
double find_lambda(Norm norm, const float* v, const float* x0, int64_t d, float eps, float lo,
                   float hi_box) {
  if (distance(norm, v, x0, d, lo, hi_box, 0.0) <= eps) return 0.0;
  double lo_l = 0, hi_l;
  if (norm == Norm::L2) {
    hi_l = 1;
    while (distance(norm, v, x0, d, lo, hi_box, hi_l) > eps && hi_l < 1e300) lo_l = hi_l, hi_l *= 2;
  } else {
    hi_l = 0;
    for (int64_t j = 0; j < d; ++j) hi_l = std::max(hi_l, std::fabs(double(v[j]) - x0[j]));
  }
  for (int it = 0; it < 200 && hi_l - lo_l > 1e-12 * std::max(hi_l, 1e-30); ++it) {
    const double mid = 0.5 * (lo_l + hi_l);
    (distance(norm, v, x0, d, lo, hi_box, mid) > eps ? lo_l : hi_l) = mid;
  }
  return hi_l;
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
        for (int64_t j = 0; j < d; ++j)
          oi[j] = std::clamp(std::clamp(vi[j], ci[j] - eps[i], ci[j] + eps[i]), lo, hi);
        continue;
      }
      const double lambda = find_lambda(norm, vi, ci, d, eps[i], lo, hi);
      for (int64_t j = 0; j < d; ++j)
        oi[j] = static_cast<float>(std::clamp(ci[j] + shrunk(norm, double(vi[j]) - ci[j], lambda), double(lo), double(hi)));
    }
  });
}

void perturbation_norms(int threads, const float* delta, int64_t n, int64_t d, double* out) {
  parallel_for(threads, n, rows_per_thread(d), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* r = delta + i * d;
      double l0 = 0, l1 = 0, l2 = 0, linf = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double a = std::fabs(double(r[j]));
        l0 += a != 0, l1 += a, l2 += a * a, linf = std::max(linf, a);
      }
      out[0 * n + i] = l0, out[1 * n + i] = l1, out[2 * n + i] = std::sqrt(l2), out[3 * n + i] = linf;
    }
  });
}

}  // namespace oa::cpu
