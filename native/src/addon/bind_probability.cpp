// Bindings of the kernels over logits and scores: softmax, membership metrics, NLL in T,
// calibration bins, ROC.
#include <cmath>

#include "args.h"
#include "bindings.h"
#include "run.h"

namespace oa::addon {

// softmax(device, logits, k, temperature, log, out)
Napi::Value softmax(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "softmax");
  const Exec ex{a.device(0), s.threads};
  auto logits = a.float32(1);
  const int64_t k = a.integer(2, 1, INT32_MAX);
  const float t = static_cast<float>(a.positive(3));
  const bool log = a.boolean(4);
  auto out = a.float32(5);
  const int64_t n = a.rows(1, logits.length, k, "k");
  a.expect_length(5, out.length, logits.length, "same as logits");
  return run(a.env(), {logits.owner, out.owner}, 8 * logits.length,
             [=] { oa::softmax(ex, logits.data, n, k, t, log, out.data); }, nothing);
}

// membershipMetrics(device, logits, labels, k, out[7n])
Napi::Value membershipMetrics(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "membershipMetrics");
  const Exec ex{a.device(0), s.threads};
  auto logits = a.float32(1);
  auto labels = a.int32(2);
  const int64_t k = a.integer(3, 2, INT32_MAX);
  auto out = a.float64(4);
  const int64_t n = a.rows(1, logits.length, k, "k");
  a.expect_length(2, labels.length, n, "one label per row of logits");
  a.check_labels(2, labels, k);
  a.expect_length(4, out.length, kMetricCount * n, "7 metrics per sample");
  return run(a.env(), {logits.owner, labels.owner, out.owner}, 4 * logits.length + 60 * n,
             [=] { oa::membership_metrics(ex, logits.data, labels.data, n, k, out.data); }, nothing);
}

// nllTemperature(device, logits, labels, k, temperature) -> {nll, d1, d2}
Napi::Value nllTemperature(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "nllTemperature");
  const Exec ex{a.device(0), s.threads};
  auto logits = a.float32(1);
  auto labels = a.int32(2);
  const int64_t k = a.integer(3, 1, INT32_MAX);
  const double t = a.positive(4);
  const int64_t n = a.rows(1, logits.length, k, "k");
  if (n == 0) a.range_error(1, "is empty: the NLL of no samples is undefined");
  a.expect_length(2, labels.length, n, "one label per row of logits");
  a.check_labels(2, labels, k);
  auto result = std::make_shared<NllResult>();
  return run(a.env(), {logits.owner, labels.owner}, 4 * logits.length,
             [=] { *result = oa::nll_temperature(ex, logits.data, labels.data, n, k, t); },
             [result](Napi::Env env) -> Napi::Value {
               auto o = Napi::Object::New(env);
               o.Set("nll", result->nll), o.Set("d1", result->d1), o.Set("d2", result->d2);
               return o;
             });
}

// calibrationBins(device, confidence, correct, bins, binning, out[5 * bins])
Napi::Value calibrationBins(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "calibrationBins");
  const Exec ex{a.device(0), s.threads};
  auto conf = a.float32(1);
  auto correct = a.uint8(2);
  const int bins = static_cast<int>(a.integer(3, 1, 1 << 20));
  const Binning binning = a.one_of(4, {"equal-width", "equal-mass"}) == "equal-width"
                              ? Binning::EqualWidth : Binning::EqualMass;
  auto out = a.float64(5);
  a.expect_length(2, correct.length, conf.length, "one flag per confidence");
  a.expect_length(5, out.length, 5 * int64_t{bins}, "count, mean confidence, accuracy, lower, upper per bin");
  for (int64_t i = 0; i < conf.length; ++i) {
    if (!(conf.data[i] >= 0 && conf.data[i] <= 1))
      a.range_error(1, "holds " + std::to_string(conf.data[i]) + " at index " + std::to_string(i) + ", outside [0, 1]");
    if (correct.data[i] > 1) a.range_error(2, "must hold 0 or 1, got " + std::to_string(correct.data[i]));
  }
  const int64_t n = conf.length;
  double* o = out.data;
  return run(a.env(), {conf.owner, correct.owner, out.owner}, 5 * n,
             [=] { oa::calibration_bins(ex, conf.data, correct.data, n, bins, binning, o, o + bins,
                                        o + 2 * bins, o + 3 * bins, o + 4 * bins); },
             nothing);
}

// roc(device, scores, labels, fprTargets, tprAt, curveFpr[n+1], curveTpr, curveThreshold) -> {auc, points}
Napi::Value roc(const Napi::CallbackInfo& info, const Settings& s) {
  Args a(info, "roc");
  const Exec ex{a.device(0), s.threads};
  auto scores = a.float32(1);
  auto labels = a.uint8(2);
  auto targets = a.float64(3);
  auto tpr_at = a.float64(4);
  auto fpr = a.float64(5), tpr = a.float64(6), thr = a.float64(7);
  const int64_t n = scores.length;
  a.expect_length(2, labels.length, n, "one label per score");
  a.expect_length(4, tpr_at.length, targets.length, "one per FPR target");
  a.expect_length(5, fpr.length, n + 1, "n + 1 curve points");
  a.expect_length(6, tpr.length, n + 1, "n + 1 curve points");
  a.expect_length(7, thr.length, n + 1, "n + 1 curve points");
  int64_t positives = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(scores.data[i])) a.range_error(1, "holds NaN at index " + std::to_string(i));
    if (labels.data[i] > 1) a.range_error(2, "must hold 0 or 1, got " + std::to_string(labels.data[i]));
    positives += labels.data[i];
  }
  if (positives == 0 || positives == n)
    a.range_error(2, "needs at least one positive and one negative label");
  for (int64_t t = 0; t < targets.length; ++t)
    if (!(targets.data[t] >= 0 && targets.data[t] <= 1)) a.range_error(3, "must hold FPRs in [0, 1]");
  auto result = std::make_shared<RocResult>();
  return run(a.env(), {scores.owner, labels.owner, targets.owner, tpr_at.owner, fpr.owner, tpr.owner, thr.owner},
             29 * n, [=] {
               *result = oa::roc(ex, scores.data, labels.data, n, targets.data, targets.length,
                                 tpr_at.data, fpr.data, tpr.data, thr.data);
             },
             [result](Napi::Env env) -> Napi::Value {
               auto o = Napi::Object::New(env);
               o.Set("auc", result->auc), o.Set("points", static_cast<double>(result->points));
               return o;
             });
}

}  // namespace oa::addon
