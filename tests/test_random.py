"""fastnn.kernels.random against NumPy's own legacy generator, bit for bit.

The reference is always NumPy itself: from one start state, the test draws
``np.random.binomial(1, p, shape) / p`` (the book's dropout mask) and then
``dropout_mask(p, shape)``, and compares the masks byte for byte, the
generator state afterwards (``np.random.get_state()``: key, pos, has_gauss,
gauss) and the next ``np.random.rand()`` / ``np.random.randn()``.
"""
import math
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fastnn.kernels import random as FR

RATES = [0.1, 0.5, 0.9, 1e-9, 1 - 1e-9, 0.0, 1.0, 0.3, 0.7, 0.25, 1 / 3,
         np.nextafter(0.5, 0.0), np.nextafter(0.5, 1.0), 5e-324, np.nextafter(1.0, 0.0)]
SHAPES = [(300, 64), (128, 128), (1,), (0, 5), (7,), (313,), (3, 5, 7), (), (624,),
          (625,), (312, 1), (2, 311)]


@pytest.fixture(autouse=True)
def _keep_global_generator():
    """Each test leaves np.random as it found it (bit generator and state)."""
    bitgen = np.random.get_bit_generator()
    state = np.random.get_state()
    with np.errstate(invalid="ignore", divide="ignore"):   # p == 0: the book's 0 / 0
        yield
    np.random.set_bit_generator(bitgen)
    np.random.set_state(state)


def _book_mask(p, shape):
    return np.random.binomial(1, p, size=shape) / p


def _after():
    """The generator's state now (as a dict: any bit generator), and its next
    uniform and normal draws (the normal uses a cached one if has_gauss)."""
    state = np.random.get_state(legacy=False)
    return state, np.random.rand(), np.random.randn()


def _assert_equal_state(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_equal_state(a[k], b[k])
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


def _assert_same(ref, got):
    assert type(got) is type(ref)
    if isinstance(ref, np.ndarray):
        assert got.dtype == ref.dtype and got.shape == ref.shape
        if ref.dtype.itemsize == 16:                # longdouble: padding bytes differ
            assert np.array_equal(got, ref, equal_nan=True)
        else:
            assert got.tobytes() == ref.tobytes()  # NaN (p == 0) and -0.0 too
    else:
        assert got == ref or (math.isnan(got) and math.isnan(ref))


def _assert_same_after(ref_after, got_after):
    (rs, rr, rn), (gs, gr, gn) = ref_after, got_after
    _assert_equal_state(rs, gs)     # key, pos, has_gauss, gauss
    assert (rr, rn) == (gr, gn)


def check(start, p, shape, draw=FR.dropout_mask, reference=_book_mask):
    """From ``start`` (a get_state tuple or dict) NumPy and fastnn give the same bits."""
    np.random.set_state(start)
    ref = reference(p, shape)
    ref_after = _after()
    np.random.set_state(start)
    got = draw(p, shape)
    _assert_same(ref, got)
    _assert_same_after(ref_after, _after())
    return ref


def seeded(seed, words=0, gauss=False):
    """State after ``np.random.seed(seed)``, ``words`` 32-bit draws (odd
    counts leave pairs straddling the 624-word blocks) and optionally one
    ``randn`` (leaves has_gauss = 1 with a cached normal)."""
    np.random.seed(seed)
    if words:
        np.random.randint(0, 2**31, size=words)   # one 32-bit output each
    if gauss:
        np.random.randn()
    return np.random.get_state()


def random_state(rng, pos):
    key = rng.integers(0, 2**32, 624, dtype=np.uint64).astype(np.uint32)
    return ("MT19937", key, pos, 0, 0.0)


# ----------------------------------------------------------------- grids

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("p", RATES, ids=repr)
def test_mask_matches_numpy_grid(p, shape):
    for start in (seeded(0), seeded(7, words=1), seeded(2**32 - 1, words=3, gauss=True)):
        check(start, p, shape)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.0, 1.0])
def test_every_start_position(p):
    # pos 0..624 over random keys: regeneration at each possible point, and
    # a pair straddling two blocks whenever 624 - pos is odd
    rng = np.random.default_rng(624)
    for pos in range(625):
        check(random_state(rng, pos), p, (5, 3) if pos % 2 else (313,))


@given(seed=st.integers(0, 2**32 - 1), words=st.integers(0, 1300),
       p=st.floats(0.0, 1.0), shape=st.lists(st.integers(0, 40), max_size=3),
       gauss=st.booleans())
def test_mask_matches_numpy_hypothesis(seed, words, p, shape, gauss):
    check(seeded(seed, words, gauss), p, tuple(shape))


@given(seed=st.integers(0, 2**32 - 1), p=st.floats(0.0, 1.0),
       shape=st.lists(st.integers(0, 70), max_size=2))
