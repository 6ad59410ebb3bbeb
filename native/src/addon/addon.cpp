// Registers the addon's exports. The addon is context-aware: each Node environment (the main
// thread and every worker thread) gets its own Addon instance holding that environment's
// settings, freed by Node when the environment shuts down.
#include <napi.h>

#include <algorithm>
#include <thread>

#include "../kernels/kernels.h"
#include "args.h"
#include "bindings.h"

#ifndef ONNX_AUDIT_VERSION
#define ONNX_AUDIT_VERSION "0.0.0"
#endif

namespace oa::addon {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env /*env*/, Napi::Object exports) {
    settings_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    DefineAddon(exports, {
        InstanceMethod("capabilities", &Addon::Capabilities),
        InstanceMethod("setThreads", &Addon::SetThreads),
#define OA_EXPORT(name) InstanceMethod(#name, &Addon::Call<&oa::addon::name>),
        OA_BINDINGS(OA_EXPORT)
#undef OA_EXPORT
    });
  }

 private:
  using Binding = Napi::Value (*)(const Napi::CallbackInfo&, const Settings&);
  template <Binding fn>
  Napi::Value Call(const Napi::CallbackInfo& info) {
    return fn(info, settings_);
  }

  Napi::Value Capabilities(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const CudaInfo cuda = cuda_info();
    auto o = Napi::Object::New(env);
    o.Set("version", ONNX_AUDIT_VERSION);
    o.Set("napiVersion", NAPI_VERSION);
    o.Set("threads", settings_.threads);
    o.Set("hardwareThreads", std::thread::hardware_concurrency());
    o.Set("cudaCompiled", cuda.compiled);
    o.Set("cuda", cuda.available);
    if (cuda.available) o.Set("device", cuda.device);
    if (!cuda.available) o.Set("cudaReason", cuda.reason);
    if (cuda.compiled) {
      o.Set("cudaRuntimeVersion", cuda.runtime_version);
      o.Set("cudaDriverVersion", cuda.driver_version);
    }
    return o;
  }

  Napi::Value SetThreads(const Napi::CallbackInfo& info) {
    Args a(info, "setThreads");
    settings_.threads = static_cast<int>(a.integer(0, 1, 1024));
    return info.Env().Undefined();
  }

  Settings settings_{1};
};

}  // namespace oa::addon

using OnnxAuditAddon = oa::addon::Addon;  // the macro pastes the name into an identifier
NODE_API_ADDON(OnnxAuditAddon)
