#pragma once

#include "napi_util.h"

namespace tomosort {

enum class PoolKind { MaxForward = 0, MaxBackward = 1, AvgForward = 2, AvgBackward = 3 };

/**
 * pool(kind, heap, params, in0, in1, out) over channels-last 2D (depth 1) or 3D tensors:
 * max forward (in0 = x, out = y), max backward (in0 = dy, in1 = x, out = dx), average forward
 * (in0 = x, out = y), average backward (in0 = dy, out = dx). Semantics of tfjs' cpu kernels.
 */
void pool(PoolKind kind, Args& a);

}  // namespace tomosort
