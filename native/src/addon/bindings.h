// The JS-visible kernel functions. Each validates its arguments (args.h) and runs its kernel
// through run.h; `threads` is the calling environment's setting (addon.cpp).
#pragma once

#include <napi.h>

namespace oa::addon {

struct Settings {
  int threads;
};

#define OA_BINDINGS(X)                                                                  \
  X(softmax) X(membershipMetrics) X(nllTemperature) X(calibrationBins) X(roc)           \
  X(attackStep) X(project) X(perturbationNorms) X(gradientEstimate) X(randomFill)       \
  X(randomBall) X(unitDirections) X(sgdStep) X(adamStep) X(copyBandwidth)

#define OA_DECLARE(name) Napi::Value name(const Napi::CallbackInfo& info, const Settings& settings);
OA_BINDINGS(OA_DECLARE)
#undef OA_DECLARE

}  // namespace oa::addon
