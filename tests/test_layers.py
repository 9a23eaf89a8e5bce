"""The layer, activation and loss classes, in both spellings, against the
NumPy twin ``fastnn.reference``: values, attributes, dtypes, array-likes, and
that arrays handed out earlier are never overwritten later."""
import inspect

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

import fastnn
import fastnn.reference as R
from conftest import (FLOATS, SPELLINGS, SUM_RTOL, assert_sum_close,
                      assert_ulp_close, fast_and_ref, labels, one_hot, probs,
                      rand)

BOTH = ["book", "notebook"]
SEEDS = st.integers(0, 2**32 - 1)
DTYPES = st.sampled_from(FLOATS)
SPELL = st.sampled_from(BOTH)


def cls(spelling, kind):
    return fast_and_ref(SPELLINGS[spelling][kind])


def dense_pair(spelling, k, n, seed=0, dtype=np.float64, biases=True):
    """fastnn and reference dense layers with identical parameters."""
    F, Rc = cls(spelling, "dense")
    np.random.seed(seed)
    ref = Rc(k, n)
    np.random.seed(seed)
    fast = F(k, n)
    np.testing.assert_array_equal(fast.weights, ref.weights)
    if dtype != np.float64:
        ref.weights = ref.weights.astype(dtype)
        fast.weights = fast.weights.astype(dtype)
    if biases:
        b = rand(np.random.default_rng(seed), (1, n), dtype, 0.5)
        ref.biases, fast.biases = b.copy(), b.copy()
    else:
        ref.biases = ref.biases.astype(dtype)
        fast.biases = fast.biases.astype(dtype)
    return fast, ref


def mag_dot(a, b):
    return np.abs(np.asarray(a, np.float64)) @ np.abs(np.asarray(b, np.float64))


def rtol_of(*arrays):
    """The summation tolerance of the least precise float among ``arrays``."""
    dts = [np.asarray(a).dtype for a in arrays]
    return 1e-5 if any(d == np.float32 for d in dts) else 1e-12


def check_dense(fast, ref, x, dv=None, rtol=None):
    """Forward (and backward) of both layers on copies of the same data.

    Each result is held to the tolerance of its own dtype (a float64 result
    of float32 inputs must be computed in float64, as NumPy does), unless
    ``rtol`` is given."""
    def rt(a):
        return SUM_RTOL[a.dtype] if rtol is None else rtol

    xr = x.copy() if isinstance(x, np.ndarray) else x
    xf = x.copy() if isinstance(x, np.ndarray) else x
    ref.forward(xr)
    fast.forward(xf)
    dt = ref.output.dtype
    assert fast.output.dtype == dt
    mag = mag_dot(ref.inputs, ref.weights) + np.abs(ref.biases)
    # the reference's np.dot runs in the inputs' and weights' common dtype,
    # even when float64 biases then promote the output
    prec = np.empty(0, np.result_type(np.asarray(ref.inputs), ref.weights))
    assert_sum_close(fast.output, ref.output, mag, dt, rt(prec), what="output")
    # (a 1-D input may be kept as one row: compare the values)
    np.testing.assert_array_equal(np.asarray(fast.inputs).reshape(-1),
                                  np.asarray(ref.inputs).reshape(-1))
    if dv is None:
        return
    ref.backward(dv.copy())
    fast.backward(dv.copy())
    for name in ("dweights", "dbiases", "dinputs"):
        assert getattr(fast, name).dtype == getattr(ref, name).dtype, name
    assert_sum_close(fast.dweights, ref.dweights, mag_dot(ref.inputs.T, dv),
                     ref.dweights.dtype, rt(ref.dweights), what="dweights")
    assert_sum_close(fast.dbiases, ref.dbiases,
                     np.abs(dv.astype(np.float64)).sum(0, keepdims=True),
                     ref.dbiases.dtype, rt(ref.dbiases), what="dbiases")
    assert_sum_close(fast.dinputs, ref.dinputs, mag_dot(dv, ref.weights.T),
                     ref.dinputs.dtype, rt(ref.dinputs), what="dinputs")


# ---------------------------------------------------------- public names

