// Bindings of the optimizer steps (parameters and state are caller-owned Float32Arrays updated in
// place; the step count is passed in and the caller increments it) and of the copy-bandwidth probe
// that memory-bound kernels are measured against.
#include "args.h"
#include "bindings.h"
#include "run.h"

namespace oa::addon {

namespace {
constexpr int64_t kMaxStep = (int64_t{1} << 53) - 1;

float unit_interval(const Args& a, size_t i) {
  const double v = a.number(i);
  if (!(v >= 0 && v < 1)) a.range_error(i, "must be in [0, 1), got " + std::to_string(v));
  return static_cast<float>(v);
}
float non_negative(const Args& a, size_t i) {
  const double v = a.number(i);
  if (v < 0) a.range_error(i, "must be >= 0, got " + std::to_string(v));
  return static_cast<float>(v);
}
}  // namespace

// sgdStep(device, params, grad, momentumBuf, lr, momentum, dampening, weightDecay, nesterov, step)
Napi::Value sgdStep(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "sgdStep");
  const Exec ex{a.device(0), s.threads};
  auto p = a.float32(1), g = a.float32(2), buf = a.float32(3);
  SgdOptions o{non_negative(a, 4), non_negative(a, 5), unit_interval(a, 6), non_negative(a, 7), a.boolean(8)};
  const int64_t step = a.integer(9, 0, kMaxStep);
  a.expect_length(2, g.length, p.length, "same as params");
  a.expect_length(3, buf.length, p.length, "same as params");
  if (o.nesterov && (o.momentum == 0 || o.dampening != 0))
    a.range_error("Nesterov momentum needs momentum > 0 and dampening 0");
  return run(a.env(), {p.owner, g.owner, buf.owner}, 12 * p.length,
             [=] { oa::sgd_step(ex, p.data, g.data, buf.data, p.length, o, step); }, nothing);
}

// adamStep(device, params, grad, m, v, lr, beta1, beta2, eps, weightDecay, decoupled, step)
Napi::Value adamStep(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "adamStep");
  const Exec ex{a.device(0), s.threads};
  auto p = a.float32(1), g = a.float32(2), m = a.float32(3), v = a.float32(4);
  AdamOptions o{non_negative(a, 5), unit_interval(a, 6), unit_interval(a, 7),
                static_cast<float>(a.positive(8)), non_negative(a, 9), a.boolean(10)};
  const int64_t step = a.integer(11, 0, kMaxStep);
  a.expect_length(2, g.length, p.length, "same as params");
  a.expect_length(3, m.length, p.length, "same as params");
  a.expect_length(4, v.length, p.length, "same as params");
  return run(a.env(), {p.owner, g.owner, m.owner, v.owner}, 16 * p.length,
             [=] { oa::adam_step(ex, p.data, g.data, m.data, v.data, p.length, o, step); }, nothing);
}

// copyBandwidth(device, bytes, repeats) -> Promise<GB/s>; always async: it runs for a while.
Napi::Value copyBandwidth(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "copyBandwidth");
  const Exec ex{a.device(0), s.threads};
  const int64_t bytes = a.integer(1, 1, int64_t{1} << 36);
  const int repeats = static_cast<int>(a.integer(2, 1, 1000));
  auto result = std::make_shared<double>(0);
  return run(a.env(), {}, kAsyncBytes, [=] { *result = oa::copy_bandwidth(ex, bytes, repeats); },
             [result](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *result); });
}

}  // namespace oa::addon
