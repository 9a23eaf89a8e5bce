"""Every kernel of ``fastnn.kernels`` against the reference classes' math.

The kernels are pure functions over C-contiguous float32/float64 arrays that
write into caller-allocated outputs.  Each test builds the same inputs for a
``fastnn.reference`` object and for the kernel, and compares.  Outputs are
pre-filled with NaN so that an element the kernel forgets to write shows up.
"""
import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import fastnn.reference as R
from conftest import (FLOATS, Params, assert_sum_close,
                      assert_ulp_close, kernel, labels, one_hot, probs, rand)

SEEDS = st.integers(0, 2**32 - 1)
DTYPES = st.sampled_from(FLOATS)
BATCH = st.integers(1, 300)
WIDTH = st.integers(1, 70)

# Shapes beyond the hypothesis range: the seed network, the BLAS path
# (M*K*N >= 2**16 in kernels/dense.py) and both sides of its threshold.
LARGE_DENSE = [
    (300, 2, 64), (300, 64, 3), (128, 784, 128), (256, 128, 10),
    (64, 512, 256), (1, 784, 128), (32, 32, 64), (32, 32, 63), (33, 31, 64),
]


def nan_like(shape, dtype):
    return np.full(shape, np.nan, dtype)


def ref_dense(w, b):
    layer = R.Layer_Dense.__new__(R.Layer_Dense)
    layer.weights, layer.biases = w, b
    return layer


def ok(ret):
    """Sparse-label kernels return -1 (all labels valid) or nothing."""
    assert ret is None or ret == -1, f"kernel reported a bad label: {ret!r}"


def unchanged(*pairs):
    for got, orig in pairs:
        np.testing.assert_array_equal(got, orig, err_msg="input was modified")


# ------------------------------------------------------------------ dense

def check_dense_forward(m, k, n, dtype, seed, poison=None):
    rng = np.random.default_rng(seed)
    x = rand(rng, (m, k), dtype)
    w = rand(rng, (k, n), dtype, 0.1)
    b = rand(rng, (1, n), dtype)
    if poison is not None:
        poison(x)
    x0, w0, b0 = x.copy(), w.copy(), b.copy()
    ref = ref_dense(w0.copy(), b0.copy())
    ref.forward(x0.copy())

    out = nan_like((m, n), dtype)
    kernel("dense", "dense_forward")(x, w, b, out)

    assert out.dtype == ref.output.dtype
    mag = np.abs(x0.astype(np.float64)) @ np.abs(w0.astype(np.float64)) \
        + np.abs(b0.astype(np.float64))
    assert_sum_close(out, ref.output, mag, dtype, what="dense_forward")
    unchanged((x, x0), (w, w0), (b, b0))


@given(m=BATCH, k=WIDTH, n=WIDTH, dtype=DTYPES, seed=SEEDS)
@example(m=300, k=2, n=64, dtype=np.float32, seed=0)
@example(m=300, k=64, n=3, dtype=np.float64, seed=0)
@example(m=1, k=1, n=1, dtype=np.float32, seed=0)
@example(m=200, k=64, n=1, dtype=np.float64, seed=0)   # chapter 16's output layer
@example(m=1000, k=64, n=1, dtype=np.float32, seed=0)  # chapter 17's
@example(m=23, k=5, n=1, dtype=np.float64, seed=0)
def test_dense_forward(m, k, n, dtype, seed):
    check_dense_forward(m, k, n, dtype, seed)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k,n", LARGE_DENSE)
def test_dense_forward_large(m, k, n, dtype):
    check_dense_forward(m, k, n, dtype, seed=m * k * n)


