// The Node-API module: one function per kernel family, plus threads and version. Every call is
// synchronous (tfjs kernels are) and turns C++ and oneDNN failures into JavaScript Errors.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "conv.h"
#include "dense.h"
#include "dnnl_context.h"
#include "napi_util.h"
#include "norm.h"
#include "pool.h"

namespace tomosort {
namespace {

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/** Runs `body`, turning exceptions into a thrown JavaScript Error. */
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what() + " (status " + std::to_string(static_cast<int>(e.status)) + ")").c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value Conv(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, "conv");
    const auto kind = a.integer(0);
    if (kind < 0 || kind > 2) a.fail("kind must be 0 (forward), 1 (backward data) or 2 (backward weights)");
    conv(static_cast<ConvKind>(kind), a);
    return undefined(env);
  });
}

napi_value ConvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, "convImplementation");
    const auto kind = a.integer(0);
    if (kind < 0 || kind > 2) a.fail("kind must be 0, 1 or 2");
    return str(env, convImplementation(static_cast<ConvKind>(kind), a, a.ints(1), a.flag(2), a.flag(3)));
  });
}

napi_value Pool(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, "pool");
    const auto kind = a.integer(0);
    if (kind < 0 || kind > 3) a.fail("kind must be 0..3");
    pool(static_cast<PoolKind>(kind), a);
    return undefined(env);
  });
}

#define SIMPLE(NAME, FN)                                    \
  napi_value NAME(napi_env env, napi_callback_info info) {  \
    return guarded(env, [&] {                               \
      Args a(env, info, #FN);                               \
      FN(a);                                                \
      return undefined(env);                                \
    });                                                     \
  }
SIMPLE(BatchNormTrain, batchNormTrain)
SIMPLE(BatchNormTrainGrad, batchNormTrainGrad)
SIMPLE(Adam, adam)
SIMPLE(MatMul, matMul)
SIMPLE(Binary, binary)

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, "setThreads");
    const auto n = a.integer(0);
    if (n < 1 || n > 1024) a.fail("threads must be 1..1024");
    if (n != omp_get_max_threads()) {
      omp_set_num_threads(static_cast<int>(n));
      clearConvCache();
    }
    return undefined(env);
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    const dnnl_version_t* v = dnnl_version();
    napi_value o;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "onednn", str(env, std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)));
    napi_set_named_property(env, o, "threads", num(env, context().threads()));
    napi_set_named_property(env, o, "isa", str(env, std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()))));
    return o;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convImplementation", nullptr, ConvImpl, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool", nullptr, Pool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTrain", nullptr, BatchNormTrain, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTrainGrad", nullptr, BatchNormTrainGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matMul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace
}  // namespace tomosort

NAPI_MODULE(NODE_GYP_MODULE_NAME, tomosort::Init)
