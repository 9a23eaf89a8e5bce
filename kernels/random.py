"""NumPy's legacy ``np.random.binomial(1, p, size)`` stream, bit for bit, in Numba.

The book's dropout layer draws ``np.random.binomial(1, rate, shape) / rate``
from NumPy's global ``RandomState`` (MT19937).  NumPy spends 7-11 ns a draw
here in per-draw calls through function pointers; these kernels produce the
same bits in ~0.5 ns a draw (a 300x64 mask in ~10 us against ~130 us) and
leave the generator exactly where NumPy would.

What NumPy does for ``n = 1`` (numpy 2.0-2.4, ``numpy/random/mtrand.pyx``
``RandomState.binomial`` -> ``legacy_random_binomial`` ->
``legacy_random_binomial_original`` -> ``(legacy_)random_binomial_inversion``):

* ``p`` is checked (``not (p >= 0) or not (p <= 1)`` -> ValueError), then one
  draw per element in C order, no shortcut for p == 0 or p == 1: every element
  consumes at least one double.
* ``p <= 0.5`` draws X with ``p' = p``; ``p > 0.5`` draws X with ``p' = 1 - p``
  and returns ``1 - X``.  ``p' * n <= 30`` always holds, so BTPE never runs.
* Inversion with ``q = 1 - p'``, ``qn = exp(n * log(q))``, ``bound = 1``:
  ``U = next_double``; ``U <= qn`` -> X = 0; else ``U -= qn`` and if
  ``U <= (p' * qn) / q`` X = 1, otherwise X would be 2 > bound and the draw
  restarts with a new U (only U within a few ulps of 1 could get there).
* ``next_double`` is ``mt19937_next_double``: two tempered 32-bit outputs
  a, b -> ``((a >> 5) * 2**26 + (b >> 6)) / 2**53``.
* The ``binomial_t`` cache only memoizes q, qn, bound for the last (n, p):
  recomputing them gives the same values, so it is not state to carry.
  ``has_gauss``/``gauss`` are not touched by binomial.

The kernels work on the generator's own state words (``key``: uint32[624])
and position (``pos``), which ``global_mt19937()`` exposes in place.
"""
import ctypes
import math
import threading

import numpy as np

from ._jit import kernel

_N = 624                        # MT19937 state words (RK_STATE_LEN)
_M = 397
_MATRIX_A = np.uint32(0x9908B0DF)
_UPPER = np.uint32(0x80000000)
_LOWER = np.uint32(0x7FFFFFFF)
_TEMPER_B = np.uint32(0x9D2C5680)
_TEMPER_C = np.uint32(0xEFC60000)
_ONE = np.uint32(1)
_TWO26 = 67108864.0             # 2**26
_TWO53 = 9007199254740992.0     # 2**53


@kernel
def mt19937_regenerate(key):
    """Mirror of ``mt19937_gen``: the next 624 state words, in place."""
    for i in range(_N - _M):
        y = (key[i] & _UPPER) | (key[i + 1] & _LOWER)
        key[i] = key[i + _M] ^ (y >> _ONE) ^ ((y & _ONE) * _MATRIX_A)
    for i in range(_N - _M, _N - 1):
        y = (key[i] & _UPPER) | (key[i + 1] & _LOWER)
        key[i] = key[i - (_N - _M)] ^ (y >> _ONE) ^ ((y & _ONE) * _MATRIX_A)
    y = (key[_N - 1] & _UPPER) | (key[0] & _LOWER)
    key[_N - 1] = key[_M - 1] ^ (y >> _ONE) ^ ((y & _ONE) * _MATRIX_A)


@kernel
def _temper_all(key, tempered):
    """The tempering of ``mt19937_next`` applied to every state word at once
    (a loop LLVM vectorizes; the draws then read ``tempered``)."""
    for i in range(_N):
        y = key[i]
        y ^= y >> np.uint32(11)
        y ^= (y << np.uint32(7)) & _TEMPER_B
        y ^= (y << np.uint32(15)) & _TEMPER_C
        y ^= y >> np.uint32(18)
        tempered[i] = np.uint32(y)


@kernel
def _inversion_constants(p):
    """(qn, px1, draw_flip) of ``random_binomial_inversion`` for n = 1.

    ``legacy_random_binomial_original`` runs the inversion with
    ``p' = min(p, 1 - p)`` (literally: ``1 - p`` when ``p > 0.5``) and flips
    the result.  ``qn = exp(1 * log(q))`` and ``px1 = ((1 - 1 + 1) * p' * qn)
    / (1 * q)`` are the same double operations as the C code's."""
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    q = 1.0 - pp
    qn = math.exp(1.0 * math.log(q))
    px1 = (1.0 * pp * qn) / (1.0 * q)
    return qn, px1, flip