def test_public_names():
    for name in list(R.__all__) + ["Loss"]:
        assert hasattr(fastnn, name), name
        assert name in fastnn.__all__, name


@pytest.mark.parametrize("name", ["Layer_Dense", "DenseLayer"])
def test_dense_constructor_signature(name):
    F, Rc = fast_and_ref(name)
    params = list(inspect.signature(Rc).parameters)
    assert list(inspect.signature(F).parameters) == params
    layer = F(**{params[0]: 3, params[1]: 5})
    assert layer.weights.shape == (3, 5) and layer.biases.shape == (1, 5)


@pytest.mark.parametrize("spelling", BOTH)
def test_notebook_classes_are_book_classes(spelling):
    """Both spellings exist and each is a class that can be instantiated."""
    for kind in ("relu", "softmax", "cce", "combined"):
        F, Rc = cls(spelling, kind)
        assert isinstance(F(), object)


# --------------------------------------------------------- initial weights

@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_initial_weights_same_as_reference(spelling, seed):
    F, Rc = cls(spelling, "dense")
    np.random.seed(seed)
    refs = [Rc(2, 64), Rc(64, 3), Rc(1, 1)]
    ref_next = np.random.random_sample()
    np.random.seed(seed)
    fasts = [F(2, 64), F(64, 3), F(1, 1)]
    fast_next = np.random.random_sample()
    for fast, ref in zip(fasts, refs):
        np.testing.assert_array_equal(fast.weights, ref.weights)
        np.testing.assert_array_equal(fast.biases, ref.biases)
        assert fast.weights.dtype == ref.weights.dtype
        assert fast.biases.dtype == ref.biases.dtype
        assert fast.weights.shape == ref.weights.shape
        assert fast.biases.shape == ref.biases.shape
    assert fast_next == ref_next, "the global generator was advanced differently"


@pytest.mark.parametrize("spelling", BOTH)
def test_initial_weights_under_nnfs_init(spelling, nnfs_init):
    F, Rc = cls(spelling, "dense")
    np.random.seed(0)
    refs = [Rc(2, 64), Rc(64, 3)]
    np.random.seed(0)
    fasts = [F(2, 64), F(64, 3)]
    for fast, ref in zip(fasts, refs):
        assert ref.weights.dtype == np.float32 == ref.biases.dtype
        assert fast.weights.dtype == np.float32 == fast.biases.dtype
        np.testing.assert_array_equal(fast.weights, ref.weights)
        np.testing.assert_array_equal(fast.biases, ref.biases)


# ------------------------------------------------------------ dense layer

@given(spelling=SPELL, m=st.integers(1, 300), k=st.integers(1, 70),
       n=st.integers(1, 70), dtype=DTYPES, seed=SEEDS)
@example(spelling="notebook", m=300, k=2, n=64, dtype=np.float32, seed=0)
@example(spelling="book", m=300, k=64, n=3, dtype=np.float64, seed=0)
def test_dense_vs_reference(spelling, m, k, n, dtype, seed):
    fast, ref = dense_pair(spelling, k, n, seed % 1000, dtype)
    rng = np.random.default_rng(seed)
    check_dense(fast, ref, rand(rng, (m, k), dtype), rand(rng, (m, n), dtype))


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("m,k,n", [(128, 784, 128), (256, 128, 10)])
def test_dense_large_vs_reference(spelling, m, k, n):
    for dtype in FLOATS:
        fast, ref = dense_pair(spelling, k, n, 3, dtype)
        rng = np.random.default_rng(m)
        check_dense(fast, ref, rand(rng, (m, k), dtype),
                    rand(rng, (m, n), dtype))


@pytest.mark.parametrize("dv_dtype", FLOATS)
@pytest.mark.parametrize("b_dtype", FLOATS)
@pytest.mark.parametrize("w_dtype", FLOATS)
@pytest.mark.parametrize("x_dtype", FLOATS)
def test_dense_mixed_dtypes_promote_like_reference(x_dtype, w_dtype, b_dtype,
                                                   dv_dtype):
    fast, ref = dense_pair("book", 5, 4, 1, w_dtype, biases=False)
    b = rand(np.random.default_rng(1), (1, 4), b_dtype)
    fast.biases, ref.biases = b.copy(), b.copy()
    rng = np.random.default_rng(2)
    check_dense(fast, ref, rand(rng, (7, 5), x_dtype),
                rand(rng, (7, 4), dv_dtype))


