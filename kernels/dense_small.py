"""The dense backward for the two layer shapes of the book's 2-64-3 net.

``_backward_n3`` (N == 3 outputs, e.g. 64->3) and ``_backward_k2`` (K == 2
inputs, e.g. 2->64) are each one pass over ``dvalues`` doing the bias sums,
``dweights`` and ``dinputs`` together (see their docstrings for what was
measured).  ``dense.py`` picks them; ``reg`` is the layer's L1/L2
coefficients ``(weight l1, 2 * weight l2, bias l1, 2 * bias l2)``, applied by
``regularization.regularized`` as ``dweights``/``dbiases`` are stored.
"""
import numpy as np

from ._jit import kernel
from .regularization import regularized

@kernel(contract=True)
def backward_n3(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, masked, mask,
                biases, reg):
    """The backward for N == 3 <= K (e.g. the 64->3 layer), four samples per pass.

    ``dinputs`` rows are written four at a time from the three rows of w.T
    (each load of w.T feeds four rows; the vector loop's setup is paid once per
    four rows), and the three rows of dW.T are updated together from four rows
    of ``x`` (each x element loaded once, not three times).  Measured 2x faster
    than gemm_nn + gemm_tn + transposes at 300x64->3.  The arrays are walked
    as flat memory: 2-D indexing inside the inner loops measured 10-15%
    slower; eight samples per pass measured 3x slower (register spills), and
    one scratch array sliced six ways instead of six arrays 10% slower (LLVM
    cannot tell the slices apart).  With ``masked``, ``dinputs`` is stored as
    ``relu_backward`` would leave it behind a ReLU whose output is ``mask``."""
    m, k = x.shape
    zero = dinputs.dtype.type(0.0)
    xf = x.reshape(-1)
    df = dvalues.reshape(-1)
    of = dinputs.reshape(-1)
    mf = mask.reshape(-1)
    wt0 = np.empty(k, w.dtype)
    wt1 = np.empty(k, w.dtype)
    wt2 = np.empty(k, w.dtype)
    a0 = np.empty(k, dweights.dtype)
    a1 = np.empty(k, dweights.dtype)
    a2 = np.empty(k, dweights.dtype)
    for p in range(k):
        wt0[p] = w[p, 0]
        wt1[p] = w[p, 1]
        wt2[p] = w[p, 2]
        a0[p] = 0.0
        a1[p] = 0.0
        a2[p] = 0.0
    # bias sums row after row, as NumPy's axis-0 sum (no reassociation in
    # this kernel: none of its loops is a reduction that needs it to vectorize)
    s0 = s1 = s2 = zero
    i = 0
    while i + 4 <= m:
        b = 3 * i
        c00, c01, c02 = df[b], df[b + 1], df[b + 2]
        c10, c11, c12 = df[b + 3], df[b + 4], df[b + 5]
        c20, c21, c22 = df[b + 6], df[b + 7], df[b + 8]
        c30, c31, c32 = df[b + 9], df[b + 10], df[b + 11]
        s0 = (((s0 + c00) + c10) + c20) + c30
        s1 = (((s1 + c01) + c11) + c21) + c31
        s2 = (((s2 + c02) + c12) + c22) + c32
        r0 = i * k
        r1 = r0 + k
        r2 = r1 + k
        r3 = r2 + k
        # the two dinputs loops are written out: a `masked` test inside one
        # loop was not always hoisted by LLVM (measured 2.5x slower)
        if want_dinputs and masked:
            for j in range(k):
                w0 = wt0[j]
                w1 = wt1[j]
                w2 = wt2[j]
                v0 = c00 * w0 + c01 * w1 + c02 * w2
                v1 = c10 * w0 + c11 * w1 + c12 * w2
                v2 = c20 * w0 + c21 * w1 + c22 * w2
                v3 = c30 * w0 + c31 * w1 + c32 * w2
                of[r0 + j] = 0.0 if mf[r0 + j] <= 0.0 else v0
                of[r1 + j] = 0.0 if mf[r1 + j] <= 0.0 else v1
                of[r2 + j] = 0.0 if mf[r2 + j] <= 0.0 else v2
                of[r3 + j] = 0.0 if mf[r3 + j] <= 0.0 else v3
        elif want_dinputs:
            for j in range(k):
                w0 = wt0[j]
                w1 = wt1[j]
                w2 = wt2[j]
                of[r0 + j] = c00 * w0 + c01 * w1 + c02 * w2
                of[r1 + j] = c10 * w0 + c11 * w1 + c12 * w2
                of[r2 + j] = c20 * w0 + c21 * w1 + c22 * w2
                of[r3 + j] = c30 * w0 + c31 * w1 + c32 * w2
        for j in range(k):
            x0 = xf[r0 + j]
            x1 = xf[r1 + j]
            x2 = xf[r2 + j]
            x3 = xf[r3 + j]
            a0[j] += c00 * x0 + c10 * x1 + c20 * x2 + c30 * x3
            a1[j] += c01 * x0 + c11 * x1 + c21 * x2 + c31 * x3
            a2[j] += c02 * x0 + c12 * x1 + c22 * x2 + c32 * x3
        i += 4
    while i < m:
        c0, c1, c2 = df[3 * i], df[3 * i + 1], df[3 * i + 2]
        s0 += c0
        s1 += c1
        s2 += c2
        r0 = i * k
        for j in range(k):
            if want_dinputs:
                v = c0 * wt0[j] + c1 * wt1[j] + c2 * wt2[j]
                of[r0 + j] = 0.0 if masked and mf[r0 + j] <= 0.0 else v
            xv = xf[r0 + j]
            a0[j] += c0 * xv
            a1[j] += c1 * xv
            a2[j] += c2 * xv
        i += 1
    wl1, wl2, bl1, bl2 = reg
    if wl1 > 0.0 or wl2 > 0.0 or bl1 > 0.0 or bl2 > 0.0:
        t = dweights.dtype.type
        bl1t, bl2t, bon1, bon2 = t(bl1), t(bl2), bl1 > 0.0, bl2 > 0.0
        dbiases[0, 0] = regularized(s0, biases[0, 0], bl1t, bl2t, bon1, bon2)
        dbiases[0, 1] = regularized(s1, biases[0, 1], bl1t, bl2t, bon1, bon2)
        dbiases[0, 2] = regularized(s2, biases[0, 2], bl1t, bl2t, bon1, bon2)
        wl1t, wl2t, won1, won2 = t(wl1), t(wl2), wl1 > 0.0, wl2 > 0.0
        for p in range(k):
            dweights[p, 0] = regularized(a0[p], wt0[p], wl1t, wl2t, won1, won2)
            dweights[p, 1] = regularized(a1[p], wt1[p], wl1t, wl2t, won1, won2)
            dweights[p, 2] = regularized(a2[p], wt2[p], wl1t, wl2t, won1, won2)
        return
    dbiases[0, 0] = s0
    dbiases[0, 1] = s1
    dbiases[0, 2] = s2
    for p in range(k):
        dweights[p, 0] = a0[p]
        dweights[p, 1] = a1[p]
        dweights[p, 2] = a2[p]


