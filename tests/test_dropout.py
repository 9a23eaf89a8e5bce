"""Chapter 15's dropout layer against the NumPy twin ``fastnn.reference``, bit for bit.

From one start state of NumPy's global generator the twin's
``Layer_Dropout`` (``np.random.binomial(1, rate, shape) / rate``) and
fastnn's must give the same ``binary_mask``, ``output`` and ``dinputs``
(bytes and dtype) and leave the generator in the same state (key, pos,
cached normal, next draws); ``training=False`` draws nothing; bad input is
refused with nothing changed.
"""
import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import fastnn
import fastnn.reference as R
from conftest import FLOATS, rand
from test_random import _untemper

RATES = [0.1, 0.5, 0.9, 0.0, 0.3, 1 / 3, 0.25, 1e-9, 1 - 1e-9, np.float32(0.1),
         np.float64(0.2), 0]
SHAPES = [(300, 64), (1, 1), (7, 313), (2, 311), (624, 1), (0, 5), (128, 128)]


@pytest.fixture(autouse=True)
def _keep_global_generator():
    bitgen = np.random.get_bit_generator()
    state = np.random.get_state()
    yield
    np.random.set_bit_generator(bitgen)
    np.random.set_state(state)


def state_after():
    """The global generator's full state and its next uniform and normal."""
    st_ = np.random.get_state(legacy=False)
    return st_, np.random.rand(), np.random.standard_normal()  # (not randn: nnfs wraps it)


def assert_same_state(a, b):
    (sa, ra, na), (sb, rb, nb) = a, b
    assert sa["state"]["pos"] == sb["state"]["pos"]
    assert np.array_equal(sa["state"]["key"], sb["state"]["key"])
    assert (sa["has_gauss"], sa["gauss"], ra, na) == (sb["has_gauss"], sb["gauss"], rb, nb)


def same_bytes(got, exp, what):
    assert type(got) is type(exp), what
    got, exp = np.asarray(got), np.asarray(exp)
    assert got.dtype == exp.dtype and got.shape == exp.shape, (what, got.dtype, exp.dtype)
    assert got.tobytes() == exp.tobytes(), what


def run_both(start, rate, x, d=None, cls="Layer_Dropout", **kw):
    """Forward (and backward) of the twin's and fastnn's layer from ``start``."""
    out = {}
    for mod in (R, fastnn):
        np.random.set_state(start)
        layer = getattr(mod, cls)(rate)
        layer.forward(x.copy() if isinstance(x, np.ndarray) else x, **kw)
        if d is not None:
            layer.backward(d.copy())
        out[mod] = layer, state_after()
    (ref, ref_after), (fast, fast_after) = out[R], out[fastnn]
    assert_same_state(ref_after, fast_after)
    for name in ("binary_mask", "output") + (("dinputs",) if d is not None else ()):
        if hasattr(ref, name):
            same_bytes(getattr(fast, name), getattr(ref, name), name)
    assert fast.rate == ref.rate and type(fast.rate) is type(ref.rate)
    return fast, ref


def seeded(seed, words=0):
    np.random.seed(seed)
    if words:
        np.random.randint(0, 2**31, size=words)     # odd counts straddle the blocks
    return np.random.get_state()


# ------------------------------------------------------------- forward/backward

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("rate", RATES, ids=repr)
@pytest.mark.parametrize("dtype", FLOATS)
def test_forward_backward_match_twin_grid(rate, shape, dtype):
    rng = np.random.default_rng(0)
    x, d = rand(rng, shape, dtype), rand(rng, shape, dtype)
    run_both(seeded(1, 3), rate, x, d)


@given(seed=st.integers(0, 2**32 - 1), words=st.integers(0, 1300), m=st.integers(0, 700),
       n=st.integers(1, 70), rate=st.floats(0, 1, exclude_max=True), dtype=st.sampled_from(FLOATS),
       spelling=st.sampled_from(["Layer_Dropout", "DropoutLayer"]))
