#pragma once

#include "napi_util.h"

namespace tomosort {

/** batchNormTrain(heap, x, scale, offset, residual|−1, y, mean, variance, M, C, epsilon, relu). */
void batchNormTrain(Args& a);

/** batchNormTrainGrad(heap, dy, x, scale, mean, variance, y|−1, dx, dscale, doffset, dz|−1, M, C, epsilon, relu). */
void batchNormTrainGrad(Args& a);

}  // namespace tomosort