@pytest.mark.parametrize("x_dtype", FLOATS)
@pytest.mark.parametrize("b_dtype", FLOATS)
def test_dense_dtypes_under_nnfs_init(x_dtype, b_dtype, nnfs_init):
    """After nnfs.init(), np.dot returns float32 whatever its inputs, so the
    reference's dtypes differ from plain NumPy's."""
    fast, ref = dense_pair("notebook", 5, 4, 1, np.float32, biases=False)
    b = rand(np.random.default_rng(1), (1, 4), b_dtype)
    fast.biases, ref.biases = b.copy(), b.copy()
    rng = np.random.default_rng(2)
    check_dense(fast, ref, rand(rng, (7, 5), x_dtype),
                rand(rng, (7, 4), x_dtype), rtol=1e-5)


def _array_likes():
    rng = np.random.default_rng(11)
    base = rand(rng, (12, 10), np.float64)
    return {
        "list of floats": (base[:, :5].tolist(), 5),
        "list of ints": ([[1, 2, 3, 4, 5], [0, -1, 2, 7, 1]], 5),
        "int64 array": (rng.integers(-5, 5, (6, 5)), 5),
        "int32 array": (rng.integers(-5, 5, (6, 5)).astype(np.int32), 5),
        "uint8 array": (rng.integers(0, 255, (6, 5)).astype(np.uint8), 5),
        "column slice": (base[:, ::2], 5),
        "row slice": (base[::3, :5], 5),
        "fortran order": (np.asfortranarray(base[:, :5]), 5),
        "transposed": (base.T, 12),
        "float32 column slice": (base.astype(np.float32)[:, 1::2], 5),
        "1-D vector": (base[0, :5].copy(), 5),
        "nested tuple": (tuple(tuple(r) for r in base[:3, :5]), 5),
    }


ARRAY_LIKES = _array_likes()


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", list(ARRAY_LIKES))
def test_dense_forward_array_likes(spelling, kind):
    x, k = ARRAY_LIKES[kind]
    fast, ref = dense_pair(spelling, k, 3, 4)
    check_dense(fast, ref, x)


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["int64 array", "int32 array", "column slice",
                                  "row slice", "fortran order", "transposed",
                                  "float32 column slice"])