@example(seed=0, words=0, m=300, n=64, rate=0.1, dtype=np.float32, spelling="Layer_Dropout")
@example(seed=0, words=623, m=3000, n=64, rate=0.1, dtype=np.float64, spelling="DropoutLayer")
def test_forward_backward_match_twin(seed, words, m, n, rate, dtype, spelling):
    rng = np.random.default_rng(seed)
    x, d = rand(rng, (m, n), dtype), rand(rng, (m, n), dtype)
    run_both(seeded(seed, words), rate, x, d, cls=spelling)


def test_many_masks_in_a_row_with_other_draws_between():
    """Two networks' worth of forwards, training off now and then and NumPy
    draws between: the same masks as the twin's throughout."""
    x = rand(np.random.default_rng(0), (100, 64), np.float32)
    runs = {}
    for mod in (R, fastnn):
        np.random.seed(7)
        a, b = mod.Layer_Dropout(0.1), mod.Layer_Dropout(0.5)
        masks = []
        for step in range(30):
            a.forward(x)
            b.forward(a.output, training=step % 4 != 3)
            np.random.randn(step % 3)
            masks += [a.binary_mask.copy(), b.binary_mask.copy(), b.output.copy()]
        runs[mod] = masks, state_after()
    assert_same_state(runs[R][1], runs[fastnn][1])
    for g, e in zip(runs[fastnn][0], runs[R][0]):
        same_bytes(g, e, "mask/output")


def _state_with_double(k, pos, start_pos):
    """A state at ``start_pos`` whose draw at ``pos`` (even offset from it) is k / 2**53."""
    rng = np.random.default_rng(pos)
    key = rng.integers(0, 2**32, 624, dtype=np.uint64).astype(np.uint32)
    a, b = k >> 26, k & (2**26 - 1)
    key[pos] = _untemper((a << 5) | int(rng.integers(32)))
    key[pos + 1] = _untemper((b << 6) | int(rng.integers(64)))
    return ("MT19937", key, start_pos, 0, 0.0)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.7, 1 - 1e-9])
@pytest.mark.parametrize("pos,start", [(100, 100), (300, 100), (622, 0), (101, 1), (622, 620)])
def test_crafted_uniforms_near_one_and_at_block_ends(rate, pos, start):
    """U = (2**53 - 1) / 2**53 and 0 mid-mask and at the end of a block: the
    fused draw takes NumPy's branch (and its exact path for a restart)."""
    for k in (2**53 - 1, 0, 2**52):
        x = rand(np.random.default_rng(k % 7), (3, 211), np.float64)
        run_both(_state_with_double(k, pos, start), rate, x, x)