@kernel
def _next_word(key, tempered, pos):
    """``mt19937_next``: the tempered word at ``pos`` (regenerating first when
    the block is used up) and the position after it."""
    if pos == _N:
        mt19937_regenerate(key)
        _temper_all(key, tempered)
        pos = 0
    return tempered[pos], pos + 1


@kernel
def _next_double(key, tempered, pos):
    """``mt19937_next_double``: (a >> 5) * 2**26 + (b >> 6), over 2**53."""
    a, pos = _next_word(key, tempered, pos)
    b, pos = _next_word(key, tempered, pos)
    return ((a >> np.uint32(5)) * _TWO26 + (b >> np.uint32(6))) / _TWO53, pos


@kernel(inline="always")
def fill_times(key, pos, p, out, one, zero, src, prod, with_product):
    """Write ``one`` where NumPy's draw is 1 and ``zero`` where it is 0 into
    the flat ``out``; if ``with_product``, also ``prod[i] = src[i] * value``
    (the product in the value's float64, rounded once to ``prod``'s dtype).
    Advance ``key`` in place; return the new position.

    The one draw loop of both the bare mask (``binomial1_fill``,
    ``dropout_mask_fill``) and the dropout layer's forward
    (``dropout.dropout_forward``: mask and product in one pass, measured 17%
    faster than a second pass at 300x64, 25% at 3000x64, since that pass
    reads the mask back).  Callers pass ``with_product`` as a constant: Numba
    then compiles a version per value with the other loop pruned (half the
    compile time of both, in every kernel that links this one in), and it is
    inlined into them (Numba IR): not a function of its own to compile and
    then optimize again inside each caller.

    Whole pairs of 32-bit outputs inside the current block of 624 go through
    a branch-free loop; a pair straddling a regeneration, and a restart of
    the inversion loop (rounding would have to push U - qn above px1: not
    seen for 10**8 values of p at the largest U, with exp(log(q)) == q for
    all of them), take the exact path of the C code."""
    qn, px1, flip = _inversion_constants(p)
    hi = zero if flip else one      # value for X' = 1 (U > qn)
    lo = one if flip else zero      # value for X' = 0
    t = np.empty(_N, np.uint32)
    if pos < _N:
        _temper_all(key, t)
    n = out.size
    i = 0
    while i < n:
        if pos == _N:               # mt19937_next: regenerate when exhausted
            mt19937_regenerate(key)
            _temper_all(key, t)
            pos = 0
        m = min((_N - pos) // 2, n - i)
        # slices: indices from 0 let LLVM drop negative-index wraparound and
        # vectorize the loop
        words = t[pos:pos + 2 * m]
        dest = out[i:i + m]
        bad = False
        if with_product:
            x = src[i:i + m]
            pr = prod[i:i + m]
            for j in range(m):
                u = ((words[2 * j] >> np.uint32(5)) * _TWO26
                     + (words[2 * j + 1] >> np.uint32(6))) / _TWO53
                bad |= (u - qn) > px1   # the inversion loop would restart here
                v = hi if u > qn else lo
                dest[j] = v
                pr[j] = x[j] * v
        else:
            for j in range(m):
                u = ((words[2 * j] >> np.uint32(5)) * _TWO26
                     + (words[2 * j + 1] >> np.uint32(6))) / _TWO53
                bad |= (u - qn) > px1
                dest[j] = hi if u > qn else lo
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
        x1 = 0
        px = qn
        u, pos = _next_double(key, t, pos)
        while u > px:
            x1 += 1
            if x1 > 1:              # X > bound: start again with a new U
                x1 = 0
                px = qn
                u, pos = _next_double(key, t, pos)
            else:
                u -= px
                px = px1
        v = hi if x1 == 1 else lo
        out[i] = v
        if with_product:
            prod[i] = src[i] * v
        i += 1
    return pos


@kernel
def binomial1_fill(key, pos, p, out):
    """``np.random.binomial(1, p, out.size)`` into the flat ``out`` (0/1 in its
    dtype), from the MT19937 state ``key`` (uint32[624], advanced in place)
    at position ``pos`` (0..624); returns the new position.  ``p`` must be a
    float in [0, 1] (the caller checks it, as ``RandomState.binomial`` does)."""
    none = np.empty(0, np.float64)
    return fill_times(key, pos, p, out, 1, 0, none, none, False)


@kernel
def dropout_mask_fill(key, pos, p, out):
    """The book's mask ``np.random.binomial(1, p, out.size) / p`` into the
    flat float64 ``out``; otherwise as ``binomial1_fill``.  ``1.0 / p`` and
    ``0.0 / p`` are the values NumPy's true divide gives (NaN for p == 0)."""
    none = np.empty(0, np.float64)
    return fill_times(key, pos, p, out, 1.0 / p, 0.0 / p, none, none, False)


# ---------------------------------------------------------------------------
# Python side: the global generator's state words, in place
#
# np.random.get_state()/set_state() copy the 624 words through Python-level
# loops (~45 us + ~25 us here, more than the draw itself), so the helpers
# below work on the state struct of the global bit generator directly:
# ``np.random.get_bit_generator()`` (public since numpy 1.25) returns the
# MT19937 whose ``ctypes.state_address`` (public: "memory address of the state
# struct") points at ``mt19937_state {uint32_t key[624]; int pos;}``.  That
# layout is checked once on a private MT19937 against its ``.state`` property
# before it is trusted; if the check fails, or the global bit generator is
# not an MT19937, every call falls back to ``np.random.binomial``.

_KEY_BYTES = 4 * _N
_views_lock = threading.Lock()
_views = None           # (bit generator, key view, pos view) of the last one seen
_layout_ok = None       # None: not checked yet


def _state_views(bitgen):
    """uint32[624] and int32[1] arrays over ``bitgen``'s state struct."""
    address = bitgen.ctypes.state_address
    key = np.ctypeslib.as_array((ctypes.c_uint32 * _N).from_address(address))
    pos = np.ctypeslib.as_array((ctypes.c_int * 1).from_address(address + _KEY_BYTES))
    return key, pos


def _check_layout():
    """Whether reads and writes through ``_state_views`` agree with ``.state``."""
    probe = np.random.MT19937(12345)
    key, pos = _state_views(probe)
    st = probe.state["state"]
    if not (np.array_equal(key, st["key"]) and int(pos[0]) == st["pos"]):
        return False
    words = np.random.default_rng(1).integers(0, 2**32, _N, dtype=np.uint64).astype(np.uint32)
    key[:] = words
    pos[0] = 311
    st = probe.state["state"]
    return bool(np.array_equal(st["key"], words)) and st["pos"] == 311


def global_mt19937():
    """``(bit_generator, key, pos)`` of NumPy's global ``RandomState``, or None.

    ``key`` (uint32[624]) and ``pos`` (int32[1]) are views of the live
    generator state: a kernel that advances them advances ``np.random``.
    Hold ``bit_generator.lock`` meanwhile (NumPy's own draws hold it with the
    GIL released).  None when the global bit generator is not an MT19937 (see
    ``np.random.set_bit_generator``) or the state layout is not the expected
    one: draw with NumPy then."""
    global _views, _layout_ok
    bitgen = np.random.get_bit_generator()
    views = _views
    if views is not None and views[0] is bitgen:
        return views
    if type(bitgen) is not np.random.MT19937:
        return None
    with _views_lock:
        if _layout_ok is None:
            _layout_ok = _check_layout()
        if not _layout_ok:
            return None
        key, pos = _state_views(bitgen)
        with bitgen.lock:
            st = bitgen.state["state"]
            if not (np.array_equal(key, st["key"]) and int(pos[0]) == st["pos"]):
                return None
        # the tuple keeps the bit generator, hence the viewed memory, alive
        _views = (bitgen, key, pos)
        return _views


# p of these types: float(p) is the double RandomState.binomial uses, and
# ``int64 array / p`` is float64 (a longdouble p, an array p, ... go to NumPy).
_FAST_P = (float, int, bool, np.float64, np.float32, np.float16, np.integer, np.bool_)


def _draw(p, shape, dtype, fill):
    """``fill`` over a new ``dtype`` array of ``shape``, or None: use NumPy."""
    if shape is None or not isinstance(p, _FAST_P):
        return None
    pf = float(p)
    if not (pf >= 0.0 and pf <= 1.0):
        return None                 # NumPy raises its own ValueError
    out = np.empty(shape, dtype)
    views = global_mt19937()
    if views is None:
        return None
    bitgen, key, pos = views
    with bitgen.lock:
        start = int(pos[0])
        if not 0 <= start <= _N:    # a pos NumPy itself would index out of bounds with
            return None
        pos[0] = fill(key, start, pf, out.reshape(-1))
    return out


def binomial1(p, shape):
    """``np.random.binomial(1, p, shape)``: same values (C long), same stream."""
    out = _draw(p, shape, np.long, binomial1_fill)
    return np.random.binomial(1, p, shape) if out is None else out


def dropout_mask(p, shape):
    """The book's ``np.random.binomial(1, p, size=shape) / p``, bit for bit.

    ``p`` is the kept fraction (``Layer_Dropout.rate = 1 - rate``).  The mask
    is float64 as the book's (int64 array / Python float); the global
    generator advances exactly as ``np.random.binomial`` advances it.  For
    p == 0 the mask is NaN with the RuntimeWarning of NumPy's ``0 / 0``."""
    out = _draw(p, shape, np.float64, dropout_mask_fill)
    if out is None:
        return np.random.binomial(1, p, shape) / p
    if out.size and float(p) == 0.0:
        np.true_divide(np.zeros(1, np.long), p)     # the book's 0 / 0 warning
    return out[()] if out.ndim == 0 else out        # 0-d array / p is a scalar
