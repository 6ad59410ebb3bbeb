// Splits [0, count) into contiguous chunks over `threads` std::threads. Threads are started per
// call rather than pooled: a call is either small (then it runs inline, below min_per_thread
// items per thread) or large enough that a thread's start (~20 µs) is noise, and having no global
// pool keeps the addon free of shared state across worker threads and environments.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace oa::cpu {

template <typename Body>  // Body: void(int64_t begin, int64_t end)
void parallel_for(int threads, int64_t count, int64_t min_per_thread, Body body) {
  if (count <= 0) return;
  const int64_t useful = std::max<int64_t>(1, count / std::max<int64_t>(1, min_per_thread));
  const int workers = static_cast<int>(std::min<int64_t>(std::max(threads, 1), useful));
  if (workers == 1) {
    body(0, count);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(workers);
  pool.reserve(workers - 1);
  const int64_t chunk = (count + workers - 1) / workers;
  auto run = [&](int w) {
    const int64_t begin = w * chunk, end = std::min(count, begin + chunk);
    try {
      if (begin < end) body(begin, end);
    } catch (...) {
      errors[w] = std::current_exception();
    }
  };
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace oa::cpu