def check_dense_backward(m, k, n, dtype, seed, poison=None):
    rng = np.random.default_rng(seed)
    x = rand(rng, (m, k), dtype)
    w = rand(rng, (k, n), dtype, 0.1)
    dv = rand(rng, (m, n), dtype)
    if poison is not None:
        poison(dv)
    x0, w0, dv0 = x.copy(), w.copy(), dv.copy()
    ref = ref_dense(w0.copy(), np.zeros((1, n), dtype))
    ref.forward(x0.copy())
    ref.backward(dv0.copy())

    dweights = nan_like((k, n), dtype)
    dbiases = nan_like((1, n), dtype)
    dinputs = nan_like((m, k), dtype)
    kernel("dense", "dense_backward")(x, w, dv, dweights, dbiases, dinputs)

    ax, aw, ad = (np.abs(a.astype(np.float64)) for a in (x0, w0, dv0))
    assert_sum_close(dweights, ref.dweights, ax.T @ ad, dtype, what="dweights")
    assert_sum_close(dbiases, ref.dbiases, ad.sum(axis=0, keepdims=True), dtype,
                     what="dbiases")
    assert_sum_close(dinputs, ref.dinputs, ad @ aw.T, dtype, what="dinputs")
    unchanged((x, x0), (w, w0), (dv, dv0))


@given(m=BATCH, k=WIDTH, n=WIDTH, dtype=DTYPES, seed=SEEDS)
@example(m=300, k=2, n=64, dtype=np.float32, seed=0)
@example(m=300, k=64, n=3, dtype=np.float64, seed=0)
@example(m=1, k=1, n=1, dtype=np.float64, seed=0)
@example(m=200, k=64, n=1, dtype=np.float64, seed=0)   # chapter 16's output layer
@example(m=1000, k=64, n=1, dtype=np.float32, seed=0)  # chapter 17's
@example(m=23, k=5, n=1, dtype=np.float32, seed=0)
def test_dense_backward(m, k, n, dtype, seed):
    check_dense_backward(m, k, n, dtype, seed)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k,n", LARGE_DENSE)
def test_dense_backward_large(m, k, n, dtype):
    check_dense_backward(m, k, n, dtype, seed=m * k * n + 1)


def _poison(a):
    """NaN, +inf and -inf in three different rows (and columns)."""
    m, k = a.shape
    a[0, 0] = np.nan
    a[min(1, m - 1), k - 1] = np.inf
    a[m - 1, k // 2] = -np.inf


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m,k,n", [(5, 4, 3), (300, 2, 64), (300, 64, 3),
                                   (128, 784, 128)])
def test_dense_nonfinite_propagates(m, k, n, dtype):
    check_dense_forward(m, k, n, dtype, seed=7, poison=_poison)
    check_dense_backward(m, k, n, dtype, seed=7, poison=_poison)


# ------------------------------------------------------------ activations

def special_values(rng, shape, dtype, nonfinite):
    x = rand(rng, shape, dtype, 3.0)
    flat = x.reshape(-1)
    specials = [0.0, -0.0] + ([np.nan, np.inf, -np.inf] if nonfinite else [])
    idx = rng.integers(0, flat.size, size=min(flat.size, 2 * len(specials)))
    for j, i in enumerate(idx):
        flat[i] = specials[j % len(specials)]
    return x


@given(m=BATCH, n=WIDTH, dtype=DTYPES, seed=SEEDS, nonfinite=st.booleans())
@example(m=300, n=64, dtype=np.float32, seed=0, nonfinite=False)
def test_relu_forward(m, n, dtype, seed, nonfinite):
    x = special_values(np.random.default_rng(seed), (m, n), dtype, nonfinite)
    x0 = x.copy()
    ref = R.Activation_ReLU()
    ref.forward(x0.copy())
    out = nan_like((m, n), dtype)
    kernel("activations", "relu_forward")(x, out)
    assert out.dtype == ref.output.dtype
    np.testing.assert_array_equal(out, ref.output)
    unchanged((x, x0))


