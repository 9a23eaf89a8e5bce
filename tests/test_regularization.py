"""Chapter 14's L1/L2 regularization against the NumPy twin ``fastnn.reference``.

* the dense backward kernel adds the book's terms in the book's order and
  rounding: bit for bit the book's NumPy expressions applied to the same
  unregularized gradients, on every backward routine (seed shapes, thin
  inputs, K >= N, BLAS);
* ``Layer_Dense`` with strengths against the twin's layer (both spellings,
  both dtypes, every strength type NumPy promotes differently, nnfs.init());
* ``Loss.regularization_loss`` bit for bit and of the twin's type, in the
  chapter-14 form (a layer) and the chapter-18 form (remembered layers), and
  ``calculate(..., include_regularization=True)``;
* bad strengths: clear errors, nothing changed.
"""
import inspect

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import fastnn
import fastnn.reference as R
from conftest import FLOATS, SUM_RTOL, assert_sum_close, kernel, labels, rand
from fastnn.kernels import sealed

STRENGTH = st.sampled_from([0, 0.0, 5e-4, 1e-3, 0.37, 2])
COEFS = st.tuples(STRENGTH, STRENGTH, STRENGTH, STRENGTH)
DTYPES = st.sampled_from(FLOATS)
SEEDS = st.integers(0, 2**32 - 1)
NAMES = ("weight_regularizer_l1", "weight_regularizer_l2",
         "bias_regularizer_l1", "bias_regularizer_l2")


def book_terms(dweights, dbiases, w, b, l1w, l2w, l1b, l2b):
    """The book's chapter-14 lines, on copies of the given gradients."""
    dweights, dbiases = dweights.copy(), dbiases.copy()
    if l1w > 0:
        dL1 = np.ones_like(w)
        dL1[w < 0] = -1
        dweights += l1w * dL1
    if l2w > 0:
        dweights += 2 * l2w * w
    if l1b > 0:
        dL1 = np.ones_like(b)
        dL1[b < 0] = -1
        dbiases += l1b * dL1
    if l2b > 0:
        dbiases += 2 * l2b * b
    return dweights, dbiases


def kernel_args(coefs):
    l1w, l2w, l1b, l2b = coefs
    return float(l1w), float(2 * l2w), float(l1b), float(2 * l2b)


def same_bits(got, exp, what):
    assert got.dtype == exp.dtype and got.shape == exp.shape, (what, got.dtype, exp.dtype)
    assert got.tobytes() == exp.tobytes(), \
        f"{what}: max |diff| {np.nanmax(np.abs(got.astype(float) - exp.astype(float)))}"


def layers(mod, k, n, coefs, dtype, seed=0, spelling="book"):
    np.random.seed(seed)
    if spelling == "book":
        layer = mod.Layer_Dense(k, n, *coefs)
    else:
        layer = mod.DenseLayer(k, n, *coefs)
    layer.weights = layer.weights.astype(dtype)
    layer.biases = rand(np.random.default_rng(seed), (1, n), dtype, 0.1)
    return layer


# ------------------------------------------------------------------ kernel

def check_kernel_order(m, k, n, dtype, coefs, seed):
    rng = np.random.default_rng(seed)
    x, w = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype, 0.1)
    b, d = rand(rng, (1, n), dtype, 0.1), rand(rng, (m, n), dtype)
    w.reshape(-1)[::5] = -0.0       # dL1 is +1 at -0.0
    plain = [np.empty((k, n), dtype), np.empty((1, n), dtype), np.empty((m, k), dtype)]
    assert kernel("dense", "dense_backward")(x, w, d, *plain)
    reg = [np.full((k, n), np.nan, dtype), np.full((1, n), np.nan, dtype),
           np.full((m, k), np.nan, dtype)]
    assert sealed.dense_backward_reg(x, w, b, d, *reg, *kernel_args(coefs))
    exp_w, exp_b = book_terms(plain[0], plain[1], w, b, *coefs)
    same_bits(reg[0], exp_w, "dweights")
    same_bits(reg[1], exp_b, "dbiases")
    same_bits(reg[2], plain[2], "dinputs")


@given(m=st.integers(1, 300), k=st.integers(1, 70), n=st.integers(1, 70), dtype=DTYPES,
       coefs=COEFS, seed=SEEDS)
