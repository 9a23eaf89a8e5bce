"""``np.sum`` of a flat float array (or of its absolute values or squares), to the bit.

``Loss.calculate`` takes ``np.mean`` and ``np.sum`` of the per-sample losses
(the book's data loss and chapter 19's running sum).  Both are the same
pairwise sum -- ``np.mean`` is that sum divided by the count -- and the two
NumPy calls cost ~3.5 us at the book's 200 samples, more than the loss
itself; one call of ``pairwise_total`` gives the sum NumPy would.

NumPy's ``pairwise_sum`` (``loops_utils.h.src``), which ``np.add.reduce``
runs over a contiguous float32/float64 array starting from the identity 0:
fewer than 8 terms are added one after the other; up to 128 go into eight
interleaved partial sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)),
then the remainder; longer runs are split in two halves (the first a
multiple of 8), each summed that way, then added.  The sum is in the array's
dtype (float32 arrays sum in float32, as ``np.sum`` and ``np.mean`` do).

No fastmath flag: reassociation would change the order, and so the bits.
"""
import numpy as np

from ._jit import kernel


# what is summed: the values, their absolute values (L1 penalty) or squares (L2)
TERM_VALUE = 0
TERM_ABS = 1
TERM_SQUARE = 2


@kernel
def _term(v, term):
    if term == TERM_SQUARE:
        return v * v
    if term == TERM_ABS:
        return abs(v)
    return v


@kernel
def _leaf_sum(a, lo, n, term):
    """NumPy's ``pairwise_sum`` on at most 128 terms ``a[lo:lo + n]``."""
    if n < 8:
        res = a.dtype.type(0.0)
        for i in range(lo, lo + n):
            res += _term(a[i], term)
        return res
    r0, r1 = _term(a[lo], term), _term(a[lo + 1], term)
    r2, r3 = _term(a[lo + 2], term), _term(a[lo + 3], term)
    r4, r5 = _term(a[lo + 4], term), _term(a[lo + 5], term)
    r6, r7 = _term(a[lo + 6], term), _term(a[lo + 7], term)
    i = 8
    end = n - n % 8
    while i < end:
        p = lo + i
        r0 += _term(a[p], term)
        r1 += _term(a[p + 1], term)
        r2 += _term(a[p + 2], term)
        r3 += _term(a[p + 3], term)
        r4 += _term(a[p + 4], term)
        r5 += _term(a[p + 5], term)
        r6 += _term(a[p + 6], term)
        r7 += _term(a[p + 7], term)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += _term(a[lo + i], term)
        i += 1
    return res


@kernel
def pairwise_total(a):
    """``np.sum(a)`` for a 1-D C-contiguous float32/float64 array, in its order
    and dtype (returned as a float holding that value exactly)."""
    return pairwise_sum(a, TERM_VALUE)


@kernel
def pairwise_sum(a, term):
    """``np.sum`` of ``a``'s values (``TERM_VALUE``), of ``np.abs(a)``
    (``TERM_ABS``) or of ``a * a`` (``TERM_SQUARE``), for a flat C-contiguous
    float array, in NumPy's order and in ``a``'s dtype: the data loss, its
    running sum and the L1/L2 penalties all come from here.

    The recursion runs on explicit stacks: a recursive kernel loaded from
    Numba's on-disk cache crashed the process (measured, Numba 0.61)."""
    n = a.size
    zero = a.dtype.type(0.0)
    if n <= 128:
        return zero + _leaf_sum(a, 0, n, term)   # NumPy adds the sum to the identity 0
    m2 = n // 2
    m2 -= m2 % 8
    if n - m2 <= 128:
        # one split, two leaves (e.g. chapter 16's 200 losses): the stack below
        # would cost four allocations, ~0.5 us, for the same two sums
        return zero + (_leaf_sum(a, 0, m2, term) + _leaf_sum(a, m2, n - m2, term))
    # each split at least halves the length: 128 frames cover any size
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
        if f_split[top]:                    # both halves summed: first + second
            vals[vp - 2] = vals[vp - 2] + vals[vp - 1]
            vp -= 1
            sp -= 1
        elif m <= 128:
            vals[vp] = _leaf_sum(a, lo, m, term)
            vp += 1
            sp -= 1
        else:
            m2 = m // 2
            m2 -= m2 % 8
            f_split[top] = True
            # the second half is pushed first, so the first is summed first
            # and sits below it on the value stack
            f_lo[sp] = lo + m2
            f_n[sp] = m - m2
            f_split[sp] = False
            f_lo[sp + 1] = lo
            f_n[sp + 1] = m2
            f_split[sp + 1] = False
            sp += 2
    return zero + vals[0]