def test_dense_backward_array_likes(spelling, kind):
    """Arrays the reference can also run backward through (it needs .T)."""
    x, k = ARRAY_LIKES[kind]
    fast, ref = dense_pair(spelling, k, 3, 4)
    rng = np.random.default_rng(5)
    dv = rand(rng, (np.shape(x)[0], 3))
    check_dense(fast, ref, x, dv)
    # non-contiguous dvalues too
    fast, ref = dense_pair(spelling, k, 3, 4)
    dv_wide = rand(rng, (np.shape(x)[0], 6))
    check_dense(fast, ref, x, dv_wide[:, ::2])
    fast, ref = dense_pair(spelling, k, 3, 4)
    check_dense(fast, ref, x, np.asfortranarray(dv))


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("ddtype", [np.int64, np.int32, np.uint8])
def test_dense_backward_integer_dvalues(spelling, ddtype):
    """Integer gradients take the general path: values and dtypes as the
    reference's (its bias gradient is NumPy's integer sum)."""
    fast, ref = dense_pair(spelling, 5, 3, 4)
    x = rand(np.random.default_rng(6), (6, 5))
    dv = np.random.default_rng(7).integers(0, 9, (6, 3)).astype(ddtype)
    for layer in (fast, ref):
        layer.forward(x.copy())
        layer.backward(dv.copy())
    for name in ("dweights", "dbiases", "dinputs"):
        got, want = getattr(fast, name), getattr(ref, name)
        assert got.dtype == want.dtype, (name, got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("spelling", BOTH)
def test_dense_user_replaced_parameters(spelling):
    """weights/biases replaced by the user with Fortran-order or strided
    arrays are used as given."""
    fast, ref = dense_pair(spelling, 6, 4, 2)
    rng = np.random.default_rng(3)
    w = np.asfortranarray(rand(rng, (6, 4)))
    b = rand(rng, (1, 8))[:, ::2]
    fast.weights, ref.weights = w.copy(order="F"), w.copy(order="F")
    fast.biases, ref.biases = b, b.copy()
    check_dense(fast, ref, rand(rng, (9, 6)), rand(rng, (9, 4)))


# ------------------------------------------------------------ activations

def special(rng, shape, dtype):
    x = rand(rng, shape, dtype, 3.0)
    flat = x.reshape(-1)
    for j, i in enumerate(rng.integers(0, flat.size, size=min(flat.size, 4))):
        flat[i] = (0.0, -0.0, 0.0, -0.0)[j]
    return x


@given(spelling=SPELL, m=st.integers(1, 300), n=st.integers(1, 70),
       dtype=DTYPES, seed=SEEDS)
@example(spelling="notebook", m=300, n=64, dtype=np.float32, seed=0)
def test_relu_vs_reference(spelling, m, n, dtype, seed):
    F, Rc = cls(spelling, "relu")
    fast, ref = F(), Rc()
    rng = np.random.default_rng(seed)
    x, dv = special(rng, (m, n), dtype), rand(rng, (m, n), dtype)
    ref.forward(x.copy())
    fast.forward(x.copy())
    assert fast.output.dtype == ref.output.dtype
    np.testing.assert_array_equal(fast.output, ref.output)
    np.testing.assert_array_equal(fast.inputs, ref.inputs)
    ref.backward(dv.copy())
    fast.backward(dv.copy())
    assert fast.dinputs.dtype == ref.dinputs.dtype
    np.testing.assert_array_equal(fast.dinputs, ref.dinputs)


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["list of floats", "column slice",
                                  "fortran order", "transposed",
                                  "float32 column slice", "1-D vector"])
def test_relu_array_likes(spelling, kind):
    F, Rc = cls(spelling, "relu")
    x, _ = ARRAY_LIKES[kind]
    fast, ref = F(), Rc()
    ref.forward(x)
    fast.forward(x)
    assert fast.output.dtype == ref.output.dtype
    np.testing.assert_array_equal(fast.output, ref.output)
    if isinstance(x, np.ndarray):
        dv = rand(np.random.default_rng(1), x.shape)
        ref.backward(dv.copy())
        fast.backward(dv.copy())
        assert fast.dinputs.dtype == ref.dinputs.dtype
        np.testing.assert_array_equal(fast.dinputs, ref.dinputs)


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["int64 array", "int32 array", "list of ints"])
def test_relu_integer_inputs_keep_dtype(spelling, kind):
    F, Rc = cls(spelling, "relu")
    x, _ = ARRAY_LIKES[kind]
    fast, ref = F(), Rc()
    ref.forward(x)
    fast.forward(x)
    assert fast.output.dtype == ref.output.dtype
    np.testing.assert_array_equal(fast.output, ref.output)


@pytest.mark.parametrize("spelling", BOTH)
def test_relu_mixed_dtype_backward(spelling):
    F, Rc = cls(spelling, "relu")
    rng = np.random.default_rng(0)
    for xd, dd in [(np.float32, np.float64), (np.float64, np.float32)]:
        x, dv = rand(rng, (5, 4), xd), rand(rng, (5, 4), dd)
        fast, ref = F(), Rc()
        ref.forward(x)
        fast.forward(x)
        ref.backward(dv.copy())
        fast.backward(dv.copy())
        assert fast.dinputs.dtype == ref.dinputs.dtype
        np.testing.assert_array_equal(fast.dinputs, ref.dinputs)


@given(spelling=SPELL, m=st.integers(1, 300), n=st.integers(1, 70),
       dtype=DTYPES, seed=SEEDS, scale=st.sampled_from([1.0, 10.0, 100.0]))
