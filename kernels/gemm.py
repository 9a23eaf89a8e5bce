"""Small matrix products for the dense layer, without BLAS call overhead.

Three products cover a dense layer's forward and backward:

* ``gemm_nn``: ``out = init + a @ b``   (inner loop along b's rows)
* ``gemm_nt``: ``out = init + a @ bt.T`` (dot products along contiguous rows)
* ``gemm_tn``: ``out = a.T @ b``        (rank-1 updates accumulated over samples)

and the small passes around them (a transpose, a zero row, ReLU in place).

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
import numpy as np

from ._jit import kernel


@kernel(inline="always")
def relu_if(v, relu):
    """``v``, or ``relu_forward``'s ``max(0, v)`` (NaN kept) when ``relu``."""
    if relu:
        return 0.0 if v <= 0.0 else v
    return v


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


@kernel
def relu_inplace(a):
    """``a = max(0, a)`` as ``relu_forward`` computes it."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] = relu_if(a[i, j], True)


@kernel
def relu_mask_inplace(d, mask):
    """``d = 0 where mask <= 0`` (``relu_backward`` with the ReLU's output as mask)."""
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            if mask[i, j] <= 0.0:
                d[i, j] = 0.0


@kernel(reductions=True)
def gemm_nn_small_k(a, b, init, out, relu):
    """``gemm_nn`` for K <= 3 (e.g. the 2->64 layer's forward): four rows of
    ``out`` per pass over ``b``.  Each loaded element of ``b`` and ``init`` then
    feeds four rows instead of one, and the vectorized inner loop's setup
    (runtime alias checks, remainder) is paid once per four rows: measured 2x
    faster than one row per pass at 300x2->64.  The row index is kept as a
    signed loop counter from 0 (no wraparound select in the inner loop).
    With ``relu`` each value is stored as ``max(0, value)``, as ``relu_forward``
    computes it: the training loop's fused dense + ReLU."""
    m, k = a.shape
    n = b.shape[1]
    m4 = m - m % 4
    if k == 3:
        for i in range(0, m4, 4):
            x00, x01, x02 = a[i, 0], a[i, 1], a[i, 2]
            x10, x11, x12 = a[i + 1, 0], a[i + 1, 1], a[i + 1, 2]
            x20, x21, x22 = a[i + 2, 0], a[i + 2, 1], a[i + 2, 2]
            x30, x31, x32 = a[i + 3, 0], a[i + 3, 1], a[i + 3, 2]
            for j in range(n):
                w0, w1, w2, c = b[0, j], b[1, j], b[2, j], init[j]
                out[i, j] = relu_if(c + (x00 * w0 + x01 * w1 + x02 * w2), relu)
                out[i + 1, j] = relu_if(c + (x10 * w0 + x11 * w1 + x12 * w2), relu)
                out[i + 2, j] = relu_if(c + (x20 * w0 + x21 * w1 + x22 * w2), relu)
                out[i + 3, j] = relu_if(c + (x30 * w0 + x31 * w1 + x32 * w2), relu)
        for i in range(m4, m):
            x00, x01, x02 = a[i, 0], a[i, 1], a[i, 2]
            for j in range(n):
                out[i, j] = relu_if(init[j] + (x00 * b[0, j] + x01 * b[1, j] + x02 * b[2, j]), relu)
    elif k == 2:
        for i in range(0, m4, 4):
            x00, x01 = a[i, 0], a[i, 1]
            x10, x11 = a[i + 1, 0], a[i + 1, 1]
            x20, x21 = a[i + 2, 0], a[i + 2, 1]
            x30, x31 = a[i + 3, 0], a[i + 3, 1]
            for j in range(n):
                w0, w1, c = b[0, j], b[1, j], init[j]
                out[i, j] = relu_if(c + (x00 * w0 + x01 * w1), relu)
                out[i + 1, j] = relu_if(c + (x10 * w0 + x11 * w1), relu)
                out[i + 2, j] = relu_if(c + (x20 * w0 + x21 * w1), relu)
                out[i + 3, j] = relu_if(c + (x30 * w0 + x31 * w1), relu)
        for i in range(m4, m):
            x00, x01 = a[i, 0], a[i, 1]
            for j in range(n):
                out[i, j] = relu_if(init[j] + (x00 * b[0, j] + x01 * b[1, j]), relu)
    elif k == 1:
        for i in range(0, m4, 4):
            x0, x1, x2, x3 = a[i, 0], a[i + 1, 0], a[i + 2, 0], a[i + 3, 0]
            for j in range(n):
                w0, c = b[0, j], init[j]
                out[i, j] = relu_if(c + x0 * w0, relu)
                out[i + 1, j] = relu_if(c + x1 * w0, relu)
                out[i + 2, j] = relu_if(c + x2 * w0, relu)
                out[i + 3, j] = relu_if(c + x3 * w0, relu)
        for i in range(m4, m):
            x0 = a[i, 0]
            for j in range(n):
                out[i, j] = relu_if(init[j] + x0 * b[0, j], relu)
    else:
        for i in range(m):
            for j in range(n):
                out[i, j] = relu_if(init[j], relu)


@kernel(reductions=True)
def gemm_nt_n3(a, bt, init, out):
    """``gemm_nt`` for N == 3 (e.g. the 64->3 layer's forward): four rows per
    pass, twelve dot products sharing each load of ``bt`` (four rows) and of
    ``a`` (three columns); measured 2x faster than one row per pass."""
    m, k = a.shape
    zero = a.dtype.type(0.0)
    m4 = m - m % 4
    for i in range(0, m4, 4):
        s0 = s1 = s2 = t0 = t1 = t2 = zero
        u0 = u1 = u2 = v0 = v1 = v2 = zero
        for p in range(k):
            w0, w1, w2 = bt[0, p], bt[1, p], bt[2, p]
            x, y, z, q = a[i, p], a[i + 1, p], a[i + 2, p], a[i + 3, p]
            s0 += x * w0
            s1 += x * w1
            s2 += x * w2
            t0 += y * w0
            t1 += y * w1
            t2 += y * w2
            u0 += z * w0
            u1 += z * w1
            u2 += z * w2
            v0 += q * w0
            v1 += q * w1
            v2 += q * w2
        out[i, 0] = s0 + init[0]
        out[i, 1] = s1 + init[1]
        out[i, 2] = s2 + init[2]
        out[i + 1, 0] = t0 + init[0]
        out[i + 1, 1] = t1 + init[1]
        out[i + 1, 2] = t2 + init[2]
        out[i + 2, 0] = u0 + init[0]
        out[i + 2, 1] = u1 + init[1]
        out[i + 2, 2] = u2 + init[2]
        out[i + 3, 0] = v0 + init[0]
        out[i + 3, 1] = v1 + init[1]
        out[i + 3, 2] = v2 + init[2]
    for i in range(m4, m):
        s0 = s1 = s2 = zero
        for p in range(k):
            x = a[i, p]
            s0 += x * bt[0, p]
            s1 += x * bt[1, p]
            s2 += x * bt[2, p]
        out[i, 0] = s0 + init[0]
        out[i, 1] = s1 + init[1]
        out[i, 2] = s2 + init[2]


@kernel(reductions=True)
def gemm_nn(a, b, init, out):
    """``out[i, :] = init + sum_p a[i, p] * b[p, :]``; init is a 1-D row of length N."""
    m, k = a.shape
    n = b.shape[1]
    if k <= 3:
        gemm_nn_small_k(a, b, init, out, False)
        return
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
    if n == 3:
        gemm_nt_n3(a, bt, init, out)
        return
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
