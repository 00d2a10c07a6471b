#pragma once

#include <string>
#include <vector>

#include "napi_util.h"

namespace tomosort {

enum class ConvKind { Forward = 0, BackwardData = 1, BackwardWeights = 2 };

/**
 * conv(kind, heap, params, a, b, bias, out, relu): forward (a = x, b = filter, out = y; bias and
 * a ReLU post-op optional), backward data (a = dy, b = filter, out = dx) or backward weights
 * (a = x, b = dy, out = dFilter). Offsets are bytes into the heap; params as in conv.cc.
 */
void conv(ConvKind kind, Args& a);

/** The oneDNN implementation chosen for a geometry (e.g. "brg:avx512_core"), for diagnostics. */
std::string convImplementation(ConvKind kind, const Args& a, const std::vector<int64_t>& params, bool bias, bool relu);

/** Drops cached primitives (after the thread count changes). */
void clearConvCache();

}  // namespace tomosort