@example(spelling="book", m=300, n=3, dtype=np.float32, seed=0, scale=1.0)
def test_softmax_vs_reference(spelling, m, n, dtype, seed, scale):
    F, Rc = cls(spelling, "softmax")
    fast, ref = F(), Rc()
    rng = np.random.default_rng(seed)
    x, dv = rand(rng, (m, n), dtype, scale), rand(rng, (m, n), dtype)
    ref.forward(x.copy())
    fast.forward(x.copy())
    assert fast.output.dtype == ref.output.dtype
    assert_sum_close(fast.output, ref.output, np.abs(ref.output), dtype,
                     what="softmax output")
    np.testing.assert_array_equal(fast.inputs, ref.inputs)
    ref.backward(dv.copy())
    fast.backward(dv.copy())
    assert fast.dinputs.dtype == ref.dinputs.dtype
    s, d = ref.output.astype(np.float64), np.abs(dv.astype(np.float64))
    mag = s * (d + (s * d).sum(axis=1, keepdims=True))
    assert_sum_close(fast.dinputs, ref.dinputs, mag, dtype,
                     what="softmax dinputs")


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["list of floats", "list of ints",
                                  "int64 array", "column slice",
                                  "fortran order", "transposed",
                                  "float32 column slice"])
def test_softmax_array_likes(spelling, kind):
    F, Rc = cls(spelling, "softmax")
    x, _ = ARRAY_LIKES[kind]
    fast, ref = F(), Rc()
    ref.forward(x)
    fast.forward(x)
    assert fast.output.dtype == ref.output.dtype
    assert_sum_close(fast.output, ref.output, np.abs(ref.output),
                     ref.output.dtype, rtol_of(ref.output))
    dv = rand(np.random.default_rng(2), ref.output.shape)
    for d in (dv, np.asfortranarray(dv), dv.astype(np.float32)):
        ref.backward(d.copy())
        fast.backward(d.copy())
        assert fast.dinputs.dtype == ref.dinputs.dtype
        assert_sum_close(fast.dinputs, ref.dinputs, np.ones(dv.shape),
                         ref.dinputs.dtype, rtol_of(ref.output, d))


# ----------------------------------------------------------------- losses

LABEL_FORMS = ["uint8", "int32", "int64", "onehot64", "onehot32", "soft"]


def make_labels(form, rng, m, c, dtype=np.float64):
    y = labels(rng, m, c)
    if form in ("uint8", "int32", "int64"):
        return y.astype(form)
    if form == "onehot64":
        return one_hot(y, c, np.float64)
    if form == "onehot32":
        return one_hot(y, c, np.float32)
    return probs(rng, m, c, dtype)


@given(spelling=SPELL, m=st.integers(1, 300), c=st.integers(1, 20),
       dtype=DTYPES, form=st.sampled_from(LABEL_FORMS), seed=SEEDS)
@example(spelling="notebook", m=300, c=3, dtype=np.float32, form="uint8",
         seed=0)
