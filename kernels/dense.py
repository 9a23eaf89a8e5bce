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
def dense_backward(x, w, dvalues, dweights, dbiases, dinputs):
    """``dweights = x.T @ dvalues``, ``dbiases = sum(dvalues, 0)``, ``dinputs = dvalues @ w.T``."""
    m, k = x.shape
    n = w.shape[1]
    db = dbiases[0]
    for j in range(n):
        db[j] = 0.0
    for i in range(m):
        d = dvalues[i]
        for j in range(n):
            db[j] += d[j]

    if m * k * n >= BLAS_MIN_MADDS:
        gemm_blas(x, True, dvalues, False, dweights, False)
        gemm_blas(dvalues, False, w, True, dinputs, False)
        return

    # dinputs[i, p] = sum_j dvalues[i, j] * w[p, j]
    if k >= n:
        gemm_nn(dvalues, _transpose(w), _zeros(k, w), dinputs)
    else:
        gemm_nt(dvalues, w, _zeros(k, w), dinputs)

    # dweights[p, j] = sum_i x[i, p] * dvalues[i, j]
    if n >= k:
        gemm_tn(x, dvalues, dweights)
    else:
        dwt = np.empty((n, k), dweights.dtype)
        gemm_tn(dvalues, x, dwt)
        for p in range(k):
            for j in range(n):
                dweights[p, j] = dwt[j, p]
