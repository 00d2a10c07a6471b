// The one oneDNN CPU engine and stream of the process, and the thread count every kernel uses.
#pragma once

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace tomosort {

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  /** OpenMP threads for oneDNN and for this addon's own loops. */
  int threads() const { return omp_get_max_threads(); }
};

inline Context& context() {
  static Context c;
  return c;
}

}  // namespace tomosort
