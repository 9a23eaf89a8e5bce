"""A vectorizable ``exp`` for the softmax.

Numba lowers ``math.exp`` to a libm call per element, which LLVM cannot
vectorize; softmax spent most of its time there.  This is the classic
range reduction ``exp(x) = 2**k * exp(r)``, ``|r| <= ln2/2`` (Cody-Waite split
of ln2), a degree-13 Taylor polynomial in Horner form (truncation error
< 1e-17 relative), and ``2**k`` assembled from its IEEE bits.  Measured against
``np.exp`` it is within 1 ulp in float64; float32 inputs are computed in
float64 and rounded once.  No fastmath: NaN, +-inf, overflow and subnormal
results behave as ``np.exp``.
"""
import math

import numpy as np
from ._jit import kernel

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_C = [1.0 / math.factorial(i) for i in range(14)]
_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = _C[2:]
_TWO_M600 = 2.0 ** -600  # moves 2**k for k < -1000 into the normal range


@kernel
def exp_into(src, dst):
    """``dst[i] = exp(src[i])`` for 1-D arrays (they may be the same array)."""
    n = src.size
    poly = np.empty(n, np.float64)
    bits = np.empty(n, np.int64)
    for i in range(n):
        x = np.float64(src[i])
        xc = min(max(x, -746.0), 710.0)
        kf = np.floor(xc * _LOG2E + 0.5)
        r = (xc - kf * _LN2_HI) - kf * _LN2_LO
        q = _C13
        q = q * r + _C12
        q = q * r + _C11
        q = q * r + _C10
        q = q * r + _C9
        q = q * r + _C8
        q = q * r + _C7
        q = q * r + _C6
        q = q * r + _C5
        q = q * r + _C4
        q = q * r + _C3
        q = q * r + _C2
        q = q * r + 1.0
        q = q * r + 1.0
        if kf < -1000.0:
            kf += 600.0
            q *= _TWO_M600
        elif kf > 1023.0:  # exp(x) just below the overflow threshold
            kf -= 1.0
            q *= 2.0
        q = 0.0 if x < -746.0 else q
        q = np.inf if x > 710.0 else q
        q = x if x != x else q
        poly[i] = q
        bits[i] = (np.int64(kf) + 1023) << 52
    scale = bits.view(np.float64)
    for i in range(n):
        dst[i] = poly[i] * scale[i]