@example(m=300, k=2, n=64, dtype=np.float64, coefs=(0, 5e-4, 0, 5e-4), seed=0)   # ch14 dense1
@example(m=300, k=64, n=3, dtype=np.float32, coefs=(1e-3, 5e-4, 2e-3, 5e-4), seed=1)
@example(m=13, k=5, n=9, dtype=np.float64, coefs=(0.37, 2, 0.37, 2), seed=2)    # thin input
@example(m=13, k=9, n=5, dtype=np.float32, coefs=(0.37, 2, 0.37, 2), seed=3)    # K >= N
def test_kernel_adds_the_books_terms_in_the_books_order(m, k, n, dtype, coefs, seed):
    """Bit for bit the book's ``dweights += l1 * dL1; dweights += 2 * l2 * W``
    (and biases) applied to the unregularized kernel's own gradients: the
    terms are rounded to the dtype one by one (no FMA), in that order."""
    check_kernel_order(m, k, n, dtype, coefs, seed)


@pytest.mark.parametrize("dtype", FLOATS)
def test_kernel_order_on_the_blas_path(dtype):
    check_kernel_order(128, 784, 128, dtype, (1e-4, 5e-4, 2e-4, 5e-4), 5)


@pytest.mark.parametrize("dtype", FLOATS)
def test_kernel_l1_sign_of_nan_inf_and_signed_zeros(dtype):
    """dL1 is -1 only where ``W < 0``: +1 at NaN and -0.0, -1 at -inf."""
    m, k, n = 6, 4, 3
    x = np.ones((m, k), dtype)
    w = np.array([[np.nan, -0.0, 0.0, np.inf], [-np.inf, -1e-30, 1e-30, 2]] * 2, dtype)[:k, :n]
    w = np.ascontiguousarray(w)
    b = np.array([[np.nan, -0.0, -np.inf]], dtype)
    d = np.zeros((m, n), dtype)
    out = [np.empty((k, n), dtype), np.empty((1, n), dtype), np.empty((m, k), dtype)]
    coefs = (0.25, 0.5, 0.125, 0.75)
    with np.errstate(invalid="ignore"):
        assert sealed.dense_backward_reg(x, w, b, d, *out, *kernel_args(coefs))
        exp_w, exp_b = book_terms(np.zeros((k, n), dtype), np.zeros((1, n), dtype), w, b, *coefs)
    same_bits(out[0], exp_w, "dweights")
    same_bits(out[1], exp_b, "dbiases")


def test_sealed_kernel_refuses_other_arguments_and_writes_nothing():
    m, k, n = 5, 4, 3
    rng = np.random.default_rng(0)
    args = [rand(rng, s) for s in [(m, k), (k, n), (1, n), (m, n), (k, n), (1, n), (m, k)]]
    coefs = (0.1, 0.2, 0.3, 0.4)
    for i in range(7):
        bad = list(args)
        bad[i] = bad[i].astype(np.float32)
        with pytest.raises(TypeError):
            sealed.dense_backward_reg(*bad, *coefs)
    bad = list(args)
    bad[2] = args[2].reshape(-1)                        # 1-D biases
    with pytest.raises(TypeError):
        sealed.dense_backward_reg(*bad, *coefs)
    for i, shape in [(2, (1, n + 1)), (2, (2, n)), (4, (k + 1, n)), (5, (1, n - 1)),
                     (6, (m, k + 1)), (3, (m + 1, n))]:
        bad = [a.copy() for a in args]
        bad[i] = np.full(shape, 7.0)
        before = [a.copy() for a in bad]
        assert not sealed.dense_backward_reg(*bad, *coefs)
        for a, a0 in zip(bad, before):
            np.testing.assert_array_equal(a, a0)


# ------------------------------------------------------------------- layer

@given(spelling=st.sampled_from(["book", "notebook"]), m=st.integers(1, 200),
       k=st.integers(1, 40), n=st.integers(1, 40), dtype=DTYPES, coefs=COEFS, seed=SEEDS)