@given(m=BATCH, n=WIDTH, dtype=DTYPES, seed=SEEDS, nonfinite=st.booleans())
@example(m=300, n=64, dtype=np.float32, seed=0, nonfinite=False)
def test_relu_backward(m, n, dtype, seed, nonfinite):
    """Includes NaN inputs: the reference's ``dinputs[inputs <= 0] = 0``
    passes the gradient of a NaN input through."""
    rng = np.random.default_rng(seed)
    x = special_values(rng, (m, n), dtype, nonfinite)
    dv = special_values(rng, (m, n), dtype, nonfinite)
    x0, dv0 = x.copy(), dv.copy()
    ref = R.Activation_ReLU()
    ref.forward(x0.copy())
    ref.backward(dv0.copy())
    dinputs = nan_like((m, n), dtype)
    kernel("activations", "relu_backward")(x, dv, dinputs)
    np.testing.assert_array_equal(dinputs, ref.dinputs)
    unchanged((x, x0), (dv, dv0))


@given(m=BATCH, n=WIDTH, dtype=DTYPES, seed=SEEDS,
       scale=st.sampled_from([1.0, 10.0, 100.0]))
@example(m=300, n=3, dtype=np.float32, seed=0, scale=1.0)
@example(m=1, n=1, dtype=np.float64, seed=0, scale=1.0)
def test_softmax_forward(m, n, dtype, seed, scale):
    x = rand(np.random.default_rng(seed), (m, n), dtype, scale)
    x0 = x.copy()
    ref = R.Activation_Softmax()
    ref.forward(x0.copy())
    out = nan_like((m, n), dtype)
    kernel("activations", "softmax_forward")(x, out)
    assert out.dtype == ref.output.dtype
    assert_sum_close(out, ref.output, np.abs(ref.output), dtype,
                     what="softmax")
    unchanged((x, x0))


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_forward_nonfinite(dtype):
    inf, nan = np.inf, np.nan
    x = np.array([[1.0, nan, 2.0],
                  [nan, 1.0, 2.0],
                  [1.0, 2.0, nan],
                  [1.0, inf, 2.0],
                  [inf, inf, 1.0],
                  [1.0, -inf, 2.0],
                  [-inf, -inf, -inf],
                  [-inf, 0.0, -inf],
                  [1e30, 0.0, -1e30],
                  [1.0, 2.0, 3.0]], dtype)
    ref = R.Activation_Softmax()
    with np.errstate(all="ignore"):
        ref.forward(x.copy())
    out = nan_like(x.shape, dtype)
    kernel("activations", "softmax_forward")(x, out)
    assert_sum_close(out, ref.output, np.abs(ref.output), dtype,
                     what="softmax non-finite")


@given(m=BATCH, n=WIDTH, dtype=DTYPES, seed=SEEDS)
@example(m=300, n=3, dtype=np.float32, seed=0)
def test_softmax_backward(m, n, dtype, seed):
    rng = np.random.default_rng(seed)
    s = probs(rng, m, n, dtype)
    dv = rand(rng, (m, n), dtype)
    s0, dv0 = s.copy(), dv.copy()
    ref = R.Activation_Softmax()
    ref.output = s0.copy()
    ref.backward(dv0.copy())
    dinputs = nan_like((m, n), dtype)
    kernel("activations", "softmax_backward")(s, dv, dinputs)
    s64, d64 = s0.astype(np.float64), np.abs(dv0.astype(np.float64))
    mag = s64 * (d64 + (s64 * d64).sum(axis=1, keepdims=True))
    assert_sum_close(dinputs, ref.dinputs, mag, dtype, what="softmax_backward")
    unchanged((s, s0), (dv, dv0))


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_backward_nan_propagates(dtype):
    """A NaN gradient poisons its whole row, as through the Jacobian."""
    rng = np.random.default_rng(3)
    s = probs(rng, 4, 5, dtype)
    dv = rand(rng, (4, 5), dtype)
    dv[1, 2] = np.nan
    ref = R.Activation_Softmax()
    ref.output = s.copy()
    ref.backward(dv.copy())
    dinputs = nan_like(s.shape, dtype)
    kernel("activations", "softmax_backward")(s, dv, dinputs)
    assert np.isnan(dinputs[1]).all()
    assert_sum_close(dinputs, ref.dinputs, np.ones_like(s, np.float64), dtype)


# ----------------------------------------------------------------- losses

