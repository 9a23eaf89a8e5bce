"""Small matrix products for the dense layer, without BLAS call overhead.

Three products cover a dense layer's forward and backward:

* ``gemm_nn``: ``out = init + a @ b``   (inner loop along b's rows)
* ``gemm_nt``: ``out = init + a @ bt.T`` (dot products along contiguous rows)
* ``gemm_tn``: ``out = a.T @ b``        (rank-1 updates accumulated over samples)

LLVM vectorizes only the innermost loop, so each routine keeps its innermost
loop long and contiguous and unrolls the *outer* short dimension by four: one
pass over a row then does four multiply-adds per element loaded or stored,
instead of four passes.  The dense layer picks, for each product, the routine
whose inner loop runs along the longer dimension (see ``dense.py``).

Arrays are indexed in 2-D rather than through row views: taking a view costs a
reference-count round trip per row, which measured 2-4x slower here.
Reassociation is allowed so the dot products vectorize; no nnan/ninf, so NaN
and inf still propagate.
"""
from ._jit import kernel


@kernel(reductions=True)
def gemm_nn(a, b, init, out):
    """``out[i, :] = init + sum_p a[i, p] * b[p, :]``; init is a 1-D row of length N."""
    m, k = a.shape
    n = b.shape[1]
    for i in range(m):
        # the first pass writes the row, fused with up to four products
        if k >= 4:
            a0, a1, a2, a3 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
            for j in range(n):
                out[i, j] = init[j] + (a0 * b[0, j] + a1 * b[1, j] + a2 * b[2, j] + a3 * b[3, j])
            p = 4
        elif k == 3:
            a0, a1, a2 = a[i, 0], a[i, 1], a[i, 2]
            for j in range(n):
                out[i, j] = init[j] + (a0 * b[0, j] + a1 * b[1, j] + a2 * b[2, j])
            p = 3
        elif k == 2:
            a0, a1 = a[i, 0], a[i, 1]
            for j in range(n):
                out[i, j] = init[j] + (a0 * b[0, j] + a1 * b[1, j])
            p = 2
        elif k == 1:
            a0 = a[i, 0]
            for j in range(n):
                out[i, j] = init[j] + a0 * b[0, j]
            p = 1
        else:
            for j in range(n):
                out[i, j] = init[j]
            p = 0
        while p + 4 <= k:
            a0, a1, a2, a3 = a[i, p], a[i, p + 1], a[i, p + 2], a[i, p + 3]
            for j in range(n):
                out[i, j] += a0 * b[p, j] + a1 * b[p + 1, j] + a2 * b[p + 2, j] + a3 * b[p + 3, j]
            p += 4
        while p < k:
            a0 = a[i, p]
            for j in range(n):
                out[i, j] += a0 * b[p, j]
            p += 1


@kernel(reductions=True)
def gemm_nt(a, bt, init, out):
    """``out[i, j] = init[j] + sum_p a[i, p] * bt[j, p]``: four dot products per pass."""
    m, k = a.shape
    n = bt.shape[0]
    zero = a.dtype.type(0.0)
    for i in range(m):
        j = 0
        while j + 4 <= n:
            s0 = s1 = s2 = s3 = zero
            for p in range(k):
                v = a[i, p]
                s0 += v * bt[j, p]
                s1 += v * bt[j + 1, p]
                s2 += v * bt[j + 2, p]
                s3 += v * bt[j + 3, p]
            out[i, j] = s0 + init[j]
            out[i, j + 1] = s1 + init[j + 1]
            out[i, j + 2] = s2 + init[j + 2]
            out[i, j + 3] = s3 + init[j + 3]
            j += 4
        if j + 3 == n:
            s0 = s1 = s2 = zero
            for p in range(k):
                v = a[i, p]
                s0 += v * bt[j, p]
                s1 += v * bt[j + 1, p]
                s2 += v * bt[j + 2, p]
            out[i, j] = s0 + init[j]
            out[i, j + 1] = s1 + init[j + 1]
            out[i, j + 2] = s2 + init[j + 2]
            j += 3
        if j + 2 <= n:
            s0 = s1 = zero
            for p in range(k):
                v = a[i, p]
                s0 += v * bt[j, p]
                s1 += v * bt[j + 1, p]
            out[i, j] = s0 + init[j]
            out[i, j + 1] = s1 + init[j + 1]
            j += 2
        if j < n:
            s0 = zero
            for p in range(k):
                s0 += a[i, p] * bt[j, p]
            out[i, j] = s0 + init[j]


@kernel(reductions=True)
def gemm_tn(a, b, out):
    """``out[p, :] = sum_i a[i, p] * b[i, :]``, four samples per pass over ``out``."""
    m, k = a.shape
    n = b.shape[1]
    for p in range(k):
        for j in range(n):
            out[p, j] = 0.0
    i = 0
    while i + 4 <= m:
        for p in range(k):
            c0, c1, c2, c3 = a[i, p], a[i + 1, p], a[i + 2, p], a[i + 3, p]
            for j in range(n):
                out[p, j] += c0 * b[i, j] + c1 * b[i + 1, j] + c2 * b[i + 2, j] + c3 * b[i + 3, j]
        i += 4
    while i < m:
        for p in range(k):
            c0 = a[i, p]
            for j in range(n):
                out[p, j] += c0 * b[i, j]
        i += 1
