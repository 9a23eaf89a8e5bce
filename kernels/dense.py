"""Dense layer forward and backward, each one kernel call.

Small layers (the book's 2-64-3 net) are dominated by call overhead and
temporaries, so they run on the loop routines of ``gemm.py`` (and, for the
backward of the 2-64-3 net's two shapes, ``dense_small.py``), choosing for
each product the routine whose innermost loop runs along the longer
dimension.  Large layers go to BLAS (``blas.py``).

The backward takes the layer's L1/L2 coefficients (chapter 14) as
``reg = (weight l1, 2 * weight l2, bias l1, 2 * bias l2)``: each routine adds
the book's terms (``regularization.regularized``) as it stores ``dweights``
and ``dbiases`` where it has a store of its own (the seed shapes, the small
K >= N path), else in a pass over the K x N gradients inside the same call
(a loop accumulating into ``dweights`` itself, BLAS).
"""
import numpy as np
from ._jit import kernel

from .blas import gemm_blas
from .dense_n1 import backward_n1, forward_n1
from .dense_small import backward_k2, backward_n3
from .gemm import (_transpose, _zeros, gemm_nn, gemm_nn_small_k, gemm_nt, gemm_tn,
                   relu_inplace, relu_mask_inplace)
from .regularization import NO_REGULARIZATION, regularize_inplace, regularized

# From this many multiply-adds per product on, BLAS's blocked GEMM beats the
# loops of gemm.py (measured with benchmarks/bench_ops.py) -- except for the
# thin products (K <= 3 inputs, or N == 3 outputs), which BLAS cannot block:
# their loop routines stay 3-6x faster than single-threaded BLAS at any batch
# (measured at 3000x2->64 and 3000x64->3, chapter 15's layers: 18 us vs 45 us
# forward, 27 us vs 158 us backward, float64), and multi-threaded BLAS on a
# busy two-core machine took milliseconds.
BLAS_MIN_MADDS = 1 << 18


@kernel(reductions=True)
def dense_forward_act(x, w, b, out, relu):
    """``out = x @ w + b``, then ``max(0, out)`` if ``relu`` (the training loop's
    fused dense + ReLU: fused into the store on the small-K path)."""
    m, k = x.shape
    n = w.shape[1]
    if n >= k and k <= 3:
        gemm_nn_small_k(x, w, b[0], out, relu)
        return
    elif n == 3 and k > 3:
        gemm_nt(x, _transpose(w), b[0], out)
    elif m * k * n >= BLAS_MIN_MADDS:
        for i in range(m):
            for j in range(n):
                out[i, j] = b[0, j]
        gemm_blas(x, False, w, False, out, True)
    elif n == 1:                    # one output (chapters 16-17): ReLU fused in
        forward_n1(x, w, b, out, relu)
        return
    elif n >= k:
        gemm_nn(x, w, b[0], out)
    else:
        gemm_nt(x, _transpose(w), b[0], out)
    if relu:
        relu_inplace(out)


@kernel
def dense_forward(x, w, b, out):
    """``out = x @ w + b`` for x (M,K), w (K,N), b (1,N), out (M,N).

    Returns False, having written nothing, if the shapes do not fit."""
    m, k = x.shape
    n = w.shape[1]
    if w.shape[0] != k or b.shape[0] != 1 or b.shape[1] != n or out.shape != (m, n):
        return False
    dense_forward_act(x, w, b, out, False)
    return True


@kernel(reductions=True)
def _backward_thin_input(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, b, reg):
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
    # the sums were accumulated in place: the terms go on in a pass over the
    # K x N results (not over the batch)
    _regularize_params(w, b, dweights, dbiases, reg)


@kernel
def _regularize_params(w, b, dweights, dbiases, reg):
    wl1, wl2, bl1, bl2 = reg
    if wl1 > 0.0 or wl2 > 0.0:
        regularize_inplace(dweights, w, wl1, wl2, wl1 > 0.0, wl2 > 0.0)
    if bl1 > 0.0 or bl2 > 0.0:
        regularize_inplace(dbiases, b, bl1, bl2, bl1 > 0.0, bl2 > 0.0)


@kernel(reductions=True)
def dense_backward_into(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, masked, mask):
    """``dense_backward`` for the training loop.

    ``want_dinputs`` False leaves ``dinputs`` unwritten (the first layer's,
    which nothing reads).  ``masked``: the layer's input came from a ReLU whose
    output is ``mask``; ``dinputs`` is then stored as that ReLU's backward
    would leave it (fused into the store on the N == 3 path), which saves the
    ReLU's own backward pass."""
    _backward(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, masked, mask,
              dbiases, NO_REGULARIZATION)


