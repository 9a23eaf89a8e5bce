"""The dense layer with one output (N == 1): chapter 16's 64->1 and chapter 17's 64->1.

With one output the general routines waste most of their time: the forward's
dot products run one row at a time (each ends in a horizontal sum of its
vector partial sums), and the backward transposes ``w``, allocates a zero
row and a transposed ``dweights``, and sums the bias gradient through memory
(a store and a load per sample).  Here:

* ``forward_n1``: four rows' dot products per pass over ``w`` (one load of
  ``w[p]`` feeds four of them), measured 2x faster at 200x64->1;
* ``backward_n1``: the same products as before (``gemm_tn`` into
  ``dweights`` seen as a row, ``gemm_nn_small_k`` for ``dinputs``), without
  the temporaries, and the bias sum in a register, so the gradients keep
  their bits.
"""
from ._jit import kernel
from .gemm import _zeros, gemm_nn_small_k, gemm_tn, relu_if
from .regularization import regularize_inplace


@kernel(reductions=True)
def forward_n1(x, w, b, out, relu):
    """``out = x @ w + b`` (then ``max(0, out)`` if ``relu``) for w (K, 1).

    The four sums of a pass are registers (no store in the loop), so the
    vectorized loop needs no run-time overlap check and its order depends on
    K only."""
    m, k = x.shape
    wf = w.reshape(-1)
    bias = b[0, 0]
    zero = out.dtype.type(0.0)
    i = 0
    while i + 4 <= m:
        s0 = s1 = s2 = s3 = zero
        for p in range(k):
            wp = wf[p]
            s0 += x[i, p] * wp
            s1 += x[i + 1, p] * wp
            s2 += x[i + 2, p] * wp
            s3 += x[i + 3, p] * wp
        out[i, 0] = relu_if(s0 + bias, relu)
        out[i + 1, 0] = relu_if(s1 + bias, relu)
        out[i + 2, 0] = relu_if(s2 + bias, relu)
        out[i + 3, 0] = relu_if(s3 + bias, relu)
        i += 4
    while i < m:
        s0 = zero
        for p in range(k):
            s0 += x[i, p] * wf[p]
        out[i, 0] = relu_if(s0 + bias, relu)
        i += 1


@kernel
def sequential_sum(a):
    """``a[0] + a[1] + ...`` left to right (no fastmath: the order is kept), for a
    1-D array: the bias gradient's sum, in the order the column loop gave."""
    acc = a.dtype.type(0.0)
    for i in range(a.size):
        acc += a[i]
    return acc


@kernel
def backward_n1(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, b, reg):
    """``dweights = x.T @ dvalues``, ``dbiases = sum(dvalues)``, ``dinputs =
    dvalues @ w.T`` (if ``want_dinputs``) for w (K, 1), plus the L1/L2 terms
    of ``reg`` (see ``dense._backward``)."""
    m, k = x.shape
    dbiases[0, 0] = sequential_sum(dvalues.reshape(-1))
    # (K, 1) and (1, K) C arrays are the same memory: gemm_tn writes dweights
    # directly, and w seen as a row is w.T
    gemm_tn(dvalues, x, dweights.reshape(1, k))
    if want_dinputs:
        gemm_nn_small_k(dvalues, w.reshape(1, k), _zeros(k, w), dinputs, False)
    wl1, wl2, bl1, bl2 = reg
    if wl1 > 0.0 or wl2 > 0.0:
        regularize_inplace(dweights, w, wl1, wl2, wl1 > 0.0, wl2 > 0.0)
    if bl1 > 0.0 or bl2 > 0.0:
        regularize_inplace(dbiases, b, bl1, bl2, bl1 > 0.0, bl2 > 0.0)