LABEL_DTYPES = st.sampled_from([np.uint8, np.int32, np.int64])


def clip_extremes(rng, p):
    """Put exact 0s and 1s into some rows (exercise both clip bounds)."""
    m, c = p.shape
    for i in rng.integers(0, m, size=max(1, m // 10)):
        p[i] = 0
        p[i, rng.integers(0, c)] = 1
    return p


@given(m=BATCH, c=WIDTH, dtype=DTYPES, ldtype=LABEL_DTYPES, seed=SEEDS)
@example(m=300, c=3, dtype=np.float32, ldtype=np.uint8, seed=0)
def test_cce_sparse_forward(m, c, dtype, ldtype, seed):
    rng = np.random.default_rng(seed)
    p = clip_extremes(rng, probs(rng, m, c, dtype))
    y = labels(rng, m, c, ldtype)
    p0, y0 = p.copy(), y.copy()
    exp = R.Loss_CategoricalCrossentropy().forward(p0.copy(), y0.copy())
    losses = nan_like((m,), dtype)
    ok(kernel("losses", "cce_sparse_forward")(p, y, losses))
    assert losses.dtype == exp.dtype
    assert_ulp_close(losses, exp, nulp=8, what="cce_sparse_forward")
    unchanged((p, p0), (y, y0))


@given(m=BATCH, c=WIDTH, dtype=DTYPES, soft=st.booleans(), seed=SEEDS)
@example(m=300, c=3, dtype=np.float32, soft=False, seed=0)
def test_cce_dense_forward(m, c, dtype, soft, seed):
    rng = np.random.default_rng(seed)
    p = clip_extremes(rng, probs(rng, m, c, dtype))
    if soft:
        y = probs(rng, m, c, dtype)
    else:
        y = one_hot(labels(rng, m, c), c, dtype)
    p0, y0 = p.copy(), y.copy()
    exp = R.Loss_CategoricalCrossentropy().forward(p0.copy(), y0.copy())
    losses = nan_like((m,), dtype)
    kernel("losses", "cce_dense_forward")(p, y, losses)
    assert losses.dtype == exp.dtype
    assert_sum_close(losses, exp, 1.0 + np.abs(exp), dtype,
                     what="cce_dense_forward")
    unchanged((p, p0), (y, y0))


@given(m=BATCH, c=WIDTH, dtype=DTYPES, ldtype=LABEL_DTYPES, seed=SEEDS)
@example(m=300, c=3, dtype=np.float32, ldtype=np.uint8, seed=0)
def test_cce_sparse_backward(m, c, dtype, ldtype, seed):
    rng = np.random.default_rng(seed)
    dv = probs(rng, m, c, dtype)
    y = labels(rng, m, c, ldtype)
    dv0, y0 = dv.copy(), y.copy()
    ref = R.Loss_CategoricalCrossentropy()
    ref.backward(dv0.copy(), y0.copy())
    dinputs = nan_like((m, c), dtype)
    ok(kernel("losses", "cce_sparse_backward")(dv, y, dinputs))
    # the reference works in float64 here (np.eye), the kernel in dtype
    assert_ulp_close(dinputs, ref.dinputs.astype(dtype), nulp=4,
                     what="cce_sparse_backward")
    unchanged((dv, dv0), (y, y0))


@given(m=BATCH, c=WIDTH, dtype=DTYPES, soft=st.booleans(), seed=SEEDS)
@example(m=300, c=3, dtype=np.float64, soft=False, seed=0)
def test_cce_dense_backward(m, c, dtype, soft, seed):
    rng = np.random.default_rng(seed)
    dv = probs(rng, m, c, dtype)
    y = probs(rng, m, c, dtype) if soft else \
        one_hot(labels(rng, m, c), c, dtype)
    dv0, y0 = dv.copy(), y.copy()
    ref = R.Loss_CategoricalCrossentropy()
    ref.backward(dv0.copy(), y0.copy())
    dinputs = nan_like((m, c), dtype)
    kernel("losses", "cce_dense_backward")(dv, y, dinputs)
    assert_ulp_close(dinputs, ref.dinputs, nulp=4, what="cce_dense_backward")
    unchanged((dv, dv0), (y, y0))


@pytest.mark.parametrize("form", ["sparse", "dense"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_cce_backward_zero_probability(dtype, form):
    """Unclipped backward, as the reference: -1/0 = -inf at the label and
    -0/0 = NaN at the other classes of a row whose prediction is 0."""
    dv = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5]], dtype)
    y = np.array([1, 1, 0])
    ref = R.Loss_CategoricalCrossentropy()
    with np.errstate(all="ignore"):
        ref.backward(dv.copy(), y if form == "sparse" else one_hot(y, 3, dtype))
    dinputs = nan_like(dv.shape, dtype)
    if form == "sparse":
        ok(kernel("losses", "cce_sparse_backward")(dv, y, dinputs))
    else:
        kernel("losses", "cce_dense_backward")(dv, one_hot(y, 3, dtype), dinputs)
    assert_ulp_close(dinputs, ref.dinputs.astype(dtype), nulp=4)


@given(m=BATCH, c=WIDTH, dtype=DTYPES, ldtype=LABEL_DTYPES, seed=SEEDS,
       scale=st.sampled_from([1.0, 10.0, 100.0]))
@example(m=300, c=3, dtype=np.float32, ldtype=np.uint8, seed=0, scale=0.01)
def test_softmax_cce_sparse_forward(m, c, dtype, ldtype, seed, scale):
    rng = np.random.default_rng(seed)
    x = rand(rng, (m, c), dtype, scale)
    y = labels(rng, m, c, ldtype)
    x0, y0 = x.copy(), y.copy()
    ref = R.Activation_Softmax_Loss_CategoricalCrossentropy()
    exp_loss = ref.forward(x0.copy(), y0.copy())
    p = nan_like((m, c), dtype)
    loss = kernel("losses", "softmax_cce_sparse_forward")(x, y, p)
    if isinstance(loss, tuple):  # (mean loss, -1 or a bad label's index)
        loss, bad = loss
        ok(bad)
    assert np.ndim(loss) == 0
    assert_sum_close(p, ref.output, np.abs(ref.output), dtype, what="probs")
    assert_sum_close(loss, exp_loss, 1.0 + abs(float(exp_loss)), dtype,
                     what="mean loss")
    unchanged((x, x0), (y, y0))


@given(m=BATCH, c=WIDTH, dtype=DTYPES, ldtype=LABEL_DTYPES, seed=SEEDS)
@example(m=300, c=3, dtype=np.float32, ldtype=np.uint8, seed=0)
def test_softmax_cce_sparse_backward(m, c, dtype, ldtype, seed):
    rng = np.random.default_rng(seed)
    dv = probs(rng, m, c, dtype)
    y = labels(rng, m, c, ldtype)
    dv0, y0 = dv.copy(), y.copy()
    ref = R.Activation_Softmax_Loss_CategoricalCrossentropy()
    ref.backward(dv0.copy(), y0.copy())
    dinputs = nan_like((m, c), dtype)
    ok(kernel("losses", "softmax_cce_sparse_backward")(dv, y, dinputs))
    assert_ulp_close(dinputs, ref.dinputs, nulp=2, mag=dv0,
                     what="softmax_cce_sparse_backward")
    unchanged((dv, dv0), (y, y0))


# ------------------------------------------------------------- optimizers
#
# Each kernel is driven over a few steps next to the reference optimizer
# updating a bare parameter holder with the same gradients.  The hyper-
# parameters handed to the kernel are the reference's Python floats.

def _ref_opt(kind, hp):
    if kind == "sgd":
        return R.Optimizer_SGD(hp["lr"], hp["decay"])
    if kind == "momentum":
        return R.Optimizer_SGD(hp["lr"], hp["decay"], hp["momentum"])
    if kind == "adagrad":
        return R.Optimizer_Adagrad(hp["lr"], hp["decay"], hp["eps"])
    if kind == "rmsprop":
        return R.Optimizer_RMSprop(hp["lr"], hp["decay"], hp["eps"], hp["rho"])
    return R.Optimizer_Adam(hp["lr"], hp["decay"], hp["eps"], hp["beta1"],
                            hp["beta2"])


_STATE = {"sgd": (), "momentum": ("momentums",), "adagrad": ("cache",),
          "rmsprop": ("cache",), "adam": ("momentums", "cache")}


def _call_kernel(kind, opt, w, dw, b, db, st_w, st_b):
    lr = opt.current_learning_rate
    if kind == "sgd":
        kernel("optimizers", "sgd_update")(w, dw, b, db, lr)
    elif kind == "momentum":
        kernel("optimizers", "sgd_momentum_update")(
            w, dw, st_w["momentums"], b, db, st_b["momentums"], lr,
            opt.momentum)
    elif kind == "adagrad":
        kernel("optimizers", "adagrad_update")(
            w, dw, st_w["cache"], b, db, st_b["cache"], lr, opt.epsilon)
    elif kind == "rmsprop":
        kernel("optimizers", "rmsprop_update")(
            w, dw, st_w["cache"], b, db, st_b["cache"], lr, opt.epsilon,
            opt.rho)
    else:
        t = opt.iterations
        kernel("optimizers", "adam_update")(
            w, dw, st_w["momentums"], st_w["cache"],
            b, db, st_b["momentums"], st_b["cache"],
            lr, opt.beta_1, opt.beta_2, opt.epsilon,
            1 - opt.beta_1 ** (t + 1), 1 - opt.beta_2 ** (t + 1))


def run_optimizer_kernel(kind, hp, shape, dtype, steps, seed, poison=False):
    rng = np.random.default_rng(seed)
    k, n = shape
    w = rand(rng, (k, n), dtype, 0.1)
    b = rand(rng, (1, n), dtype, 0.1)
    st_w = {name: np.zeros_like(w) for name in _STATE[kind]}
    st_b = {name: np.zeros_like(b) for name in _STATE[kind]}
    ids = [id(a) for a in (w, b, *st_w.values(), *st_b.values())]
    opt = _ref_opt(kind, hp)
    layer = Params(w.copy(), b.copy(), None, None)
    for step in range(steps):
        dw = rand(rng, (k, n), dtype)
        db = rand(rng, (1, n), dtype)
        if poison and step == 0:
            dw.reshape(-1)[0] = np.nan
            dw.reshape(-1)[-1] = np.inf
            db.reshape(-1)[-1] = -np.inf
        layer.dweights, layer.dbiases = dw.copy(), db.copy()
        w_old, b_old = layer.weights.copy(), layer.biases.copy()
        dw0, db0 = dw.copy(), db.copy()

        opt.pre_update_params()
        with np.errstate(all="ignore"):
            _call_kernel(kind, opt, w, dw, b, db, st_w, st_b)
            opt.update_params(layer)
        opt.post_update_params()

        where = f"{kind} step {step}"
        assert_ulp_close(w, layer.weights, mag=w_old, what=f"{where} weights")
        assert_ulp_close(b, layer.biases, mag=b_old, what=f"{where} biases")
        for name in _STATE[kind]:
            ref_w = getattr(layer, "weight_" + name)
            ref_b = getattr(layer, "bias_" + name)
            # momentum = momentum * m - lr * dw can cancel: scale by the terms
            mag_w = np.abs(dw0) * opt.current_learning_rate + np.abs(ref_w)
            mag_b = np.abs(db0) * opt.current_learning_rate + np.abs(ref_b)
            if name == "momentums" and kind == "momentum":
                assert_ulp_close(st_w[name], ref_w, mag=mag_w + 1e-30,
                                 what=f"{where} weight_{name}")
                assert_ulp_close(st_b[name], ref_b, mag=mag_b + 1e-30,
                                 what=f"{where} bias_{name}")
            else:
                assert_ulp_close(st_w[name], ref_w, what=f"{where} weight_{name}")
                assert_ulp_close(st_b[name], ref_b, what=f"{where} bias_{name}")
        unchanged((dw, dw0), (db, db0))
        assert [id(a) for a in (w, b, *st_w.values(), *st_b.values())] == ids
        for a in (w, b, *st_w.values(), *st_b.values()):
            assert a.dtype == dtype


KINDS = ["sgd", "momentum", "adagrad", "rmsprop", "adam"]
HYPER = st.fixed_dictionaries(dict(
    lr=st.floats(1e-4, 1.0), decay=st.sampled_from([0.0, 1e-3, 0.1]),
    momentum=st.floats(0.05, 0.99), eps=st.sampled_from([1e-7, 1e-8, 1e-5]),
    rho=st.floats(0.5, 0.999), beta1=st.floats(0.5, 0.99),
    beta2=st.floats(0.9, 0.9999)))
DEFAULT_HP = dict(lr=0.05, decay=1e-3, momentum=0.9, eps=1e-7, rho=0.9,
                  beta1=0.9, beta2=0.999)


@pytest.mark.parametrize("kind", KINDS)
@given(hp=HYPER, k=WIDTH, n=WIDTH, dtype=DTYPES, steps=st.integers(1, 4),
       seed=SEEDS)
@example(hp=DEFAULT_HP, k=2, n=64, dtype=np.float32, steps=3, seed=0)
@example(hp=DEFAULT_HP, k=64, n=3, dtype=np.float64, steps=3, seed=0)
def test_optimizer_kernel(kind, hp, k, n, dtype, steps, seed):
    run_optimizer_kernel(kind, hp, (k, n), dtype, steps, seed)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_kernel_large(kind, dtype):
    """Big enough for a parallel path (> 2**18 elements)."""
    run_optimizer_kernel(kind, DEFAULT_HP, (1024, 300), dtype, 2, seed=5)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_kernel_nonfinite(kind, dtype):
    run_optimizer_kernel(kind, DEFAULT_HP, (6, 5), dtype, 2, seed=9,
                         poison=True)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", ["adagrad", "rmsprop", "adam"])
def test_optimizer_kernel_zero_denominator(kind, dtype):
    """epsilon=0 with a zero gradient and zero cache: the reference divides
    0 by 0 and gets NaN (NumPy semantics, no exception)."""
    hp = dict(DEFAULT_HP, eps=0.0)
    opt = _ref_opt(kind, hp)
    w = np.full((2, 3), 0.5, dtype)
    b = np.full((1, 3), 0.5, dtype)
    dw, db = np.zeros_like(w), np.zeros_like(b)
    dw[0, 0] = 1.0
    layer = Params(w.copy(), b.copy(), dw.copy(), db.copy())
    st_w = {name: np.zeros_like(w) for name in _STATE[kind]}
    st_b = {name: np.zeros_like(b) for name in _STATE[kind]}
    opt.pre_update_params()
    with np.errstate(all="ignore"):
        opt.update_params(layer)
    _call_kernel(kind, opt, w, dw, b, db, st_w, st_b)
    assert_ulp_close(w, layer.weights)
    assert_ulp_close(b, layer.biases)


SPARSE_KERNELS = ["cce_sparse_forward", "cce_sparse_backward",
                  "softmax_cce_sparse_forward", "softmax_cce_sparse_backward"]


@pytest.mark.parametrize("bad", [3, 255, -1])
@pytest.mark.parametrize("name", SPARSE_KERNELS)
def test_sparse_kernel_reports_bad_label(name, bad):
    """The kernels' contract (kernels/losses.py): a label outside [0, C) is
    reported by its position, and nothing is written."""
    rng = np.random.default_rng(0)
    p = probs(rng, 5, 3)
    y = np.array([0, 1, bad, 2, bad], np.int64)
    out = nan_like((5,) if name == "cce_sparse_forward" else (5, 3),
                   np.float64)
    ret = kernel("losses", name)(p, y, out)
    if isinstance(ret, tuple):
        ret = ret[1]
    assert ret == 2
    assert np.isnan(out).all()
