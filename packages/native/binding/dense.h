#pragma once

#include "napi_util.h"

namespace tomosort {

/**
 * adam(heap, v, m, s, g, vOut, mOut, sOut, n, lr, beta1, beta2, epsilon, step, weightDecay):
 * one Adam(W) update of n values (Kingma & Ba 2015; decoupled decay, Loshchilov & Hutter 2019).
 */
void adam(Args& a);

/**
 * matMul(heap, a, b, out, batch, batchA, batchB, M, N, K, transposeA, transposeB): out[i] =
 * op(a[i mod batchA])·op(b[i mod batchB]), row-major, batchA and batchB 1 or batch.
 */
void matMul(Args& a);

}  // namespace tomosort

namespace tomosort {

/**
 * binary(op, heap, a, b, out, n, bScalar): out = a op b elementwise over n values (op 0: add,
 * 1: multiply, 2: subtract); b is one value broadcast when bScalar, else n values; a likewise
 * when aScalar.
 */
void binary(Args& a);

}  // namespace tomosort
