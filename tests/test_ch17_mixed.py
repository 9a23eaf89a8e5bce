"""Chapter 17 after ``nnfs.init()``: the fast paths of its float32/float64 mixes, against the twin.

``sine_data`` gives float64 ``X`` and targets while ``nnfs.init()`` makes the
parameters float32 and ``np.dot`` compute in float64 and return float32.  So
the first layer's forward and backward see float64 inputs, the loss float64
targets (float64 losses and gradient), the last layer's backward a float64
gradient (float64 ``dbiases``), and Adam float64 bias gradients, whose state
the book's assignments make float64.  Each mix has a one-call fast path
(``kernels/dense_mixed.py``, the ``*_wide`` sealed kernels); here each is
compared with ``fastnn.reference`` under ``nnfs.init()``: the dtype of every
result and of the optimizer state, and the bits of every value NumPy computes
without a sum in a BLAS order (an elementwise value, NumPy's own ``np.sum``);
the float64 matrix products rounded to float32 within one float32 rounding.
Each test also makes sure the fast path is the one taken (the general path
patched to fail), so the speed cannot slip back to it unnoticed.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastnn
import fastnn.reference as R
from fastnn import elementwise_losses, layers, optimizers
from fastnn.kernels.dense_mixed import dense_backward_mixed, dense_forward_rounded_dot

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _fail(*args, **kwargs):
    raise AssertionError("the general path was taken")


@pytest.fixture
def no_general(monkeypatch):
    """Make every general path of the classes under test fail."""
    monkeypatch.setattr(layers.Layer_Dense, "_forward_general", _fail)
    monkeypatch.setattr(layers.Layer_Dense, "_backward_general", _fail)
    monkeypatch.setattr(elementwise_losses._ElementwiseLoss, "_general", _fail)
    monkeypatch.setattr(fastnn.losses.Loss, "calculate", _fail)
    return monkeypatch


def _same(got, exp, what):
    assert type(got) is type(exp), f"{what}: {type(got)} != {type(exp)}"
    got, exp = np.asarray(got), np.asarray(exp)
    assert got.dtype == exp.dtype, f"{what}: {got.dtype} != {exp.dtype}"
    assert got.shape == exp.shape, f"{what}: {got.shape} != {exp.shape}"
    assert got.tobytes() == exp.tobytes(), f"{what}: values differ\n{got}\n{exp}"


def _rounded_product(got, exp, what):
    """A float64 sum rounded to float32 (the twin's BLAS order, fastnn's own)."""
    assert got.dtype == exp.dtype == F32 and got.shape == exp.shape, what
    np.testing.assert_allclose(got, exp, rtol=2.0 ** -23, atol=1e-30, err_msg=what)


def _pair(n_in, n_out, rng):
    fast, ref = fastnn.Layer_Dense(n_in, n_out), R.Layer_Dense(n_in, n_out)
    w = (0.5 * rng.standard_normal((n_in, n_out))).astype(np.float32)
    b = (0.1 * rng.standard_normal((1, n_out))).astype(np.float32)
    for layer in (fast, ref):
        layer.weights, layer.biases = w.copy(), b.copy()
    return fast, ref


# ------------------------------------------------------------- first layer

@given(m=st.integers(1, 300), n=st.integers(1, 80), seed=st.integers(0, 2 ** 16))
def test_first_layer_forward_float64_inputs(m, n, seed, nnfs_init, no_general):
    rng = np.random.default_rng(seed)
    fast, ref = _pair(1, n, rng)
    x = rng.standard_normal((m, 1)) * 10.0 ** rng.integers(-3, 3)
    fast.forward(x)
    ref.forward(x)
    _same(fast.output, ref.output, "output")
    assert fast.inputs is x


@given(m=st.integers(1, 300), n=st.integers(2, 80), seed=st.integers(0, 2 ** 16))
def test_first_layer_backward_float64_inputs(m, n, seed, nnfs_init, no_general):
    rng = np.random.default_rng(seed)
    fast, ref = _pair(1, n, rng)
    x = rng.standard_normal((m, 1))
    d = rng.standard_normal((m, n)).astype(np.float32)
    for layer in (fast, ref):
        layer.forward(x)
        layer.backward(d)
    _same(fast.dbiases, ref.dbiases, "dbiases")      # np.sum(axis=0) in float32, row order
    _rounded_product(fast.dweights, ref.dweights, "dweights")
    _rounded_product(fast.dinputs, ref.dinputs, "dinputs")


# -------------------------------------------------------------- last layer

@given(m=st.integers(1, 300), k=st.integers(1, 80), seed=st.integers(0, 2 ** 16))
def test_last_layer_backward_float64_gradient(m, k, seed, nnfs_init, no_general):
    rng = np.random.default_rng(seed)
    fast, ref = _pair(k, 1, rng)
    x = np.maximum(rng.standard_normal((m, k)), 0).astype(np.float32)   # ReLU outputs
    d = rng.standard_normal((m, 1))
    for layer in (fast, ref):
        layer.forward(x)
        layer.backward(d)
    _same(fast.dbiases, ref.dbiases, "dbiases")      # float64, NumPy's pairwise sum
    _same(fast.dinputs, ref.dinputs, "dinputs")      # one exact product each, rounded
    _rounded_product(fast.dweights, ref.dweights, "dweights")


def test_general_path_gives_the_fast_paths_results(nnfs_init):
    """A layout the fast path refuses (a column view, Fortran order) reaches the
    same kernels, converted to C order."""
    rng = np.random.default_rng(5)
    fast, ref = _pair(1, 16, rng)
    x = rng.standard_normal((40, 2))[:, :1]             # a column view
    d = rng.standard_normal((40, 16)).astype(np.float32)
    for layer in (fast, ref):
        layer.forward(x)
        layer.backward(d)
    _same(fast.output, ref.output, "output")
    _same(fast.dbiases, ref.dbiases, "dbiases")
    _rounded_product(fast.dweights, ref.dweights, "dweights")
    _rounded_product(fast.dinputs, ref.dinputs, "dinputs")
    # a Fortran-order gradient: NumPy sums each (contiguous) column pairwise,
    # fastnn row after row, both in float32
    fast.backward(np.asfortranarray(d))
    ref.backward(np.asfortranarray(d))
    assert fast.dbiases.dtype == ref.dbiases.dtype == F32
    np.testing.assert_allclose(fast.dbiases, ref.dbiases, rtol=0,
                               atol=40 * 2.0 ** -23 * np.abs(d).sum(axis=0).max())
    _rounded_product(fast.dweights, ref.dweights, "dweights")
    fast, ref = _pair(8, 1, rng)
    x = np.asfortranarray(rng.standard_normal((30, 8)).astype(np.float32))
    d = rng.standard_normal((30, 2))[:, 1:]
    for layer in (fast, ref):
        layer.forward(x)
        layer.backward(d)
    _same(fast.dbiases, ref.dbiases, "dbiases")
    _same(fast.dinputs, ref.dinputs, "dinputs")
    _rounded_product(fast.dweights, ref.dweights, "dweights")


def test_mixed_backward_bad_shape_is_refused_and_keeps_the_layer(nnfs_init):
    rng = np.random.default_rng(6)
    fast, _ = _pair(4, 1, rng)
    fast.forward(rng.standard_normal((10, 4)).astype(np.float32))
    fast.backward(rng.standard_normal((10, 1)))
    before = fast.dweights.copy(), fast.dbiases.copy(), fast.dinputs.copy()
    with pytest.raises(ValueError, match=r"dvalues have shape \(9, 1\), expected \(10, 1\)"):
        fast.backward(rng.standard_normal((9, 1)))
    for got, exp in zip((fast.dweights, fast.dbiases, fast.dinputs), before):
        assert got.tobytes() == exp.tobytes()


def test_kernels_refuse_what_they_do_not_compute():
    x32, x64 = np.ones((5, 3), np.float32), np.ones((5, 3))
    w = np.ones((3, 2), np.float32)
    # two inputs and two outputs: neither of the two shapes
    assert not dense_backward_mixed(x64, w, np.ones((5, 2), np.float32), np.empty((3, 2)),
                                    np.empty((1, 2), np.float32), np.empty((5, 3)))
    # one output, but the gradient narrower than the inputs: the sums would be float32
    assert not dense_backward_mixed(x64, np.ones((3, 1), np.float32),
                                    np.ones((5, 1), np.float32), np.empty((3, 1)),
                                    np.empty((1, 1), np.float32), np.empty((5, 3)))
    # one input, but the inputs narrower than the gradient
    assert not dense_backward_mixed(x32[:, :1].copy(), np.ones((1, 2), np.float32),
                                    np.ones((5, 2)), np.empty((1, 2)), np.empty((1, 2)),
                                    np.empty((5, 1)))
    assert not dense_forward_rounded_dot(x64, w, np.ones((1, 2), np.float32),
                                         np.empty((5, 2), np.float32))


# -------------------------------------------------------------------- loss

@pytest.mark.parametrize("name", ["Loss_MeanSquaredError", "Loss_MeanAbsoluteError"])
@given(m=st.integers(1, 500), c=st.integers(1, 3), seed=st.integers(0, 2 ** 16))
def test_float64_targets(name, m, c, seed, nnfs_init, no_general):
    rng = np.random.default_rng(seed)
    pred = rng.standard_normal((m, c)).astype(np.float32)
    y = rng.standard_normal((m, c))
    if c == 1:
        y[::7] = pred[::7]   # exact zeros of the difference (np.sign's 0)
    fast, ref = getattr(fastnn, name)(), getattr(R, name)()
    _same(fast.forward(pred, y), ref.forward(pred, y), "sample losses")
    _same(fast.calculate(pred, y), ref.calculate(pred, y), "data loss")
    fast.backward(pred, y)
    ref.backward(pred, y)
    _same(fast.dinputs, ref.dinputs, "dinputs")


# --------------------------------------------------------------- optimizer

def test_adam_float64_bias_gradient(nnfs_init, monkeypatch):
    """Chapter 17's last layer: float32 parameters and weight gradient, float64
    bias gradient.  The book's assignments make the bias state float64 at the
    first step; the float64 bias update is rounded into the float32 biases."""
    rng = np.random.default_rng(8)
    fast, ref = _pair(64, 1, rng)
    opt_f = fastnn.Optimizer_Adam(learning_rate=0.005, decay=1e-3)
    opt_r = R.Optimizer_Adam(learning_rate=0.005, decay=1e-3)
    # not even the first step (fresh state) computes everything in float64
    monkeypatch.setattr(optimizers, "_run_general", _fail)
    for step in range(12):
        if step == 1:  # from then on the state's dtypes are the fast path's
            monkeypatch.setattr(fastnn.Optimizer_Adam, "_general", _fail)
        dw = rng.standard_normal((64, 1)).astype(np.float32)
        db = rng.standard_normal((1, 1)) * 10.0 ** rng.integers(-4, 1)
        for layer, opt in ((fast, opt_f), (ref, opt_r)):
            layer.dweights, layer.dbiases = dw.copy(), db.copy()
            opt.pre_update_params()
            opt.update_params(layer)
            opt.post_update_params()
        for name in ("weights", "biases", "weight_momentums", "weight_cache",
                     "bias_momentums", "bias_cache"):
            _same(getattr(fast, name), getattr(ref, name), f"step {step}: {name}")
    assert fast.bias_momentums.dtype == fast.bias_cache.dtype == F64
    assert fast.biases.dtype == F32


def test_adam_mixed_bad_gradient_leaves_everything(nnfs_init):
    rng = np.random.default_rng(9)
    fast, _ = _pair(8, 1, rng)
    opt = fastnn.Optimizer_Adam()
    fast.dweights = rng.standard_normal((8, 1)).astype(np.float32)
    fast.dbiases = rng.standard_normal((1, 1))
    opt.update_params(fast)
    names = ("weights", "biases", "weight_momentums", "weight_cache", "bias_momentums",
             "bias_cache")
    before = {n: getattr(fast, n).copy() for n in names}
    fast.dbiases = rng.standard_normal((1, 2))
    with pytest.raises(ValueError, match=r"dbiases has shape \(1, 2\) but biases have shape"):
        opt.update_params(fast)
    for n in names:
        _same(getattr(fast, n), before[n], n)
