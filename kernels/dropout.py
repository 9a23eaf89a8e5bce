"""The dropout layer (chapter 15): the book's mask and its two products.

The book's forward is ``mask = np.random.binomial(1, p, x.shape) / p`` (p
the kept fraction) and ``out = x * mask``; its backward ``d * mask``.  The
mask is NumPy's legacy stream bit for bit (see ``random.py``: MT19937 and
the n = 1 inversion), drawn on the global generator's own state words; the
class holds the generator's lock around the call.  The mask is float64
whatever ``x`` is (int64 draws / a Python float), so a float32 ``x`` gives a
float64 ``out`` as in the book: ``x`` is converted exactly and the product
rounded once, as NumPy's mixed-dtype multiply does.
"""
import numpy as np

from ._jit import kernel
from .random import (_N, _TWO26, _TWO53, _inversion_constants, _next_double, _temper_all,
                     mt19937_regenerate)


@kernel
def dropout_forward(key, pos, p, x, mask, out):
    """``mask`` = the book's mask drawn from ``(key, pos)``, ``out = x * mask``.

    ``x``: a C-contiguous float array; ``mask``, ``out``: float64 of its shape.
    Returns the generator's new position, or -1, having drawn and written
    nothing, if the shapes differ.

    The loop is ``random._fill``'s (read its docstring), with the product
    stored beside each mask value: measured 17% faster than drawing the mask
    and multiplying in a second loop at 300x64, 25% at 3000x64 (the second
    loop reads the mask back).  ``tests/test_dropout.py`` holds it to
    ``np.random.binomial`` bit for bit, crafted restarts and straddling pairs
    included."""
    if mask.shape != x.shape or out.shape != x.shape:
        return -1
    qn, px1, flip = _inversion_constants(p)
    one = 1.0 / p
    zero = 0.0 / p
    hi = zero if flip else one
    lo = one if flip else zero
    mf = mask.reshape(-1)
    xf = x.reshape(-1)
    of = out.reshape(-1)
    t = np.empty(_N, np.uint32)
    if pos < _N:
        _temper_all(key, t)
    n = mf.size
    i = 0
    while i < n:
        if pos == _N:
            mt19937_regenerate(key)
            _temper_all(key, t)
            pos = 0
        m = min((_N - pos) // 2, n - i)
        words = t[pos:pos + 2 * m]
        dest = mf[i:i + m]
        src = xf[i:i + m]
        prod = of[i:i + m]
        bad = False
        for j in range(m):
            u = ((words[2 * j] >> np.uint32(5)) * _TWO26
                 + (words[2 * j + 1] >> np.uint32(6))) / _TWO53
            bad |= (u - qn) > px1
            v = hi if u > qn else lo
            dest[j] = v
            prod[j] = src[j] * v
        if bad:                     # keep only the elements before the restart
            for j in range(m):
                u = ((words[2 * j] >> np.uint32(5)) * _TWO26
                     + (words[2 * j + 1] >> np.uint32(6))) / _TWO53
                if (u - qn) > px1:
                    m = j
                    break
        pos += 2 * m
        i += m
        if i == n or (not bad and pos != _N - 1):
            continue
        # one element exactly as random_binomial_inversion (n = 1, bound = 1)
        xk = 0
        px = qn
        u, pos = _next_double(key, t, pos)
        while u > px:
            xk += 1
            if xk > 1:
                xk = 0
                px = qn
                u, pos = _next_double(key, t, pos)
            else:
                u -= px
                px = px1
        v = hi if xk == 1 else lo
        mf[i] = v
        of[i] = xf[i] * v
        i += 1
    return pos


@kernel
def dropout_backward(dvalues, mask, dinputs):
    """``dinputs = dvalues * mask`` (float64 ``mask`` and ``dinputs``).

    Returns False, having written nothing, if the shapes differ."""
    if mask.shape != dvalues.shape or dinputs.shape != dvalues.shape:
        return False
    df = dvalues.reshape(-1)
    mf = mask.reshape(-1)
    of = dinputs.reshape(-1)
    for i in range(df.size):
        of[i] = df[i] * mf[i]
    return True
