#include <cmath>
#include <limits>
#include <vector>

#include "cpu.h"
#include "parallel.h"

namespace oa::cpu {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct RowMax {
  double value;  // NaN when the row's softmax is undefined
  int64_t arg;
};

RowMax row_max(const float* z, int64_t k) {
  double m = -kInf;
  int64_t arg = 0;
  bool bad = false;
  for (int64_t j = 0; j < k; ++j) {
    bad |= std::isnan(z[j]);
    if (z[j] > m) m = z[j], arg = j;
  }
  return {bad || !std::isfinite(m) ? kNaN : m, arg};
}

// Fills one sample's seven metrics. e holds exp(z - m) for the row (scratch of length k).
void row_metrics(const float* z, int32_t y, int64_t k, double* e, double* m_out, int64_t stride) {
  const RowMax mx = row_max(z, k);
  if (std::isnan(mx.value)) {
    for (int c = 0; c < kMetricCount; ++c) m_out[c * stride] = kNaN;
    return;
  }
  const double m = mx.value;
  // rest: the mass of all classes but the arg-max, whose e is exactly 1. log1p(rest) keeps the
  // loss of a confident, correct prediction (-log p_y ≈ 1e-13) accurate where log(1 + rest)
  // would round it away.
  double rest = 0, max_other = -kInf;
  for (int64_t j = 0; j < k; ++j) {
    e[j] = std::exp(static_cast<double>(z[j]) - m);
    if (j != mx.arg) rest += e[j];
    if (j != y && z[j] > max_other) max_other = z[j];
  }
  const double sum = 1 + rest, log_sum = std::log1p(rest), inv_sum = 1.0 / sum;
  // log(1 - p_j) = log(sum_{i != j} e_i) - log(sum): exact where p_j is near 1, which only the
  // row's arg-max can be; elsewhere log1p(-p_j) is exact and needs no extra pass.
  auto log_one_minus = [&](int64_t j) {
    const double p = e[j] * inv_sum;
    if (p < 0.5) return std::log1p(-p);
    double rest = 0;
    for (int64_t i = 0; i < k; ++i)
      if (i != j) rest += e[i];
    return std::log(rest) - log_sum;
  };
  double entropy = 0, sum_sq = 0, mod_entropy = 0;
  for (int64_t j = 0; j < k; ++j) {
    const double p = e[j] * inv_sum;
    const double log_p = (static_cast<double>(z[j]) - m) - log_sum;
    if (p > 0) entropy -= p * log_p;
    sum_sq += p * p;
    if (j != y && p > 0) mod_entropy -= p * log_one_minus(j);
  }
  const double log_py = (static_cast<double>(z[y]) - m) - log_sum;
  const double py = e[y] * inv_sum;
  const double log_rest_y = log_one_minus(y);
  mod_entropy -= (1 - py) * log_py;
  // population variance of p: mean(p^2) - (1/k)^2, floored at 0 against rounding
  const double var = std::max(0.0, sum_sq / k - 1.0 / (static_cast<double>(k) * k));
  m_out[kLoss * stride] = -log_py;
  m_out[kMaxProb * stride] = inv_sum;  // e[argmax] = exp(0) = 1
  m_out[kStdDev * stride] = std::sqrt(var);
  m_out[kEntropy * stride] = entropy;
  m_out[kModEntropy * stride] = mod_entropy;
  m_out[kMargin * stride] = static_cast<double>(z[y]) - max_other;
  m_out[kLogitConf * stride] = log_py - log_rest_y;
}
}  // namespace

void membership_metrics(int threads, const float* logits, const int32_t* labels, int64_t n,
                        int64_t k, double* out) {
  parallel_for(threads, n, std::max<int64_t>(1, 8192 / k), [&](int64_t begin, int64_t end) {
    std::vector<double> e(k);
    for (int64_t i = begin; i < end; ++i)
      row_metrics(logits + i * k, labels[i], k, e.data(), out + i, n);
  });
}

NllResult nll_temperature(int threads, const float* logits, const int32_t* labels, int64_t n,
                          int64_t k, double temperature) {
  const double inv_t = 1.0 / temperature;
  const int workers = std::max(1, threads);
  std::vector<NllResult> partial(workers, NllResult{0, 0, 0});
  // Chunks are fixed per worker index, so the sum order (and the result) does not depend on
  // timing; it does depend on the thread count, as any parallel float sum does.
  const int64_t chunk = (n + workers - 1) / workers;
  parallel_for(workers, workers, 1, [&](int64_t wb, int64_t we) {
    for (int64_t w = wb; w < we; ++w) {
      NllResult acc{0, 0, 0};
      const int64_t end = std::min(n, (w + 1) * chunk);
      for (int64_t i = w * chunk; i < end; ++i) {
        const float* z = logits + i * k;
        double m = -kInf;
        for (int64_t j = 0; j < k; ++j) m = std::max(m, static_cast<double>(z[j]));
        // Moments of z under p are taken of z - m: the same variance without the cancellation
        // of E[z^2] - E[z]^2 when logits are large.
        double s = 0, s_d = 0, s_dd = 0;
        for (int64_t j = 0; j < k; ++j) {
          const double d = z[j] - m, e = std::exp(d * inv_t);
          if (e == 0) continue;  // a -Inf logit: no mass, and 0 * -Inf would be NaN
          s += e, s_d += e * d, s_dd += e * d * d;
        }
        const double mean_d = s_d / s, var_z = std::max(0.0, s_dd / s - mean_d * mean_d);
        const double gap = (z[labels[i]] - m) - mean_d;  // z_y - E_p[z]
        acc.nll += std::log(s) - (z[labels[i]] - m) * inv_t;
        acc.d1 += gap * inv_t * inv_t;
        acc.d2 += -2 * gap * inv_t * inv_t * inv_t + var_z * inv_t * inv_t * inv_t * inv_t;
      }
      partial[w] = acc;
    }
  });
  NllResult total{0, 0, 0};
  for (const auto& p : partial) total.nll += p.nll, total.d1 += p.d1, total.d2 += p.d2;
  return {total.nll / n, total.d1 / n, total.d2 / n};
}

}  // namespace oa::cpu
