#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu.h"
#include "parallel.h"
#include "simd.h"
#include "vmath.h"

namespace oa::cpu {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Rows are processed kLanes at a time, one per vector lane: the block is transposed into
// scratch, class by class, so that every per-row reduction becomes a lane-wise add and short
// rows (k = 10) fill the vectors as well as long ones. A block past the last row repeats it.
constexpr int kLanes = 8;

struct Block {
  int rows;               // real rows in the block, <= kLanes
  int64_t y[kLanes];      // labels
  double zy[kLanes];      // the labels' logits
  double* z;              // [k][kLanes] logits, transposed
};

// Copies rows [i0, i0 + rows) transposed into z (k * kLanes doubles).
OA_SIMD_CLONES
Block load_block(const float* logits, const int32_t* labels, int64_t i0, int64_t end, int64_t k,
                 double* z) {
  Block b{static_cast<int>(std::min<int64_t>(kLanes, end - i0)), {}, {}, z};
  const float* rows = logits + i0 * k;
  int64_t offset[kLanes];
  for (int r = 0; r < kLanes; ++r) {
    offset[r] = std::min(r, b.rows - 1) * k;
    b.y[r] = labels[i0 + std::min(r, b.rows - 1)];
    b.zy[r] = rows[offset[r] + b.y[r]];
  }
  for (int64_t j = 0; j < k; ++j) {
#pragma omp simd
    for (int r = 0; r < kLanes; ++r) z[j * kLanes + r] = rows[offset[r] + j];
  }
  return b;
}

// Fills the seven metrics of kLanes rows; e is scratch of k * kLanes doubles.
OA_SIMD_CLONES
void block_metrics(const Block& b, int64_t k, double* e, double (*res)[kLanes]) {
  const double* zt = b.z;
  const double* zy = b.zy;
  double m[kLanes], max_other[kLanes];
  std::fill_n(m, kLanes, -kInf);
  std::fill_n(max_other, kLanes, -kInf);
  for (int64_t j = 0; j < k; ++j) {
#pragma omp simd
    for (int r = 0; r < kLanes; ++r) {
      const double z = zt[j * kLanes + r];
      m[r] = select(z > m[r], z, m[r]);  // skips NaN, which the sums below catch
      max_other[r] = select((z > max_other[r]) & (j != b.y[r]), z, max_other[r]);
    }
  }
  // rest: the mass of all classes but the arg-max, whose e is exactly 1 (with ties, every other
  // top class counts in rest). log1p(rest) keeps the loss of a confident, correct prediction
  // (-log p_y ~ 1e-13) accurate where log(1 + rest) would round it away. rest_y: the mass of all
  // classes but y, for log(1 - p_y) = log(rest_y) - log_sum, exact even when p_y rounds to 1.
  double ties[kLanes] = {}, rest[kLanes] = {}, rest_y[kLanes] = {}, sum_ed[kLanes] = {};
  for (int64_t j = 0; j < k; ++j) {
#pragma omp simd
    for (int r = 0; r < kLanes; ++r) {
      const double z = zt[j * kLanes + r], d = z - m[r], ex = exp_f64(d);
      e[j * kLanes + r] = ex;
      ties[r] += z == m[r] ? 1 : 0;
      rest[r] += select(z == m[r], 0.0, ex);
      rest_y[r] += select(j == b.y[r], 0.0, ex);
      sum_ed[r] += ex * select(ex > 0, d, 0.0);  // a -Inf logit: no mass, and 0 * -Inf is NaN
    }
  }
  double inv_sum[kLanes], log_sum[kLanes];
#pragma omp simd
  for (int r = 0; r < kLanes; ++r) {
    rest[r] += ties[r] - 1;
    inv_sum[r] = 1 / (1 + rest[r]);
    log_sum[r] = log1p_f64(rest[r]);
  }
  // log(1 - p_j) = log1p(-p_j) is exact for p_j <= 1/2, which holds for all but a unique
  // arg-max; that one is left out here and given log(rest) - log_sum below.
  const double inv_k = 1.0 / k;
  double sum_sq[kLanes] = {}, mod[kLanes] = {};
  for (int64_t j = 0; j < k; ++j) {
#pragma omp simd
    for (int r = 0; r < kLanes; ++r) {
      const double p = e[j * kLanes + r] * inv_sum[r];
      const bool top = (ties[r] == 1) & (zt[j * kLanes + r] == m[r]);
      const double p_other = select((j == b.y[r]) | top, 0.0, p);  // log1p(-0) = 0: no term
      sum_sq[r] += (p - inv_k) * (p - inv_k);
      mod[r] += p_other * log1p_f64(-p_other);
    }
  }
  // Every value below is computed whether or not it is used, and combined without branches: GCC
  // would otherwise move the unused one behind a branch and give up vectorising the loop.
#pragma omp simd
  for (int r = 0; r < kLanes; ++r) {
    const bool unique = ties[r] == 1, y_top = unique & (zy[r] == m[r]);
    const double log_py = (zy[r] - m[r]) - log_sum[r];
    const double log1m_y = log_f64(rest_y[r]) - log_sum[r];
    // the unique arg-max's term when it is not y; for y_top the term is multiplied by 0, and
    // rest + 1 keeps its log finite (0 * -Inf would be NaN)
    const double log1m_top = log_f64(rest[r] + (y_top ? 1 : 0)) - log_sum[r];
    const double mod_top = (unique & !y_top ? 1.0 : 0.0) * inv_sum[r] * log1m_top;
    // NaN in the row reaches rest; +Inf or only -Inf leaves m infinite
    const bool bad = std::isnan(rest[r]) | !(std::abs(m[r]) < kInf);
    res[kLoss][r] = select(bad, kNaN, -log_py);
    res[kMaxProb][r] = select(bad, kNaN, inv_sum[r]);  // e[argmax] = exp(0) = 1
    res[kStdDev][r] = select(bad, kNaN, sum_sq[r] * inv_k);  // the variance; sqrt taken on store
    // entropy = -sum_j p_j (d_j - log_sum)
    res[kEntropy][r] = select(bad, kNaN, log_sum[r] - sum_ed[r] * inv_sum[r]);
    res[kModEntropy][r] =
        select(bad, kNaN, -(mod[r] + mod_top) - rest_y[r] * inv_sum[r] * log_py);  // 1 - p_y
    res[kMargin][r] = select(bad, kNaN, zy[r] - max_other[r]);
    res[kLogitConf][r] = select(bad, kNaN, log_py - log1m_y);
  }
}

// Adds the NLL terms of rows [begin, end) to acc, in row order.
OA_SIMD_CLONES
void nll_rows(const float* logits, const int32_t* labels, int64_t begin, int64_t end, int64_t k,
              double inv_t, double* scratch, NllResult& acc) {
  for (int64_t i0 = begin; i0 < end; i0 += kLanes) {
    const Block b = load_block(logits, labels, i0, end, k, scratch);
    double m[kLanes];
    std::fill_n(m, kLanes, -kInf);
    for (int64_t j = 0; j < k; ++j) {
#pragma omp simd
      for (int r = 0; r < kLanes; ++r) {
        const double z = b.z[j * kLanes + r];
        m[r] = select(z > m[r], z, m[r]);
      }
    }
    // Moments of z under p are taken of z - m: the same variance without the cancellation of
    // E[z^2] - E[z]^2 when logits are large.
    double s[kLanes] = {}, s_d[kLanes] = {}, s_dd[kLanes] = {};
    for (int64_t j = 0; j < k; ++j) {
#pragma omp simd
      for (int r = 0; r < kLanes; ++r) {
        const double d = b.z[j * kLanes + r] - m[r], e = exp_f64(d * inv_t);
        const double d_mass = select(e > 0, d, 0.0);  // a -Inf logit: no mass, and 0 * -Inf is NaN
        s[r] += e, s_d[r] += e * d_mass, s_dd[r] += e * d_mass * d_mass;
      }
    }
    double nll[kLanes], d1[kLanes], d2[kLanes];
#pragma omp simd
    for (int r = 0; r < kLanes; ++r) {
      const double mean_d = s_d[r] / s[r], var_z = std::max(0.0, s_dd[r] / s[r] - mean_d * mean_d);
      const double gap = (b.zy[r] - m[r]) - mean_d;  // z_y - E_p[z]
      nll[r] = log_f64(s[r]) - (b.zy[r] - m[r]) * inv_t;
      d1[r] = gap * inv_t * inv_t;
      d2[r] = -2 * gap * inv_t * inv_t * inv_t + var_z * inv_t * inv_t * inv_t * inv_t;
    }
    for (int r = 0; r < b.rows; ++r) acc.nll += nll[r], acc.d1 += d1[r], acc.d2 += d2[r];
  }
}

void metrics_rows(const float* logits, const int32_t* labels, int64_t begin, int64_t end, int64_t n,
                  int64_t k, double* scratch, double* out) {
  for (int64_t i0 = begin; i0 < end; i0 += kLanes) {
    const Block b = load_block(logits, labels, i0, end, k, scratch);
    double res[kMetricCount][kLanes];
    block_metrics(b, k, scratch + k * kLanes, res);
    for (int r = 0; r < b.rows; ++r) res[kStdDev][r] = std::sqrt(res[kStdDev][r]);
    for (int c = 0; c < kMetricCount; ++c) std::copy_n(res[c], b.rows, out + c * n + i0);
  }
}
}  // namespace

void membership_metrics(int threads, const float* logits, const int32_t* labels, int64_t n,
                        int64_t k, double* out) {
  parallel_for(threads, n, std::max<int64_t>(1, 8192 / k), [&](int64_t begin, int64_t end) {
    std::vector<double> scratch(2 * k * kLanes);
    metrics_rows(logits, labels, begin, end, n, k, scratch.data(), out);
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
    std::vector<double> scratch(k * kLanes);
    for (int64_t w = wb; w < we; ++w)
      nll_rows(logits, labels, w * chunk, std::min(n, (w + 1) * chunk), k, inv_t, scratch.data(),
               partial[w]);
  });
  NllResult total{0, 0, 0};
  for (const auto& p : partial) total.nll += p.nll, total.d1 += p.d1, total.d2 += p.d2;
  return {total.nll / n, total.d1 / n, total.d2 / n};
}

}  // namespace oa::cpu
