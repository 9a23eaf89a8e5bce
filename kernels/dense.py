"""Dense layer forward and backward, each one kernel call.

Small layers (the book's 2-64-3 net) are dominated by call overhead and
temporaries, so they run on the loop routines of ``gemm.py``, choosing for
each product the routine whose innermost loop runs along the longer
dimension.  Large layers go to BLAS (``blas.py``).
"""
import numpy as np
from ._jit import kernel

from .blas import gemm_blas
from .gemm import gemm_nn, gemm_nt, gemm_tn

# From this many multiply-adds per product on, BLAS's blocked GEMM beats the
# loops of gemm.py (measured with benchmarks/bench_ops.py).
BLAS_MIN_MADDS = 1 << 18


@kernel
def _transpose(a):
    out = np.empty((a.shape[1], a.shape[0]), a.dtype)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[i, j]
    return out


@kernel
def _zeros(n, dtype_like):
    z = np.empty(n, dtype_like.dtype)
    z[:] = 0.0
    return z


@kernel(reductions=True)
def dense_forward(x, w, b, out):
    """``out = x @ w + b`` for x (M,K), w (K,N), b (1,N)."""
    m, k = x.shape
    n = w.shape[1]
    if m * k * n >= BLAS_MIN_MADDS:
        for i in range(m):
            for j in range(n):
                out[i, j] = b[0, j]
        gemm_blas(x, False, w, False, out, True)
    elif n >= k:
        gemm_nn(x, w, b[0], out)
    else:
        gemm_nt(x, _transpose(w), b[0], out)


@kernel(reductions=True)
def _backward_thin_input(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs):
    """The whole backward in one pass over ``dvalues``, for K < N (e.g. the 2-64 layer).

    Four samples at a time: their rows of ``dvalues`` are read once from L2 and
    used for the bias sums, the rank-4 update of every ``dweights`` row and
    the dot products giving ``dinputs``; three separate products would stream
    ``dvalues`` three times (measured 1.6x slower).
    """
    m, k = x.shape
    n = w.shape[1]
    zero = dinputs.dtype.type(0.0)
    for j in range(n):
        dbiases[0, j] = 0.0
    for p in range(k):
        for j in range(n):
            dweights[p, j] = 0.0
    i = 0
    while i + 4 <= m:
        for j in range(n):
            dbiases[0, j] += (dvalues[i, j] + dvalues[i + 1, j]) + (dvalues[i + 2, j] + dvalues[i + 3, j])
        for p in range(k):
            x0, x1, x2, x3 = x[i, p], x[i + 1, p], x[i + 2, p], x[i + 3, p]
            a0 = a1 = a2 = a3 = zero
            if not want_dinputs:
                for j in range(n):
                    dweights[p, j] += (x0 * dvalues[i, j] + x1 * dvalues[i + 1, j]
                                       + x2 * dvalues[i + 2, j] + x3 * dvalues[i + 3, j])
                continue
            for j in range(n):
                d0, d1, d2, d3 = dvalues[i, j], dvalues[i + 1, j], dvalues[i + 2, j], dvalues[i + 3, j]
                wpj = w[p, j]
                dweights[p, j] += x0 * d0 + x1 * d1 + x2 * d2 + x3 * d3
                a0 += d0 * wpj
                a1 += d1 * wpj
                a2 += d2 * wpj
                a3 += d3 * wpj
            dinputs[i, p] = a0
            dinputs[i + 1, p] = a1
            dinputs[i + 2, p] = a2
            dinputs[i + 3, p] = a3
        i += 4
    while i < m:
        for j in range(n):
            dbiases[0, j] += dvalues[i, j]
        for p in range(k):
            xp = x[i, p]
            acc = zero
            for j in range(n):
                d = dvalues[i, j]
                dweights[p, j] += xp * d
                acc += d * w[p, j]
            if want_dinputs:
                dinputs[i, p] = acc
        i += 1


@kernel(reductions=True)
def dense_backward_into(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs):
    """``dense_backward``; with ``want_dinputs`` False, ``dinputs`` is left unwritten
    (the training loop skips the first layer's, which nothing reads)."""
    m, k = x.shape
    n = w.shape[1]
    if m * k * n < BLAS_MIN_MADDS and k < n:
        _backward_thin_input(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs)
        return
    db = dbiases[0]
    for j in range(n):
        db[j] = 0.0
    for i in range(m):
        for j in range(n):
            db[j] += dvalues[i, j]

    if m * k * n >= BLAS_MIN_MADDS:
        gemm_blas(x, True, dvalues, False, dweights, False)
        if want_dinputs:
            gemm_blas(dvalues, False, w, True, dinputs, False)
        return

    # K >= N: dinputs rows are combinations of the N rows of w.T, and
    # dweights.T accumulates rank-1 updates along the long K axis.
    if want_dinputs:
        gemm_nn(dvalues, _transpose(w), _zeros(k, w), dinputs)
    dwt = np.empty((n, k), dweights.dtype)
    gemm_tn(dvalues, x, dwt)
    for p in range(k):
        for j in range(n):
            dweights[p, j] = dwt[j, p]


@kernel
def dense_backward(x, w, dvalues, dweights, dbiases, dinputs):
    """``dweights = x.T @ dvalues``, ``dbiases = sum(dvalues, 0)``, ``dinputs = dvalues @ w.T``."""
    dense_backward_into(x, w, dvalues, dweights, dbiases, dinputs, True)
