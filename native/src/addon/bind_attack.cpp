// Bindings of the perturbation kernels: attack steps, projections, norms, black-box gradient
// estimates and the random numbers that start attacks.
#include <cmath>

#include "args.h"
#include "bindings.h"
#include "run.h"

namespace oa::addon {

namespace {
struct Box {
  float lo, hi;
};
Box box(const Args& a, size_t i) {
  const float lo = static_cast<float>(a.number(i)), hi = static_cast<float>(a.number(i + 1));
  if (!(lo <= hi)) a.range_error(i, "(box lower bound " + std::to_string(lo) + ") exceeds the upper bound " + std::to_string(hi));
  return {lo, hi};
}
}  // namespace

// attackStep(device, kind, x, grad, d, alpha[n], l1k, out)
Napi::Value attackStep(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "attackStep");
  const Exec ex{a.device(0), s.threads};
  const std::string k = a.one_of(1, {"sign", "l2", "l1"});
  const StepKind kind = k == "sign" ? StepKind::Sign : k == "l2" ? StepKind::L2 : StepKind::L1TopK;
  auto x = a.float32(2);
  auto g = a.float32(3);
  const int64_t d = a.integer(4, 1, INT64_MAX >> 8);
  const int64_t n = a.rows(2, x.length, d, "d");
  auto alpha = a.per_sample(5, n);
  const int64_t l1k = kind == StepKind::L1TopK ? a.integer(6, 1, d) : 0;
  auto out = a.float32(7);
  a.expect_length(3, g.length, x.length, "same as x");
  a.expect_length(7, out.length, x.length, "same as x");
  return run(a.env(), {x.owner, g.owner, alpha.owner, out.owner}, 12 * x.length,
             [=] { oa::attack_step(ex, kind, x.data, g.data, n, d, alpha.data, l1k, out.data); }, nothing);
}

// project(device, norm, v, x0, d, eps[n], lo, hi, out)
Napi::Value project(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "project");
  const Exec ex{a.device(0), s.threads};
  const std::string p = a.one_of(1, {"linf", "l2", "l1"});
  const Norm norm = p == "linf" ? Norm::Linf : p == "l2" ? Norm::L2 : Norm::L1;
  auto v = a.float32(2);
  auto x0 = a.float32(3);
  const int64_t d = a.integer(4, 1, INT64_MAX >> 8);
  const int64_t n = a.rows(2, v.length, d, "d");
  auto eps = a.per_sample(5, n);
  const Box b = box(a, 6);
  auto out = a.float32(8);
  a.expect_length(3, x0.length, v.length, "same as v");
  a.expect_length(8, out.length, v.length, "same as v");
  // The ball around x0 meets the box only if x0 is in it (for eps = 0 at least); checking here
  // is one cheap pass and turns a silent wrong answer into a message.
  for (int64_t e = 0; e < x0.length; ++e)
    if (!(x0.data[e] >= b.lo && x0.data[e] <= b.hi))
      a.range_error(3, "(x0) holds " + std::to_string(x0.data[e]) + " at index " + std::to_string(e) +
                           ", outside the box [" + std::to_string(b.lo) + ", " + std::to_string(b.hi) + "]");
  return run(a.env(), {v.owner, x0.owner, eps.owner, out.owner}, 12 * v.length,
             [=] { oa::project(ex, norm, v.data, x0.data, n, d, eps.data, b.lo, b.hi, out.data); }, nothing);
}

// perturbationNorms(device, delta, d, out[4n])
Napi::Value perturbationNorms(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "perturbationNorms");
  const Exec ex{a.device(0), s.threads};
  auto delta = a.float32(1);
  const int64_t d = a.integer(2, 1, INT64_MAX >> 8);
  const int64_t n = a.rows(1, delta.length, d, "d");
  auto out = a.float64(3);
  a.expect_length(3, out.length, 4 * n, "L0, L1, L2, L∞ per sample");
  return run(a.env(), {delta.owner, out.owner}, 4 * delta.length,
             [=] { oa::perturbation_norms(ex, delta.data, n, d, out.data); }, nothing);
}

// gradientEstimate(device, fPlus[b*q], fMinus[b*q], u[b*q*d], q, sigma, out[b*d])
Napi::Value gradientEstimate(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "gradientEstimate");
  const Exec ex{a.device(0), s.threads};
  auto fp = a.float32(1), fm = a.float32(2), u = a.float32(3);
  const int64_t q = a.integer(4, 1, INT32_MAX);
  const float sigma = static_cast<float>(a.positive(5));
  auto out = a.float32(6);
  const int64_t b = a.rows(1, fp.length, q, "queries");
  a.expect_length(2, fm.length, fp.length, "same as fPlus");
  const int64_t d = b > 0 ? out.length / b : 0;
  if (b > 0 && (out.length % b != 0 || d == 0))
    a.range_error(6, "has length " + std::to_string(out.length) + ", not a positive multiple of the " + std::to_string(b) + " samples");
  a.expect_length(3, u.length, b * q * d, "samples × queries × features");
  return run(a.env(), {fp.owner, fm.owner, u.owner, out.owner}, 4 * (u.length + out.length),
             [=] { oa::gradient_estimate(ex, fp.data, fm.data, u.data, b, q, d, sigma, out.data); }, nothing);
}

// randomFill(device, 'uniform' | 'normal', seed, offset, out)
Napi::Value randomFill(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "randomFill");
  const Exec ex{a.device(0), s.threads};
  const Distribution dist = a.one_of(1, {"uniform", "normal"}) == "uniform" ? Distribution::Uniform : Distribution::Normal;
  const uint64_t seed = a.uint64(2), offset = a.uint64(3);
  auto out = a.float32(4);
  return run(a.env(), {out.owner}, 4 * out.length,
             [=] { oa::random_fill(ex, dist, seed, offset, out.length, out.data); }, nothing);
}

// randomBall(device, 'linf' | 'l2', x0, d, eps[n], lo, hi, seed, offset, out)
Napi::Value randomBall(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "randomBall");
  const Exec ex{a.device(0), s.threads};
  const bool linf = a.one_of(1, {"linf", "l2"}) == "linf";
  auto x0 = a.float32(2);
  const int64_t d = a.integer(3, 1, INT64_MAX >> 8);
  const int64_t n = a.rows(2, x0.length, d, "d");
  auto eps = a.per_sample(4, n);
  const Box b = box(a, 5);
  const uint64_t seed = a.uint64(7), offset = a.uint64(8);
  auto out = a.float32(9);
  a.expect_length(9, out.length, x0.length, "same as x0");
  return run(a.env(), {x0.owner, eps.owner, out.owner}, 8 * x0.length, [=] {
    (linf ? oa::random_linf_ball : oa::random_l2_ball)(ex, x0.data, n, d, eps.data, b.lo, b.hi, seed, offset, out.data);
  }, nothing);
}

// unitDirections(device, d, seed, offset, out[n*d])
Napi::Value unitDirections(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "unitDirections");
  const Exec ex{a.device(0), s.threads};
  const int64_t d = a.integer(1, 1, INT64_MAX >> 8);
  const uint64_t seed = a.uint64(2), offset = a.uint64(3);
  auto out = a.float32(4);
  const int64_t n = a.rows(4, out.length, d, "d");
  return run(a.env(), {out.owner}, 4 * out.length,
             [=] { oa::unit_directions(ex, n, d, seed, offset, out.data); }, nothing);
}

}  // namespace oa::addon
