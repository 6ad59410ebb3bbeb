#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "cpu.h"
#include "parallel.h"

namespace oa::cpu {

double copy_bandwidth(int threads, int64_t bytes, int repeats) {
  std::vector<char> src(bytes), dst(bytes);
  // Touch both buffers first so that page faults are not timed.
  parallel_for(threads, bytes, 1 << 20, [&](int64_t b, int64_t e) {
    std::memset(src.data() + b, 1, e - b);
    std::memset(dst.data() + b, 0, e - b);
  });
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    parallel_for(threads, bytes, 1 << 20, [&](int64_t b, int64_t e) {
      std::memcpy(dst.data() + b, src.data() + b, e - b);
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * bytes / seconds / 1e9);
  }
  return best;
}

}  // namespace oa::cpu