def test_binomial1_matches_numpy(seed, p, shape):
    ref = check(seeded(seed, seed % 5), p, tuple(shape), draw=FR.binomial1,
                reference=lambda p, shape: np.random.binomial(1, p, shape))
    assert ref.dtype == np.dtype(np.long)     # a 0-d array for shape (), as NumPy


def test_masks_in_a_row_interleaved_with_other_draws():
    # a training run: one seed, masks of two layers per step, other draws between
    for seed in (0, 1, 42):
        np.random.seed(seed)
        start = np.random.get_state()
        outputs = {}
        for name, draw in (("numpy", _book_mask), ("fastnn", FR.dropout_mask)):
            np.random.set_state(start)
            out = []
            for step in range(25):
                out.append(draw(0.9, (300, 64)))
                out.append(np.random.randn(3))          # odd: leaves a cached normal
                out.append(draw(0.5, (64, 3)))
                out.append(np.random.randint(0, 10, step))  # odd word counts too
                out.append(draw(1 - 0.1 * (step % 10), (step, 7)))
                out.append(np.random.rand(step % 3))
            out.append(_after())
            outputs[name] = out
        ref, got = outputs["numpy"], outputs["fastnn"]
        for r, g in zip(ref[:-1], got[:-1]):
            _assert_same(r, g)
        _assert_same_after(ref[-1], got[-1])


def test_p_types_follow_the_books_division():
    # the book's self.rate may be a Python float, an int (rate 0 or 1) or a
    # NumPy scalar; the mask dtype is whatever int64 array / p gives
    start = seeded(3, 1)
    for p in (0.75, 1, 0, True, np.float32(0.8), np.float16(0.25), np.float64(0.6),
              np.int64(1), np.longdouble(0.6), np.array(0.3)):
        check(start, p, (40, 3))


# -------------------------------------------------------- exact boundary