@kernel(reductions=True)
def backward_k2(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, biases, reg):
    """The backward for K == 2 < N (e.g. the 2->64 layer): per four samples,
    ONE loop over the N columns does the bias sums, both rows of ``dweights``
    and the eight dot products of ``dinputs``, so each ``dvalues`` element is
    loaded once instead of K + 1 times; measured 1.6x faster than
    ``_backward_thin_input`` at 300x2->64.  Flat indexing and the sums kept in
    separate 1-D arrays measured another 7-10%.

    The column loops index with unsigned integers.  With signed ones Numba adds
    a negative-index wraparound, and the run-time overlap check LLVM puts
    before the vectorized loop (it stores and reduces at once) compares ranges
    twice as long as the arrays: scratch memory allocated just past
    ``dvalues`` failed it now and then, and the scalar loop's sequential sums
    changed ``dinputs`` in its last bits from one call to the next."""
    m = x.shape[0]
    n = w.shape[1]
    un = np.uint64(n)  # see above
    zero = dinputs.dtype.type(0.0)
    xf = x.reshape(-1)
    df = dvalues.reshape(-1)
    of = dinputs.reshape(-1)
    w0v = np.empty(n, w.dtype)
    w1v = np.empty(n, w.dtype)
    g0 = np.empty(n, dweights.dtype)
    g1 = np.empty(n, dweights.dtype)
    gb = np.empty(n, dbiases.dtype)
    for j in range(n):
        w0v[j] = w[0, j]
        w1v[j] = w[1, j]
        g0[j] = 0.0
        g1[j] = 0.0
        gb[j] = 0.0
    i = 0
    while i + 4 <= m:
        x00, x01 = xf[2 * i], xf[2 * i + 1]
        x10, x11 = xf[2 * i + 2], xf[2 * i + 3]
        x20, x21 = xf[2 * i + 4], xf[2 * i + 5]
        x30, x31 = xf[2 * i + 6], xf[2 * i + 7]
        r0 = np.uint64(i) * un
        r1 = r0 + un
        r2 = r1 + un
        r3 = r2 + un
        if want_dinputs:
            a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = zero
            for j in range(un):
                d0 = df[r0 + j]
                d1 = df[r1 + j]
                d2 = df[r2 + j]
                d3 = df[r3 + j]
                w0 = w0v[j]
                w1 = w1v[j]
                gb[j] += (d0 + d1) + (d2 + d3)
                g0[j] += x00 * d0 + x10 * d1 + x20 * d2 + x30 * d3
                g1[j] += x01 * d0 + x11 * d1 + x21 * d2 + x31 * d3
                a00 += d0 * w0
                a01 += d0 * w1
                a10 += d1 * w0
                a11 += d1 * w1
                a20 += d2 * w0
                a21 += d2 * w1
                a30 += d3 * w0
                a31 += d3 * w1
            of[2 * i] = a00
            of[2 * i + 1] = a01
            of[2 * i + 2] = a10
            of[2 * i + 3] = a11
            of[2 * i + 4] = a20
            of[2 * i + 5] = a21
            of[2 * i + 6] = a30
            of[2 * i + 7] = a31
        else:
            for j in range(un):
                d0 = df[r0 + j]
                d1 = df[r1 + j]
                d2 = df[r2 + j]
                d3 = df[r3 + j]
                gb[j] += (d0 + d1) + (d2 + d3)
                g0[j] += x00 * d0 + x10 * d1 + x20 * d2 + x30 * d3
                g1[j] += x01 * d0 + x11 * d1 + x21 * d2 + x31 * d3
        i += 4
    while i < m:
        x0, x1 = xf[2 * i], xf[2 * i + 1]
        r0 = np.uint64(i) * un
        a0 = a1 = zero
        for j in range(un):
            d = df[r0 + j]
            gb[j] += d
            g0[j] += x0 * d
            g1[j] += x1 * d
            a0 += d * w0v[j]
            a1 += d * w1v[j]
        if want_dinputs:
            of[2 * i] = a0
            of[2 * i + 1] = a1
        i += 1
    wl1, wl2, bl1, bl2 = reg
    if wl1 > 0.0 or wl2 > 0.0 or bl1 > 0.0 or bl2 > 0.0:
        t = dweights.dtype.type
        bl1t, bl2t, bon1, bon2 = t(bl1), t(bl2), bl1 > 0.0, bl2 > 0.0
        wl1t, wl2t, won1, won2 = t(wl1), t(wl2), wl1 > 0.0, wl2 > 0.0
        for j in range(n):
            dbiases[0, j] = regularized(gb[j], biases[0, j], bl1t, bl2t, bon1, bon2)
            dweights[0, j] = regularized(g0[j], w0v[j], wl1t, wl2t, won1, won2)
            dweights[1, j] = regularized(g1[j], w1v[j], wl1t, wl2t, won1, won2)
        return
    for j in range(n):
        dbiases[0, j] = gb[j]
        dweights[0, j] = g0[j]
        dweights[1, j] = g1[j]