@example(spelling="book", m=300, k=2, n=64, dtype=np.float64, coefs=(0, 5e-4, 0, 5e-4), seed=0)
@example(spelling="notebook", m=300, k=64, n=3, dtype=np.float32, coefs=(1e-3, 0, 0, 2), seed=0)
def test_layer_backward_vs_twin(spelling, m, k, n, dtype, coefs, seed):
    fast = layers(fastnn, k, n, coefs, dtype, seed % 1000, spelling)
    ref = layers(R, k, n, coefs, dtype, seed % 1000, spelling)
    rng = np.random.default_rng(seed)
    x, d = rand(rng, (m, k), dtype), rand(rng, (m, n), dtype)
    for layer in (fast, ref):
        layer.forward(x.copy())
        layer.backward(d.copy())
    rtol = SUM_RTOL[np.dtype(dtype)]
    l1w, l2w, l1b, l2b = coefs
    ad, ax = np.abs(d.astype(np.float64)), np.abs(x.astype(np.float64))
    # the summed terms' magnitude, regularization terms included
    mag_w = ax.T @ ad + l1w + 2 * l2w * np.abs(ref.weights.astype(np.float64))
    mag_b = ad.sum(0, keepdims=True) + l1b + 2 * l2b * np.abs(ref.biases.astype(np.float64))
    for name in ("dweights", "dbiases", "dinputs"):
        assert getattr(fast, name).dtype == getattr(ref, name).dtype, name
    assert_sum_close(fast.dweights, ref.dweights, mag_w, dtype, rtol, "dweights")
    assert_sum_close(fast.dbiases, ref.dbiases, mag_b, dtype, rtol, "dbiases")
    assert_sum_close(fast.dinputs, ref.dinputs, ad @ np.abs(ref.weights.T.astype(np.float64)),
                     dtype, rtol, "dinputs")