def _untemper(y):
    """Inverse of MT19937's tempering (so a crafted state outputs y)."""
    def undo_right(y, s):
        x = y
        for _ in range(32 // s + 1):
            x = y ^ (x >> s)
        return x

    def undo_left(y, s, mask):
        x = y
        for _ in range(32 // s + 1):
            x = y ^ ((x << s) & mask & 0xFFFFFFFF)
        return x
    y = undo_right(y, 18)
    y = undo_left(y, 15, 0xEFC60000)
    y = undo_left(y, 7, 0x9D2C5680)
    return undo_right(y, 11)


def _state_with_double(k, pos, rng):
    """A state whose next ``next_double`` is exactly k / 2**53."""
    a, b = k >> 26, k & (2**26 - 1)
    words = [(a << 5) | int(rng.integers(32)), (b << 6) | int(rng.integers(64))]
    state = random_state(rng, pos)
    for i, w in enumerate(words):
        state[1][pos + i] = _untemper(w)
    # the crafted words really come out (checked on a private MT19937)
    probe = np.random.MT19937()
    probe.state = {"bit_generator": "MT19937", "state": {"key": state[1], "pos": pos}}
    assert [int(v) for v in probe.random_raw(2)] == words
    return state


@pytest.mark.parametrize("p", [0.1, 0.25, 0.3, 1 / 3, 0.5, 0.7, 0.9, 1e-9, 1 - 1e-9,
                               np.nextafter(0.5, 1.0), 0.123456789, 0.987654321])
def test_uniform_at_the_threshold(p):
    # U one 2**-53 step either side of qn = exp(log(q)): a threshold computed
    # with other rounding (q instead of exp(log(q)), <= instead of <, the
    # p > 0.5 flip) gives another draw here
    rng = np.random.default_rng(5)
    pp = 1.0 - p if p > 0.5 else p
    k0 = math.floor(math.exp(math.log(1.0 - pp)) * 2**53)
    seen = set()
    for k in [0, 2**53 - 1] + [min(k0 + d, 2**53 - 1) for d in range(-3, 4)]:
        for pos in (100, 101, 622):
            seen.add(int(check(_state_with_double(k, pos, rng), p, (1,),
                               draw=FR.binomial1,
                               reference=lambda p, s: np.random.binomial(1, p, s))[0]))
    assert seen == {0, 1}   # the probes straddle NumPy's threshold


# ------------------------------------------------ validation and fallbacks

@pytest.mark.parametrize("p", [-0.1, 1.1, float("nan"), float("inf"), -0.0 - 1e-300])
def test_invalid_p_raises_like_numpy_and_draws_nothing(p):
    start = seeded(11, 1)
    np.random.set_state(start)
    untouched = _after()
    for draw in (np.random.binomial, lambda n, p, s: FR.dropout_mask(p, s),
                 lambda n, p, s: FR.binomial1(p, s)):
        np.random.set_state(start)
        with pytest.raises(ValueError, match="p < 0, p > 1 or p is NaN"):
            draw(1, p, (3, 3))
        _assert_same_after(untouched, _after())


def test_bad_shape_raises_like_numpy():
    start = seeded(12)
    for draw in (lambda: np.random.binomial(1, 0.5, (-1, 3)),
                 lambda: FR.dropout_mask(0.5, (-1, 3))):
        np.random.set_state(start)
        with pytest.raises(ValueError, match="negative dimensions"):
            draw()


def test_zero_p_warns_like_the_books_division():
    start = seeded(13)
    for draw in (_book_mask, FR.dropout_mask):
        np.random.set_state(start)
        with np.errstate(invalid="warn"), pytest.warns(RuntimeWarning, match="invalid value"):
            draw(0.0, (4, 2))
        np.random.set_state(start)
        with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
            draw(0.0, (4, 2))
        assert np.random.get_state()[2] != start[2]     # drawn before the division
    np.random.set_state(start)
    with np.errstate(invalid="warn"), warnings.catch_warnings():
        warnings.simplefilter("error")
        FR.dropout_mask(0.0, (0, 2))     # empty: no division, no warning (as NumPy)


@pytest.mark.parametrize("p, shape", [(np.array([0.2, 0.8]), (3, 2)), (0.4, None)])
def test_array_p_and_no_shape_fall_back_to_numpy(p, shape):
    check(seeded(14, 1), p, shape)


def test_other_bit_generator_falls_back_to_numpy():
    np.random.set_bit_generator(np.random.PCG64(15))
    assert FR.global_mt19937() is None
    check(np.random.get_state(legacy=False), 0.8, (50, 3))


def test_failed_layout_check_falls_back_to_numpy(monkeypatch):
    monkeypatch.setattr(FR, "_views", None)
    monkeypatch.setattr(FR, "_layout_ok", False)
    assert FR.global_mt19937() is None
    check(seeded(19, 1), 0.8, (50, 3))
    check(seeded(19, 1), 0.8, (50, 3), draw=FR.binomial1,
          reference=lambda p, s: np.random.binomial(1, p, s))


def test_new_global_mt19937_is_followed():
    # set_bit_generator swaps the generator object: the views must follow
    first = FR.global_mt19937()
    assert first is not None and first[0] is np.random.get_bit_generator()
    np.random.set_bit_generator(np.random.MT19937(16))
    second = FR.global_mt19937()
    assert second[0] is np.random.get_bit_generator() and second[0] is not first[0]
    check(np.random.get_state(), 0.8, (50, 3))


def test_state_layout_check():
    assert FR._check_layout()
    bitgen, key, pos = FR.global_mt19937()
    np.random.seed(17)                    # reseeding writes into the same struct
    st = bitgen.state["state"]
    assert np.array_equal(key, st["key"]) and int(pos[0]) == st["pos"] == 624


def test_threads_share_the_generator_under_its_lock():
    # NumPy's binomial holds the bit generator's lock with the GIL released;
    # without the same lock a mask drawn meanwhile would lose or repeat words.
    # Every draw consumes 2 words an element whatever the interleaving, so
    # the final state is that of all draws in sequence.
    n, shape = 200, (100, 64)
    start = seeded(18)
    for _ in range(2 * n):
        np.random.binomial(1, 0.9, shape)
    expected = np.random.get_state()
    np.random.set_state(start)
    workers = [threading.Thread(target=lambda: [np.random.binomial(1, 0.9, shape)
                                                for _ in range(n)]),
               threading.Thread(target=lambda: [FR.dropout_mask(0.9, shape)
                                                for _ in range(n)])]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    got = np.random.get_state()
    assert got[2] == expected[2] and np.array_equal(got[1], expected[1])


def test_under_nnfs_init_compiled_afresh(tmp_path):
    # nnfs.init() seeds with 0 and patches np.zeros/np.dot/...: the kernels,
    # compiled after it (fresh Numba cache), still give the book's masks
    script = textwrap.dedent("""
        import nnfs, numpy as np
        nnfs.init()
        from fastnn.kernels.random import dropout_mask
        start = np.random.get_state()
        ref = [np.random.binomial(1, 0.9, size=(300, 64)) / 0.9 for _ in range(3)]
        after = np.random.get_state()[1:3]
        np.random.set_state(start)
        got = [dropout_mask(0.9, (300, 64)) for _ in range(3)]
        assert all(r.dtype == g.dtype == np.float64 for r, g in zip(ref, got))
        assert all(r.tobytes() == g.tobytes() for r, g in zip(ref, got))
        st = np.random.get_state()[1:3]
        assert np.array_equal(st[0], after[0]) and st[1] == after[1]
        print("OK")
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=600)
    assert res.returncode == 0 and res.stdout.strip() == "OK", res.stderr