def test_cce_vs_reference(spelling, m, c, dtype, form, seed):
    F, Rc = cls(spelling, "cce")
    fast, ref = F(), Rc()
    rng = np.random.default_rng(seed)
    p = probs(rng, m, c, dtype)
    p[0] = 0.0
    p[0, -1] = 1.0  # both clip bounds
    y = make_labels(form, rng, m, c, dtype)

    exp = ref.forward(p.copy(), y.copy())
    got = fast.forward(p.copy(), y.copy())
    assert got.dtype == exp.dtype
    assert_sum_close(got, exp, 1.0 + np.abs(exp), exp.dtype, what="losses")

    exp_mean = ref.calculate(p.copy(), y.copy())
    got_mean = fast.calculate(p.copy(), y.copy())
    assert np.ndim(got_mean) == 0
    assert_sum_close(got_mean, exp_mean, 1.0 + abs(float(exp_mean)),
                     np.asarray(exp_mean).dtype, what="calculate")

    dv = probs(rng, m, c, dtype)
    ref.backward(dv.copy(), y.copy())
    fast.backward(dv.copy(), y.copy())
    assert fast.dinputs.dtype == ref.dinputs.dtype
    assert_ulp_close(fast.dinputs, ref.dinputs, nulp=4, what="dinputs")


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("dtype", FLOATS)
def test_cce_dtypes_under_nnfs_init(spelling, dtype, nnfs_init):
    """np.eye is float32 after nnfs.init(): sparse-label backward is float32."""
    F, Rc = cls(spelling, "cce")
    rng = np.random.default_rng(0)
    dv, y = probs(rng, 6, 3, dtype), labels(rng, 6, 3, np.uint8)
    fast, ref = F(), Rc()
    ref.backward(dv.copy(), y)
    fast.backward(dv.copy(), y)
    assert fast.dinputs.dtype == ref.dinputs.dtype
    assert_ulp_close(fast.dinputs, ref.dinputs, nulp=4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_loss_calculate_scalar_type_follows_reference(dtype):
    rng = np.random.default_rng(0)
    p, y = probs(rng, 6, 3, dtype), labels(rng, 6, 3)
    exp = R.Loss_CategoricalCrossentropy().calculate(p, y)
    got = fastnn.Loss_CategoricalCrossentropy().calculate(p, y)
    assert np.asarray(got).dtype == np.asarray(exp).dtype
    assert f"{got: .3f}" == f"{exp: .3f}"


def test_loss_base_class_subclassable():
    """A user's own loss on fastnn.Loss: calculate is the mean of forward."""
    class MSE(fastnn.Loss):
        def forward(self, y_pred, y_true):
            return np.mean((y_true - y_pred) ** 2, axis=-1)

    class RefMSE(R.Loss):
        forward = MSE.forward

    rng = np.random.default_rng(0)
    a, b = rand(rng, (10, 3)), rand(rng, (10, 3))
    assert MSE().calculate(a, b) == RefMSE().calculate(a, b)
    assert issubclass(fastnn.Loss_CategoricalCrossentropy, fastnn.Loss)
    assert issubclass(fastnn.CategoricalCrossEntropy, fastnn.Loss)


@given(spelling=SPELL, m=st.integers(1, 300), c=st.integers(1, 20),
       dtype=DTYPES, form=st.sampled_from(LABEL_FORMS[:5]), seed=SEEDS,
       scale=st.sampled_from([1.0, 10.0]))
@example(spelling="notebook", m=300, c=3, dtype=np.float32, form="uint8",
         seed=0, scale=0.01)
def test_softmax_cce_vs_reference(spelling, m, c, dtype, form, seed, scale):
    F, Rc = cls(spelling, "combined")
    fast, ref = F(), Rc()
    assert isinstance(fast.activation, fastnn.Activation_Softmax)
    assert isinstance(fast.loss, fastnn.Loss_CategoricalCrossentropy)
    rng = np.random.default_rng(seed)
    x = rand(rng, (m, c), dtype, scale)
    y = make_labels(form, rng, m, c, dtype)

    exp = ref.forward(x.copy(), y.copy())
    got = fast.forward(x.copy(), y.copy())
    assert np.ndim(got) == 0
    assert_sum_close(got, exp, 1.0 + abs(float(exp)), dtype, what="loss")
    assert fast.output.dtype == ref.output.dtype
    assert_sum_close(fast.output, ref.output, np.abs(ref.output), dtype,
                     what="output")
    np.testing.assert_array_equal(fast.activation.output, fast.output)
    np.testing.assert_array_equal(fast.activation.inputs, ref.activation.inputs)

    # the seed's call: backward(activationLoss.output, y)
    ref.backward(ref.output, y.copy())
    probs_before = fast.output.copy()
    fast.backward(fast.output, y.copy())
    np.testing.assert_array_equal(fast.output, probs_before,
                                  err_msg="backward modified .output")
    assert fast.dinputs.dtype == ref.dinputs.dtype
    assert_ulp_close(fast.dinputs, ref.dinputs.astype(dtype), nulp=4,
                     mag=ref.output.astype(dtype) / m + 1 / m,
                     what="dinputs")


@pytest.mark.parametrize("spelling", BOTH)
def test_softmax_cce_array_likes(spelling):
    F, Rc = cls(spelling, "combined")
    rng = np.random.default_rng(0)
    x = rand(rng, (8, 6))
    y = labels(rng, 8, 3)
    for xi, yi in [(x[:, ::2], y), (np.asfortranarray(x[:, :3]), y),
                   (x[:, :3].tolist(), y), (x[:, :3], y.astype(np.int32)),
                   (x[:, :3], y[::-1]), (x[:, :3].astype(np.float32), y)]:
        fast, ref = F(), Rc()
        exp = ref.forward(xi, yi)
        got = fast.forward(xi, yi)
        assert_sum_close(got, exp, 1.0 + abs(float(exp)),
                         np.asarray(exp).dtype, 1e-5)
        assert fast.output.dtype == ref.output.dtype
        dv = np.asfortranarray(ref.output)
        ref.backward(dv, yi)
        fast.backward(dv, yi)
        assert fast.dinputs.dtype == ref.dinputs.dtype
        assert_ulp_close(fast.dinputs, ref.dinputs, nulp=4, mag=1 / 8)


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["cce", "combined"])
def test_label_out_of_range_raises_like_reference(spelling, kind):
    """The reference fails with IndexError on a class index >= C."""
    F, Rc = cls(spelling, kind)
    rng = np.random.default_rng(0)
    p = probs(rng, 4, 3)
    y = np.array([0, 3, 1, 2])
    with pytest.raises(IndexError):
        Rc().forward(p.copy(), y)
    with pytest.raises(IndexError):
        F().forward(p.copy(), y)


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["cce", "combined"])
def test_negative_labels_are_rejected(spelling, kind):
    """The reference silently reads -1 as the last class; fastnn treats a
    negative class index as the bad input it is and names it (deliberate
    difference, see README)."""
    F, _ = cls(spelling, kind)
    rng = np.random.default_rng(0)
    p = probs(rng, 4, 3)
    y = np.array([0, -1, 1, -3])
    with pytest.raises(IndexError, match=r"y\[1\] = -1"):
        F().forward(p.copy(), y)