@kernel(reductions=True, inline="always")
def _backward(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, masked, mask, b, reg):
    """``dense_backward_into`` with the biases ``b`` and the L1/L2 ``reg``.

    Only routing (no loops of its own), inlined into its three callers at
    Numba IR level: as a function of its own, its module was optimized again
    with every routine it routes to linked in, ~1.5 s more cold compile per
    caller."""
    m, k = x.shape
    n = w.shape[1]
    small = m * k * n < BLAS_MIN_MADDS
    if n == 3 and k >= 3:           # thin: at any batch (see BLAS_MIN_MADDS)
        backward_n3(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, masked, mask, b, reg)
        return
    if k == 2 and n > 2:
        backward_k2(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, b, reg)
    elif small and n == 1:
        backward_n1(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, b, reg)
    elif small and k < n:
        _backward_thin_input(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, b, reg)
    else:
        _backward_general(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, small, b, reg)
    if masked and want_dinputs:
        relu_mask_inplace(dinputs, mask)


@kernel(reductions=True)
def _backward_general(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, small, b, reg):
    """Bias sums, then BLAS for large layers or, for K >= N, the loop routines."""
    m, k = x.shape
    n = w.shape[1]
    db = dbiases[0]
    for j in range(n):
        db[j] = 0.0
    for i in range(m):
        for j in range(n):
            db[j] += dvalues[i, j]
    if not small:
        gemm_blas(x, True, dvalues, False, dweights, False)
        if want_dinputs:
            gemm_blas(dvalues, False, w, True, dinputs, False)
        _regularize_params(w, b, dweights, dbiases, reg)
        return
    # K >= N: dinputs rows are combinations of the N rows of w.T, and
    # dweights.T accumulates rank-1 updates along the long K axis.
    if want_dinputs:
        gemm_nn(dvalues, _transpose(w), _zeros(k, w), dinputs)
    dwt = np.empty((n, k), dweights.dtype)
    gemm_tn(dvalues, x, dwt)
    wl1, wl2, bl1, bl2 = reg
    if wl1 > 0.0 or wl2 > 0.0:
        # the terms as the transposed products are stored
        t = dweights.dtype.type
        l1t, l2t, on1, on2 = t(wl1), t(wl2), wl1 > 0.0, wl2 > 0.0
        for p in range(k):
            for j in range(n):
                dweights[p, j] = regularized(dwt[j, p], w[p, j], l1t, l2t, on1, on2)
    else:
        for p in range(k):
            for j in range(n):
                dweights[p, j] = dwt[j, p]
    if bl1 > 0.0 or bl2 > 0.0:
        regularize_inplace(dbiases, b, bl1, bl2, bl1 > 0.0, bl2 > 0.0)


@kernel
def dense_backward(x, w, dvalues, dweights, dbiases, dinputs):
    """``dweights = x.T @ dvalues``, ``dbiases = sum(dvalues, 0)``, ``dinputs = dvalues @ w.T``.

    Returns False, having written nothing, if the shapes do not fit."""
    m, k = x.shape
    n = w.shape[1]
    if (w.shape[0] != k or dvalues.shape != (m, n) or dweights.shape != (k, n)
            or dbiases.shape != (1, n) or dinputs.shape != (m, k)):
        return False
    # _backward itself, not dense_backward_into: Numba optimizes each caller's
    # module again with its callees linked in, so a wrapper layer costs ~1.5 s
    # of cold compile
    _backward(x, w, dvalues, dweights, dbiases, dinputs, True, False, dinputs, dbiases,
              NO_REGULARIZATION)
    return True


@kernel
def dense_backward_reg(x, w, b, dvalues, dweights, dbiases, dinputs, wl1, wl2x2, bl1, bl2x2):
    """``dense_backward`` plus the book's L1/L2 terms (chapter 14) on ``dweights``
    and ``dbiases``: ``l1 * dL1`` then ``2 * l2 * param``, each where its
    coefficient is > 0.  ``wl2x2``/``bl2x2`` are ``2 * l2`` as the caller's
    Python computes it; the terms are rounded to the arrays' dtype as NumPy
    rounds them.  ``b``: the layer's biases, (1, N).

    Returns False, having written nothing, if the shapes do not fit."""
    m, k = x.shape
    n = w.shape[1]
    if (w.shape[0] != k or b.shape != (1, n) or dvalues.shape != (m, n)
            or dweights.shape != (k, n) or dbiases.shape != (1, n) or dinputs.shape != (m, k)):
        return False
    _backward(x, w, dvalues, dweights, dbiases, dinputs, True, False, dinputs, b,
              (float(wl1), float(wl2x2), float(bl1), float(bl2x2)))
    return True
