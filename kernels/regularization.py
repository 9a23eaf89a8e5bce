"""L1/L2 regularization (chapter 14): the gradient terms and the penalty sums.

The book adds to the dense layer's gradients, in this order,

    dweights += l1 * dL1        (dL1 = 1, or -1 where weights < 0)
    dweights += 2 * l2 * weights

and the same on the biases, each only when its coefficient is > 0.  The
dense backward kernels apply ``regularized`` to each gradient value as they
store it (no pass of its own, no call of its own); the penalty of
``Loss.regularization_loss`` is ``l1 * sum(|W|) + l2 * sum(W * W)`` with
NumPy's own summation order (``pairwise_sum``), so it comes out bit for bit.

These kernels are compiled without any fastmath flag: NumPy rounds
``2 * l2 * W`` (and ``W * W``) to the array dtype before adding, and an FMA
contraction of the product into the sum would round once instead of twice.
``regularized`` stays a function of its own (``inline="never"``) for that
reason: inlined at Numba level into a caller compiled with
``reductions=True`` it would take on the caller's contraction flag.
"""
import numpy as np

from ._jit import kernel

# the coefficients argument of a layer without regularization
NO_REGULARIZATION = (0.0, 0.0, 0.0, 0.0)


@kernel
def regularized(g, w, l1, l2x2, on_l1, on_l2):
    """Gradient ``g`` of parameter ``w`` plus the book's terms, rounded as NumPy does.

    ``l1`` and ``l2x2`` (``2 * l2``, as Python computes it) are already in the
    dtype of ``g``; ``on_l1``/``on_l2``: the coefficient is > 0 (decided on the
    user's value, not on its rounding to float32)."""
    if on_l1:
        # l1 * dL1: +l1, or -l1 where w < 0 (NaN and -0.0 are not < 0)
        g = g + (-l1 if w < 0.0 else l1)
    if on_l2:
        g = g + l2x2 * w
    return g


@kernel
def regularize_inplace(grad, param, l1, l2x2, on_l1, on_l2):
    """``grad = regularized(grad, param)`` elementwise (2-D arrays of one shape),
    for the backward routines that accumulate into ``grad`` itself."""
    l1t = grad.dtype.type(l1)
    l2t = grad.dtype.type(l2x2)
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            grad[i, j] = regularized(grad[i, j], param[i, j], l1t, l2t, on_l1, on_l2)


@kernel
def _term(v, square):
    return v * v if square else abs(v)


@kernel
def _block_sum(a, lo, n, square):
    """A leaf of NumPy's ``pairwise_sum``: fewer than 8 terms one after the
    other; up to 128 in eight interleaved partial sums combined as
    ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the remainder."""
    if n < 8:
        res = a.dtype.type(0.0)
        for i in range(lo, lo + n):
            res += _term(a[i], square)
        return res
    r0 = _term(a[lo], square)
    r1 = _term(a[lo + 1], square)
    r2 = _term(a[lo + 2], square)
    r3 = _term(a[lo + 3], square)
    r4 = _term(a[lo + 4], square)
    r5 = _term(a[lo + 5], square)
    r6 = _term(a[lo + 6], square)
    r7 = _term(a[lo + 7], square)
    i = 8
    end = n - n % 8
    while i < end:
        p = lo + i
        r0 += _term(a[p], square)
        r1 += _term(a[p + 1], square)
        r2 += _term(a[p + 2], square)
        r3 += _term(a[p + 3], square)
        r4 += _term(a[p + 4], square)
        r5 += _term(a[p + 5], square)
        r6 += _term(a[p + 6], square)
        r7 += _term(a[p + 7], square)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += _term(a[lo + i], square)
        i += 1
    return res


@kernel
def pairwise_sum(a, square):
    """``np.sum(np.abs(a))`` (or of ``a * a`` when ``square``) for a flat array,
    in the order of NumPy's ``pairwise_sum``: up to 128 terms in one
    ``_block_sum``; more split in two halves (the first a multiple of 8)
    summed the same way and added.  The sum is in the array's dtype (float32
    in float32, as NumPy).

    The recursion is unrolled onto explicit stacks: a recursive kernel loaded
    from Numba's on-disk cache crashed the process (measured, Numba 0.61)."""
    n = a.size
    if n <= 128:
        return _block_sum(a, 0, n, square)
    # halves shrink the length at least 2x per level: 64 levels cover any size
    f_lo = np.empty(128, np.int64)
    f_n = np.empty(128, np.int64)
    f_split = np.empty(128, np.bool_)      # children pushed, their sums pending
    vals = np.empty(128, a.dtype)
    f_lo[0] = 0
    f_n[0] = n
    f_split[0] = False
    sp = 1
    vp = 0
    while sp > 0:
        top = sp - 1
        lo = f_lo[top]
        m = f_n[top]
        if f_split[top]:                    # both halves summed: add them (a + b == b + a)
            vals[vp - 2] = vals[vp - 2] + vals[vp - 1]
            vp -= 1
            sp -= 1
        elif m <= 128:
            vals[vp] = _block_sum(a, lo, m, square)
            vp += 1
            sp -= 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            f_split[top] = True
            f_lo[sp] = lo + m2
            f_n[sp] = m - m2
            f_split[sp] = False
            f_lo[sp + 1] = lo
            f_n[sp + 1] = m2
            f_split[sp + 1] = False
            sp += 2
    return vals[0]


@kernel
def regularization_sums(w, b, out, wl1, wl2, bl1, bl2):
    """``out[0, :4] = sum|w|, sum w*w, sum|b|, sum b*b``, each only where its
    coefficient is > 0 (the others are left as they are): the sums of the
    book's ``Loss.regularization_loss``, exactly as ``np.sum`` gives them.
    ``w``, ``b``: C-contiguous arrays of any shape.  Returns False, having
    written nothing, if ``out`` does not have 4 elements."""
    if out.size != 4:
        return False
    o = out.reshape(-1)
    wf = w.reshape(-1)
    bf = b.reshape(-1)
    if wl1 > 0.0:
        o[0] = pairwise_sum(wf, False)
    if wl2 > 0.0:
        o[1] = pairwise_sum(wf, True)
    if bl1 > 0.0:
        o[2] = pairwise_sum(bf, False)
    if bl2 > 0.0:
        o[3] = pairwise_sum(bf, True)
    return True