# ------------------------------------------------- fresh output arrays

def _forward(obj, kind, x, y):
    if kind in ("cce", "combined"):
        return obj.forward(x, y)
    return obj.forward(x)


def _backward(obj, kind, d, y):
    if kind in ("cce", "combined"):
        obj.backward(d, y)
    else:
        obj.backward(d)


OUTPUTS = {"dense": ("output",), "relu": ("output",), "softmax": ("output",),
           "cce": (), "combined": ("output",)}
GRADS = {"dense": ("dweights", "dbiases", "dinputs"), "relu": ("dinputs",),
         "softmax": ("dinputs",), "cce": ("dinputs",),
         "combined": ("dinputs",)}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_arrays_handed_out_are_never_overwritten(kind, spelling, dtype):
    """Keep ``out1 = obj.output``, call forward again with other inputs:
    out1 is unchanged.  Same for every gradient after another backward.
    Inputs and dvalues are never modified either."""
    F, _ = cls(spelling, kind)
    rng = np.random.default_rng(0)
    m, k, c = 300, 64 if kind == "dense" else 3, 3
    if kind == "dense":
        obj = F(k, c)
        obj.weights = obj.weights.astype(dtype)
        obj.biases = obj.biases.astype(dtype)
    else:
        obj = F()
    make_x = (lambda: probs(rng, m, c, dtype)) if kind == "cce" else \
        (lambda: rand(rng, (m, k), dtype))
    y = labels(rng, m, c, np.uint8)

    x1 = make_x()
    x1_copy = x1.copy()
    ret = _forward(obj, kind, x1, y)
    np.testing.assert_array_equal(x1, x1_copy, err_msg="forward modified inputs")
    kept = {name: getattr(obj, name) for name in OUTPUTS[kind]}
    if isinstance(ret, np.ndarray):  # the per-sample losses
        kept["returned losses"] = ret
    kept_vals = {name: a.copy() for name, a in kept.items()}

    d1 = probs(rng, m, c, dtype)
    d1_copy = d1.copy()
    _backward(obj, kind, d1, y)
    np.testing.assert_array_equal(d1, d1_copy, err_msg="backward modified dvalues")
    grads = {name: getattr(obj, name) for name in GRADS[kind]}
    grad_vals = {name: a.copy() for name, a in grads.items()}
    for name, a in kept.items():
        np.testing.assert_array_equal(a, kept_vals[name],
                                      err_msg=f"backward overwrote {name}")

    x2 = make_x()
    _forward(obj, kind, x2, y[::-1].copy())
    d2 = probs(rng, m, c, dtype)
    _backward(obj, kind, d2, y[::-1].copy())
    _forward(obj, kind, x2[:100], y[:100])
    _backward(obj, kind, d2[:100], y[:100])
    for name, a in kept.items():
        np.testing.assert_array_equal(a, kept_vals[name],
                                      err_msg=f"a later call overwrote {name}")
        assert getattr(obj, name, None) is not a
    for name, a in grads.items():
        np.testing.assert_array_equal(a, grad_vals[name],
                                      err_msg=f"a later call overwrote {name}")
        assert getattr(obj, name) is not a