STRENGTH_TYPES = [1, 3e-4, np.float64(3e-4), np.float32(3e-4), np.int64(1), np.float16(3e-4),
                  np.longdouble(3e-4)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("strength", STRENGTH_TYPES, ids=lambda s: f"{type(s).__name__}")
def test_strength_types_promote_as_numpy(dtype, strength):
    """Zero dvalues make the products exactly 0, so the gradients are the
    terms alone: same bits and dtype as the twin's for every strength type
    (an np.float64 strength with float32 arrays computes its term in float64
    and rounds the sum, as NumPy; a Python float rounds the term first)."""
    m, k, n = 7, 5, 4
    for which in range(4):
        coefs = [0, 0, 0, 0]
        coefs[which] = strength
        coefs[(which + 1) % 4] = 5e-4
        fast = layers(fastnn, k, n, coefs, dtype, 3)
        ref = layers(R, k, n, coefs, dtype, 3)
        x = rand(np.random.default_rng(1), (m, k), dtype)
        for layer in (fast, ref):
            layer.forward(x)
            layer.backward(np.zeros((m, n), dtype))
        same_bits(fast.dweights, ref.dweights, "dweights")
        same_bits(fast.dbiases, ref.dbiases, "dbiases")


def test_python_float_strengths_take_the_kernel_path(monkeypatch):
    """One kernel call: the general path is never reached for C float arrays
    and Python-number strengths."""
    def refuse(*a, **k):
        raise AssertionError("general path taken")
    for dtype in FLOATS:
        fast = layers(fastnn, 2, 64, (1e-4, 5e-4, 1, 5e-4), dtype)
        monkeypatch.setattr(type(fast), "_backward_general", refuse)
        monkeypatch.setattr(type(fast), "_regularize_general", refuse)
        fast.forward(np.ones((10, 2), dtype))
        fast.backward(np.ones((10, 64), dtype))
        monkeypatch.undo()


@pytest.mark.parametrize("dtype", FLOATS)
def test_general_path_mixed_dtypes_and_1d_biases(dtype):
    """float64 dvalues into float32 parameters, 1-D biases: the twin's dtypes and values."""
    coefs = (1e-3, 5e-4, 2e-3, 5e-4)
    fast, ref = (layers(mod, 3, 4, coefs, np.float32) for mod in (fastnn, R))
    for layer in (fast, ref):
        layer.biases = layer.biases.reshape(-1).copy()
        layer.forward(np.ones((5, 3), np.float32))
        layer.backward(np.zeros((5, 4), dtype))
    same_bits(fast.dweights, ref.dweights, "dweights")
    same_bits(fast.dbiases, ref.dbiases, "dbiases")


def test_layer_under_nnfs_init(nnfs_init):
    coefs = (1e-4, 5e-4, 2e-4, 5e-4)
    fast, ref = (layers(mod, 2, 64, coefs, np.float32) for mod in (fastnn, R))
    x = rand(np.random.default_rng(0), (300, 2), np.float32)
    d = rand(np.random.default_rng(1), (300, 64), np.float32)
    for layer in (fast, ref):
        layer.forward(x)
        layer.backward(d)
    for name in ("dweights", "dbiases", "dinputs"):
        assert getattr(fast, name).dtype == getattr(ref, name).dtype == np.float32, name
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mod", [fastnn, R], ids=["fastnn", "twin"])
def test_forward_takes_training_and_ignores_it(mod):
    layer = layers(mod, 3, 4, (0, 5e-4, 0, 0), np.float64)
    x = rand(np.random.default_rng(0), (6, 3))
    outs = []
    for kw in ({}, {"training": True}, {"training": False}):
        layer.forward(x, **kw)
        outs.append(layer.output)
    layer.forward(x, True)
    outs.append(layer.output)
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


# -------------------------------------------------------------------- loss

@given(k=st.integers(1, 300), n=st.integers(1, 70), dtype=DTYPES, coefs=COEFS, seed=SEEDS)
@example(k=2, n=64, dtype=np.float32, coefs=(0, 5e-4, 0, 5e-4), seed=0)
@example(k=784, n=128, dtype=np.float64, coefs=(1e-4, 5e-4, 1e-4, 5e-4), seed=0)
def test_regularization_loss_bit_for_bit(k, n, dtype, coefs, seed):
    """Same value, to the bit, and same type as the twin's (0 when no strength
    is > 0; a NumPy scalar otherwise), fastnn's loss on fastnn's layer and on
    the twin's, and the twin's loss on fastnn's layer."""
    fast = layers(fastnn, k, n, coefs, dtype, seed % 1000)
    ref = layers(R, k, n, coefs, dtype, seed % 1000)
    fast.biases = ref.biases = rand(np.random.default_rng(seed), (1, n), dtype)
    exp = R.Loss().regularization_loss(ref)
    for got in (fastnn.Loss().regularization_loss(fast), fastnn.Loss().regularization_loss(ref),
                R.Loss().regularization_loss(fast),
                fastnn.Loss_CategoricalCrossentropy().regularization_loss(fast)):
        assert type(got) is type(exp) and got == exp, (got, exp)


@pytest.mark.parametrize("strength", STRENGTH_TYPES, ids=lambda s: f"{type(s).__name__}")
def test_regularization_loss_types_and_layouts(strength):
    for dtype in FLOATS:
        coefs = (strength, strength, 5e-4, strength)
        fast, ref = (layers(mod, 5, 7, coefs, dtype) for mod in (fastnn, R))
        exp = R.Loss().regularization_loss(ref)
        got = fastnn.Loss().regularization_loss(fast)
        assert type(got) is type(exp) and got == exp
        # a transposed view and 1-D biases: the book's NumPy expressions
        for layer in (fast, ref):
            layer.weights = np.asfortranarray(layer.weights)
            layer.biases = layer.biases.reshape(-1)
        exp = R.Loss().regularization_loss(ref)
        got = fastnn.Loss().regularization_loss(fast)
        assert type(got) is type(exp) and got == exp


def _pair(mod, coefs1=(0, 5e-4, 0, 5e-4), coefs2=(1e-3, 0, 1e-3, 0)):
    return layers(mod, 2, 8, coefs1, np.float64, 1), layers(mod, 8, 3, coefs2, np.float64, 2)


def test_chapter_18_form_and_calculate():
    rng = np.random.default_rng(0)
    p = rng.random((20, 3)) + 0.01
    p /= p.sum(1, keepdims=True)
    y = labels(rng, 20, 3)
    results = {}
    for mod in (fastnn, R):
        loss = mod.Loss_CategoricalCrossentropy()
        loss.remember_trainable_layers(list(_pair(mod)))
        results[mod] = (loss.regularization_loss(), loss.calculate(p, y),
                        loss.calculate(p, y, include_regularization=True),
                        loss.calculate(p, y, include_regularization=False))
    got, exp = results[fastnn], results[R]
    assert type(got[0]) is type(exp[0]) and got[0] == exp[0]
    assert isinstance(got[2], tuple) and len(got[2]) == 2
    assert got[2][1] == exp[2][1] == exp[0]
    for g, e in ((got[1], exp[1]), (got[2][0], exp[2][0]), (got[3], exp[3])):
        np.testing.assert_allclose(g, e, rtol=1e-15)
    # the chapter-14 form with a layer ignores the remembered ones
    loss = fastnn.Loss()
    loss.remember_trainable_layers(list(_pair(fastnn)))
    one = _pair(fastnn, coefs1=(0, 0, 0, 0))[0]
    assert loss.regularization_loss(one) == 0 and type(loss.regularization_loss(one)) is int


def test_no_argument_form_without_remembered_layers_is_a_clear_error():
    with pytest.raises(AttributeError, match="remember_trainable_layers"):
        fastnn.Loss().regularization_loss()
    rng = np.random.default_rng(0)
    with pytest.raises(AttributeError, match="remember_trainable_layers"):
        fastnn.Loss_CategoricalCrossentropy().calculate(
            np.full((4, 3), 1 / 3), labels(rng, 4, 3), include_regularization=True)


# ------------------------------------------------------------- spellings

@pytest.mark.parametrize("mod", [fastnn, R], ids=["fastnn", "twin"])
def test_notebook_spelling(mod):
    assert list(inspect.signature(mod.DenseLayer).parameters) == [
        "nInputs", "nNeurons", "weightl1", "weightl2", "biasl1", "biasl2"]
    assert list(inspect.signature(mod.Layer_Dense).parameters)[2:] == list(NAMES)
    layer = mod.DenseLayer(2, 3, weightl1=1e-3, weightl2=2e-3, biasl1=3e-3, biasl2=4e-3)
    for nb, book, v in zip(("weightl1", "weightl2", "biasl1", "biasl2"), NAMES,
                           (1e-3, 2e-3, 3e-3, 4e-3)):
        assert getattr(layer, nb) == getattr(layer, book) == v
        setattr(layer, nb, 7e-4)
        assert getattr(layer, book) == 7e-4
        setattr(layer, book, 8e-4)
        assert getattr(layer, nb) == 8e-4
    book_layer = mod.Layer_Dense(2, 3, 0, 5e-4)
    assert book_layer.weightl2 == 5e-4          # a book layer answers to notebook names
    assert mod.Loss().regularizationLoss(book_layer) == mod.Loss().regularization_loss(book_layer)


def test_defaults_are_the_books():
    for mod in (fastnn, R):
        layer = mod.Layer_Dense(2, 3)
        assert [getattr(layer, n) for n in NAMES] == [0, 0, 0, 0]
        assert mod.Loss().regularization_loss(layer) == 0


# --------------------------------------------------------------- bad input

BAD = [(-1e-3, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
       (10**400, ValueError), ("5e-4", TypeError), (None, TypeError), (True, TypeError),
       (1e-3j, TypeError), (np.array([1e-3]), TypeError), (np.float64(-2.0), ValueError)]


@pytest.mark.parametrize("bad,exc", BAD, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("which", range(4))
def test_bad_strength_at_construction(bad, exc, which):
    """A clear error naming the argument; no weights drawn (the generator untouched)."""
    args = [0, 0, 0, 0]
    args[which] = bad
    np.random.seed(3)
    state = np.random.get_state()
    for make in (lambda: fastnn.Layer_Dense(2, 3, *args), lambda: fastnn.DenseLayer(2, 3, *args)):
        with pytest.raises(exc, match=NAMES[which]):
            make()
        after = np.random.get_state()
        assert np.array_equal(after[1], state[1]) and after[2] == state[2]


@pytest.mark.parametrize("bad,exc", BAD, ids=lambda v: repr(v)[:20])
def test_bad_strength_set_later_changes_nothing(bad, exc):
    coefs = (1e-3, 5e-4, 2e-3, 5e-4)
    layer = layers(fastnn, 3, 4, coefs, np.float64)
    x, d = np.ones((5, 3)), rand(np.random.default_rng(0), (5, 4))
    layer.forward(x)
    layer.backward(d)
    before = (layer.dweights.copy(), layer.dbiases.copy(), fastnn.Loss().regularization_loss(layer))
    for name, nb in zip(NAMES, ("weightl1", "weightl2", "biasl1", "biasl2")):
        for attr in (name, nb):
            with pytest.raises(exc, match=name):
                setattr(layer, attr, bad)
    assert [getattr(layer, n) for n in NAMES] == list(coefs)
    layer.backward(d)
    same_bits(layer.dweights, before[0], "dweights")
    same_bits(layer.dbiases, before[1], "dbiases")
    assert fastnn.Loss().regularization_loss(layer) == before[2]