def test_layouts_ndims_and_dtypes_like_twin():
    """Non-contiguous, read-only, 1-D, 3-D, 0-d, lists, ints and float16: the
    twin's bits and dtypes (float64 wherever the mask is)."""
    rng = np.random.default_rng(3)
    base = rand(rng, (40, 30))
    ro = base.copy()
    ro.flags.writeable = False
    cases = [base[:, ::2], base.T, ro, base[0], rand(rng, (4, 5, 6)), np.float64(2.5) * np.ones(()),
             base.astype(np.float16), (100 * base).astype(np.int64), base.astype(np.float32)[::3]]
    for x in cases:
        run_both(seeded(5), 0.3, x, rand(rng, x.shape, np.float32))
    np.random.set_state(seeded(5))
    ref = R.Layer_Dropout(0.3)
    ref.forward(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.random.set_state(seeded(5))
    fast = fastnn.Layer_Dropout(0.3)
    fast.forward([[1.0, 2.0], [3.0, 4.0]])          # a list: taken as an array
    same_bytes(fast.binary_mask, ref.binary_mask, "mask")
    same_bytes(fast.output, ref.output, "output")


def test_other_global_bit_generator_falls_back_to_numpy():
    x = rand(np.random.default_rng(0), (50, 20))
    np.random.set_bit_generator(np.random.PCG64(123))
    start = np.random.get_state(legacy=False)
    out = {}
    for mod in (R, fastnn):
        np.random.get_bit_generator().state = start
        layer = mod.Layer_Dropout(0.2)
        layer.forward(x)
        out[mod] = layer.binary_mask, np.random.get_bit_generator().state
    same_bytes(out[fastnn][0], out[R][0], "mask")
    assert out[fastnn][1] == out[R][1]


def test_under_nnfs_init(nnfs_init):
    """float32 inputs, float64 mask and output, as the book's code gives them."""
    x = rand(np.random.default_rng(0), (300, 64), np.float32)
    fast, ref = run_both(seeded(0), 0.1, x, x)
    assert fast.output.dtype == ref.output.dtype == np.float64


# ------------------------------------------------------------------ training

@pytest.mark.parametrize("mod", [fastnn, R], ids=["fastnn", "twin"])
def test_training_defaults_to_true_and_false_copies_without_drawing(mod):
    """Chapter 15 calls forward(inputs) and drops; chapter 18 passes training."""
    x = rand(np.random.default_rng(0), (20, 8))
    np.random.seed(2)
    layer = mod.Layer_Dropout(0.5)
    layer.forward(x)                                  # the default: a mask is drawn
    mask = layer.binary_mask
    assert set(np.unique(mask)) == {0.0, 2.0}
    state = np.random.get_state()
    for flag in (False, 0, None):
        layer.forward(x, training=flag)
        assert layer.output is not x and layer.inputs is x
        np.testing.assert_array_equal(layer.output, x)
        assert layer.output.dtype == x.dtype
        assert layer.binary_mask is mask                  # untouched
    after = np.random.get_state()                     # nothing drawn
    assert np.array_equal(after[1], state[1]) and after[2:] == state[2:]


def test_backward_after_inference_forward_uses_last_mask():
    x = rand(np.random.default_rng(0), (10, 4))
    fast, ref = run_both(seeded(9), 0.4, x)
    for layer in (fast, ref):
        layer.forward(2 * x, training=False)
        layer.backward(x)
    same_bytes(fast.dinputs, ref.dinputs, "dinputs")


# --------------------------------------------------------------- bad input

@pytest.mark.parametrize("rate,exc", [(1, ValueError), (1.0, ValueError), (-0.1, ValueError),
                                      (1.5, ValueError), (float("nan"), ValueError),
                                      (float("inf"), ValueError), ("0.1", TypeError),
                                      (None, TypeError), (True, TypeError), (0.1j, TypeError),
                                      (np.array([0.1]), TypeError)],
                         ids=repr)
@pytest.mark.parametrize("cls", ["Layer_Dropout", "DropoutLayer"])
def test_bad_rate_is_refused_at_construction(rate, exc, cls):
    with pytest.raises(exc, match=r"rate"):
        getattr(fastnn, cls)(rate)


def test_bad_backward_changes_nothing():
    x = rand(np.random.default_rng(0), (6, 5))
    layer = fastnn.Layer_Dropout(0.5)
    layer.forward(x)
    layer.backward(x)
    before = layer.dinputs
    for bad, exc in [(np.ones((6, 4)), ValueError), (np.ones((5, 5)), ValueError),
                     (np.ones(30), ValueError), (np.ones((1, 5)), ValueError),
                     (np.full((6, 5), "a"), TypeError)]:
        with pytest.raises(exc, match="dvalues"):
            layer.backward(bad)
        assert layer.dinputs is before
    with pytest.raises(AttributeError):
        fastnn.Layer_Dropout(0.5).backward(x)         # before any forward, as the twin


def test_bad_forward_changes_nothing_and_draws_nothing():
    x = rand(np.random.default_rng(0), (6, 5))
    layer = fastnn.Layer_Dropout(0.5)
    layer.forward(x)
    kept = (layer.inputs, layer.binary_mask, layer.output)
    state = np.random.get_state()
    with pytest.raises(TypeError, match="inputs"):
        layer.forward(np.full((6, 5), "a"))
    layer.rate = 1.5                                  # set past the constructor: NumPy refuses
    with pytest.raises(ValueError):
        layer.forward(x)
    assert (layer.inputs, layer.binary_mask, layer.output) == kept
    after = np.random.get_state()
    assert np.array_equal(after[1], state[1]) and after[2] == state[2]
