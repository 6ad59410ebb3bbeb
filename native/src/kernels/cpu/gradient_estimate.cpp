#include <algorithm>
#include <vector>

#include "cpu.h"
#include "parallel.h"

namespace oa::cpu {

void gradient_estimate(int threads, const float* f_plus, const float* f_minus, const float* u,
                       int64_t b, int64_t q, int64_t d, float sigma, float* out) {
  // Work is cut into (sample, column tile) pieces so each query's direction is read once,
  // contiguously, into a small float64 accumulator that stays in L1.
  constexpr int64_t kTile = 2048;
  const int64_t tiles = (d + kTile - 1) / kTile;
  const double scale = 1.0 / (2.0 * sigma * q);
  parallel_for(threads, b * tiles, std::max<int64_t>(1, 16 / std::max<int64_t>(q, 1)),
               [&](int64_t begin, int64_t end) {
    std::vector<double> acc(kTile);
    for (int64_t piece = begin; piece < end; ++piece) {
      const int64_t s = piece / tiles, j0 = (piece % tiles) * kTile, j1 = std::min(d, j0 + kTile);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t i = 0; i < q; ++i) {
        const double c = double(f_plus[s * q + i]) - f_minus[s * q + i];
        const float* row = u + (s * q + i) * d;
        for (int64_t j = j0; j < j1; ++j) acc[j - j0] += c * row[j];
      }
      for (int64_t j = j0; j < j1; ++j) out[s * d + j] = static_cast<float>(acc[j - j0] * scale);
    }
  });
}

}  // namespace oa::cpu