@pytest.mark.parametrize("spelling", BOTH)
def test_seed_network_one_step_under_nnfs_init(spelling, nnfs_init):
    """The seed's forward/backward on spiral data after nnfs.init(): every
    attribute has the reference's dtype (float32) and values."""
    from nnfs.datasets import spiral_data
    names = SPELLINGS[spelling]
    X, y = spiral_data(samples=100, classes=3)
    state = np.random.get_state()

    def build(mod):
        np.random.set_state(state)
        return (getattr(mod, names["dense"])(2, 64), getattr(mod, names["relu"])(),
                getattr(mod, names["dense"])(64, 3),
                getattr(mod, names["combined"])())

    def run(net):
        d1, a1, d2, al = net
        d1.forward(X)
        a1.forward(d1.output)
        d2.forward(a1.output)
        loss = al.forward(d2.output, y)
        al.backward(al.output, y)
        d2.backward(al.dinputs)
        a1.backward(d2.dinputs)
        d1.backward(a1.dinputs)
        return loss

    ref, fast = build(R), build(fastnn)
    exp_loss, got_loss = run(ref), run(fast)
    assert f"{got_loss: .3f}" == f"{exp_loss: .3f}" == " 1.099"
    acc = np.mean(np.argmax(fast[3].output, axis=1) == y)
    assert f"{acc: .3f}" == " 0.360"

    def a64(a):
        return np.abs(np.asarray(a, np.float64))

    for i in (0, 2):  # the dense layers: tolerance on the summed terms
        f, r = fast[i], ref[i]
        # (layer 2's inputs are ReLU's output, checked below)
        mags = dict(inputs=a64(r.inputs) if i == 0 else a64(r.inputs).max(),
                    output=a64(r.inputs) @ a64(r.weights) + a64(r.biases),
                    dweights=a64(r.inputs).T @ a64(fast[i + 1].dinputs),
                    dbiases=a64(fast[i + 1].dinputs).sum(0, keepdims=True),
                    dinputs=a64(fast[i + 1].dinputs) @ a64(r.weights).T)
        for name, mag in mags.items():
            a, e = getattr(f, name), getattr(r, name)
            assert a.dtype == e.dtype == np.float32, name
            assert_sum_close(a, e, mag, np.float32, 2e-5, what=f"layer {i} {name}")
    for i in (1, 3):  # ReLU and softmax + CE: element-wise
        f, r = fast[i], ref[i]
        for name in ("output", "dinputs"):
            a, e = getattr(f, name), getattr(r, name)
            assert a.dtype == e.dtype == np.float32, name
            assert_sum_close(a, e, a64(e) + a64(e).max() * 1e-3, np.float32,
                             2e-5, what=f"{type(f).__name__} {name}")


@pytest.mark.parametrize("spelling", BOTH)
def test_cce_clips_in_the_predictions_dtype(spelling):
    """float32 predictions with float64 one-hot labels: the reference clips
    the float32 array (bounds rounded to float32) before multiplying."""
    F, Rc = cls(spelling, "cce")
    p = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], np.float32)
    y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    exp = Rc().forward(p, y)
    got = F().forward(p, y)
    assert got.dtype == exp.dtype == np.float64
    # -log(float32(1 - 1e-7)) = 1.1920929e-07, not 1.0000000e-07
    assert_ulp_close(got, exp, nulp=4)


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["relu", "softmax"])
def test_predictions_like_the_book(spelling, kind):
    """The output activations' ``predictions`` (book chapter 18) equal the twin's."""
    F, R = cls(spelling, kind)
    out = np.random.default_rng(3).standard_normal((7, 4))
    np.testing.assert_array_equal(F().predictions(out), R().predictions(out))
