// Runs a validated kernel call: inline when it touches less than about 1 MB (a thread hop would
// cost more than the work), otherwise on libuv's pool in an AsyncWorker that resolves a Promise,
// so the event loop never waits behind a kernel. The JS objects owning the buffers are referenced
// until the work ends, so they cannot be collected while a kernel reads them.
#pragma once

#include <napi.h>

#include <functional>
#include <vector>

#include "../kernels/kernels.h"

namespace oa::addon {

constexpr size_t kAsyncBytes = size_t{1} << 20;

using Work = std::function<void()>;
using Result = std::function<Napi::Value(Napi::Env)>;

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, const std::vector<Napi::Object>& keep, Work work, Result result)
      : Napi::AsyncWorker(env, "onnx-audit:kernel"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), result_(std::move(result)) {
    for (const auto& object : keep) keep_.push_back(Napi::Persistent(object));
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result_(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> keep_;
  Work work_;
  Result result_;
};

inline Napi::Value run(Napi::Env env, const std::vector<Napi::Object>& keep, size_t bytes, Work work,
                       Result result) {
  if (bytes < kAsyncBytes) {
    try {
      work();
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return result(env);
  }
  auto* worker = new KernelWorker(env, keep, std::move(work), std::move(result));
  const Napi::Promise promise = worker->promise();
  worker->Queue();  // libuv owns and deletes the worker from here
  return promise;
}

inline Napi::Value nothing(Napi::Env env) { return env.Undefined(); }

}  // namespace oa::addon
