"""Chapters 16-17: sigmoid, binary cross-entropy, linear, MSE, MAE, predictions,
accuracies and ``forward(inputs, training=False)``, each against the twin.

Tolerances: the sigmoid and the cross-entropy call ``exp``/``log`` (fastnn's
vectorized ones, NumPy's own in the twin; NumPy's float32 ``exp`` is itself not
correctly rounded in a third of cases), so their outputs are compared in ulps
or relative to the summed terms; every other result is the same IEEE
operations in the same order and dtype, so it is compared bit for bit (given
the same inputs).  The whole-chapter runs are in ``test_ch16_17_runs.py``.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import FLOATS, SUM_RTOL, assert_same_nonfinite, assert_sum_close, assert_ulp_close
from hypothesis import example, given
from hypothesis import strategies as st

import fastnn
import fastnn.reference as R
from fastnn._arrays import LabelError
from fastnn.kernels import binary as KB
from fastnn.kernels import regression as KR

DTYPES = st.sampled_from(FLOATS)
LOSSES = ("Loss_BinaryCrossentropy", "Loss_MeanSquaredError", "Loss_MeanAbsoluteError")
# targets: (kind, dtype) -- 0/1 labels as the book's y.reshape(-1, 1) gives them (uint8),
# other integer dtypes, and float targets of the predictions' dtype or the other one
TARGETS = [("labels", np.uint8), ("labels", np.int64), ("labels", np.int32),
           ("float", "same"), ("float", "other"), ("soft", "same"), ("soft", np.float64)]


def _targets(rng, shape, kind, dtype, pdtype):
    if dtype == "same":
        dtype = pdtype
    elif dtype == "other":
        dtype = np.float64 if pdtype == np.float32 else np.float32
    if kind == "labels":
        return rng.integers(0, 2, shape).astype(dtype)
    if kind == "float":
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.random(shape).astype(dtype)


def _predictions(rng, shape, dtype, edges=True):
    p = rng.random(shape)
    if edges and p.size > 2:  # the clip's both ends
        p.flat[0], p.flat[-1] = 0.0, 1.0
    return p.astype(dtype)


def _pair(name):
    return getattr(fastnn, name)(), getattr(R, name)()


# ---------------------------------------------------------------------------
# Sigmoid
# ---------------------------------------------------------------------------

@given(m=st.integers(1, 300), n=st.integers(1, 8), dtype=DTYPES, seed=st.integers(0, 2**16),
       scale=st.sampled_from([1.0, 10.0, 100.0]), name=st.sampled_from(["Activation_Sigmoid",
                                                                          "Sigmoid"]))
@example(m=200, n=1, dtype=np.float32, seed=0, scale=1.0, name="Activation_Sigmoid")
def test_sigmoid_vs_reference(m, n, dtype, seed, scale, name):
    rng = np.random.default_rng(seed)
    x = (scale * rng.standard_normal((m, n))).astype(dtype)
    d = rng.standard_normal((m, n)).astype(dtype)
    fast, ref = _pair(name)
    fast.forward(x)
    with np.errstate(over="ignore"):
        ref.forward(x)
    assert fast.output.dtype == ref.output.dtype == dtype
    assert_ulp_close(fast.output, ref.output, nulp=4, what="sigmoid output")
    # backward from the same output: the book's expression, bit for bit
    fast.output = ref.output.copy()
    fast.backward(d)
    ref.backward(d)
    assert fast.dinputs.dtype == ref.dinputs.dtype
    np.testing.assert_array_equal(fast.dinputs, ref.dinputs)


@pytest.mark.parametrize("x_dtype", [np.float16, np.int8, np.int16, np.int64, np.uint8])
def test_sigmoid_dtypes_follow_reference(x_dtype):
    x = np.array([[-3, 0, 2], [1, 5, 7]]).astype(x_dtype)
    fast, ref = _pair("Activation_Sigmoid")
    fast.forward(x)
    with np.errstate(over="ignore"):
        ref.forward(x)
    assert fast.output.dtype == ref.output.dtype
    # values: the book's `-inputs` wraps unsigned integers around (-np.uint8(2) == 254);
    # fastnn negates the value
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    expected = exact if x_dtype == np.uint8 else ref.output
    np.testing.assert_allclose(fast.output.astype(float), expected.astype(float), rtol=2e-3)
    for d_dtype in (np.float32, np.float64, np.int64):
        d = np.ones(x.shape, d_dtype)
        fast.backward(d)
        ref.backward(d)
        assert fast.dinputs.dtype == ref.dinputs.dtype, (x_dtype, d_dtype)


def test_sigmoid_any_ndim_nonfinite_and_array_likes():
    x = np.array([-np.inf, -1000.0, -1.0, 0.0, 1.0, 1000.0, np.inf, np.nan])
    for shape in [(8,), (2, 4), (2, 2, 2)]:
        fast, ref = _pair("Activation_Sigmoid")
        fast.forward(x.reshape(shape))
        with np.errstate(over="ignore"):
            ref.forward(x.reshape(shape))
        assert_same_nonfinite(fast.output, ref.output)
        assert_ulp_close(fast.output, ref.output, nulp=2)
    fast, ref = _pair("Activation_Sigmoid")
    fast.forward([[0.5, -2.0]])
    ref.forward(np.array([[0.5, -2.0]]))
    assert_ulp_close(fast.output, ref.output, nulp=2)
    fast.forward(np.asfortranarray(np.arange(6.0).reshape(2, 3)))  # general path
    ref.forward(np.arange(6.0).reshape(2, 3))
    assert_ulp_close(fast.output, ref.output, nulp=2)


def test_sigmoid_kernels_refuse_shapes_and_write_nothing():
    x = np.zeros((3, 2))
    out = np.full((2, 3), 7.0)
    assert not KB.sigmoid_forward(x, out)
    assert not KB.sigmoid_backward(x, np.zeros((3, 1)), out)
    assert (out == 7.0).all()


# ---------------------------------------------------------------------------
# Binary cross-entropy, MSE, MAE
# ---------------------------------------------------------------------------

def _loss_magnitude(name, p, y):
    """Magnitude of the summed terms of each sample's loss, for the sum tolerance."""
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    y = y.astype(np.float64)
    if name == "Loss_BinaryCrossentropy":
        terms = np.abs(y * np.log(p)) + np.abs((1 - y) * np.log(1 - p))
    elif name == "Loss_MeanSquaredError":
        terms = (y - p) ** 2
    else:
        terms = np.abs(y - p)
    return terms.mean(axis=-1)


@given(name=st.sampled_from(LOSSES), m=st.integers(1, 300), c=st.integers(1, 5), dtype=DTYPES,
       target=st.sampled_from(TARGETS), seed=st.integers(0, 2**16))
@example(name="Loss_BinaryCrossentropy", m=200, c=1, dtype=np.float32,
         target=("labels", np.uint8), seed=0)
@example(name="Loss_MeanSquaredError", m=1000, c=1, dtype=np.float32,
         target=("soft", np.float64), seed=0)
def test_losses_vs_reference(name, m, c, dtype, target, seed):
    rng = np.random.default_rng(seed)
    p = _predictions(rng, (m, c), dtype)
    y = _targets(rng, (m, c), *target, dtype)
    fast, ref = _pair(name)
    losses = fast.forward(p, y)
    with np.errstate(divide="ignore"):
        expected = ref.forward(p, y)
    assert losses.dtype == expected.dtype and losses.shape == expected.shape == (m,)
    if c == 1 and name != "Loss_BinaryCrossentropy":
        np.testing.assert_array_equal(losses, expected)  # no sum, no log: the same bits
    else:
        # the logarithms are rounded in the predictions' dtype, the rest in the result's
        rtol = 4 * max(SUM_RTOL[np.dtype(losses.dtype)], SUM_RTOL[np.dtype(dtype)])
        assert_sum_close(losses, expected, _loss_magnitude(name, p, y), losses.dtype,
                         rtol=rtol, what=f"{name} losses")
    mean, ref_mean = fast.calculate(p, y), ref.calculate(p, y)
    assert type(mean) is type(ref_mean)
    fast.backward(p, y)
    ref.backward(p, y)
    assert fast.dinputs.dtype == ref.dinputs.dtype and fast.dinputs.shape == (m, c)
    np.testing.assert_array_equal(fast.dinputs, ref.dinputs)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("p_dtype", [np.float16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("y_dtype", [np.uint8, np.int16, np.int64, np.float16, np.float32,
                                     np.float64])
def test_loss_dtypes_follow_reference(name, p_dtype, y_dtype):
    rng = np.random.default_rng(1)
    p = (_predictions(rng, (6, 2), np.float64, edges=False) * (5 if p_dtype == np.int64 else 1)
         ).astype(p_dtype)
    y = rng.integers(0, 2, (6, 2)).astype(y_dtype)
    fast, ref = _pair(name)
    with np.errstate(divide="ignore", invalid="ignore"):
        got, exp = fast.forward(p, y), ref.forward(p, y)
        assert got.dtype == exp.dtype
        np.testing.assert_allclose(got.astype(float), exp.astype(float), rtol=3e-3)
        assert type(fast.calculate(p, y)) is type(ref.calculate(p, y))
        fast.backward(p, y)
        ref.backward(p, y)
    assert fast.dinputs.dtype == ref.dinputs.dtype
    np.testing.assert_allclose(fast.dinputs.astype(float), ref.dinputs.astype(float),
                               rtol=3e-3)


@pytest.mark.parametrize("name", LOSSES)
def test_losses_nonfinite_layouts_and_array_likes(name):
    p = np.array([[0.2, np.nan], [np.inf, -np.inf], [0.0, 1.0], [0.7, 0.3]])
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.uint8)
    for pp, yy in [(p, y), (p, y.astype(float)), (np.asfortranarray(p), y),
                   (p.tolist(), y.tolist()), (p[:, ::-1], y[:, ::-1])]:
        fast, ref = _pair(name)
        with np.errstate(all="ignore"):
            got = fast.forward(pp, yy)
            exp = ref.forward(np.asarray(pp), np.asarray(yy))
            fast.backward(pp, yy)
            ref.backward(np.asarray(pp), np.asarray(yy))
        assert_same_nonfinite(got, exp)
        fin = np.isfinite(exp)
        np.testing.assert_allclose(got[fin], exp[fin], rtol=1e-14)
        assert_same_nonfinite(fast.dinputs, ref.dinputs)
        np.testing.assert_array_equal(fast.dinputs, ref.dinputs)


@pytest.mark.parametrize("kernel", [KB.bce_forward, KB.bce_backward, KB.bce_forward_labels,
                                    KB.bce_backward_labels, KR.mse_forward, KR.mse_backward,
                                    KR.mae_forward, KR.mae_backward])
def test_loss_kernels_refuse_sizes_and_write_nothing(kernel):
    labels = "labels" in kernel.__name__
    p = np.full((4, 2), 0.5)
    y = np.zeros(8 if labels else (4, 2), np.int64 if labels else np.float64)
    y_short = y[:-1] if labels else y[:, :1].copy()
    out = np.full(4 if "forward" in kernel.__name__ else (4, 2), 7.0)
    assert kernel(p, y_short, out) == -2
    assert kernel(p, y, out[:-1]) == -2
    assert (out == 7.0).all()
    assert kernel(p, y, out) == -1


def test_linear_is_identity_and_copies():
    for name in ("Activation_Linear",):
        fast, ref = _pair(name)
        for x in (np.arange(6.0).reshape(3, 2), np.arange(3, dtype=np.float32), [[1.0, 2.0]]):
            fast.forward(x)
            ref.forward(x)
            assert fast.output is x and fast.inputs is x and ref.output is x
        d = np.arange(6, dtype=np.float32).reshape(3, 2)
        fast.backward(d)
        ref.backward(d)
        assert fast.dinputs is not d and fast.dinputs.dtype == ref.dinputs.dtype
        np.testing.assert_array_equal(fast.dinputs, ref.dinputs)
        fast.backward([[1.0, 2.0]])
        assert isinstance(fast.dinputs, np.ndarray)


# ---------------------------------------------------------------------------
# predictions, forward(inputs, training), names
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Activation_ReLU", "Activation_Softmax", "Activation_Sigmoid",
                                  "Activation_Linear"])
def test_predictions_and_training_argument(name):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 3))
    x[0, 0] = 0.0  # sigmoid(0) == 0.5 exactly: predicted 0, as `> 0.5` says
    fast, ref = _pair(name)
    ref.forward(x, False)
    outputs = []
    for args, kwargs in [((x,), {}), ((x, True), {}), ((x,), {"training": False})]:
        fast.forward(*args, **kwargs)
        outputs.append(fast.output)
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    got, exp = fast.predictions(ref.output), ref.predictions(ref.output)
    assert got.dtype == exp.dtype
    np.testing.assert_array_equal(got, exp)


def test_combined_softmax_loss_takes_training():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((9, 3)), rng.integers(0, 3, 9)
    a = fastnn.Activation_Softmax_Loss_CategoricalCrossentropy()
    assert a.forward(x, y, training=True) == a.forward(x, y) == a.forward(x, y, False)


def test_notebook_names():
    from fastnn import notebook
    assert issubclass(fastnn.Sigmoid, fastnn.Activation_Sigmoid)
    assert issubclass(fastnn.BinaryCrossEntropyLoss, fastnn.Loss_BinaryCrossentropy)
    assert issubclass(R.Sigmoid, R.Activation_Sigmoid)
    assert issubclass(R.BinaryCrossEntropyLoss, R.Loss_BinaryCrossentropy)
    assert {"Sigmoid", "BinaryCrossEntropyLoss"} <= set(notebook.__all__)
    # no reader's names are known for linear, MSE, MAE or the accuracies: none invented
    unnamed = (fastnn.Activation_Linear, fastnn.Loss_MeanSquaredError,
               fastnn.Loss_MeanAbsoluteError, fastnn.Accuracy)
    for name in notebook.__all__:
        assert not issubclass(getattr(notebook, name), unnamed), name


# ---------------------------------------------------------------------------
# Accuracies
# ---------------------------------------------------------------------------

def _accuracy_pair(name, **kw):
    fast, ref = getattr(fastnn, name)(**kw), getattr(R, name)(**kw)
    ref.new_pass()  # the book's calculate accumulates; its counters start in new_pass
    return fast, ref


@pytest.mark.parametrize("case", ["binary", "sparse", "one-hot", "regression"])
def test_accuracies_vs_reference(case):
    rng = np.random.default_rng(7)
    if case == "binary":
        fast, ref = _accuracy_pair("Accuracy_Categorical", binary=True)
        s = R.Activation_Sigmoid()
        y = rng.integers(0, 2, (50, 1)).astype(np.uint8)
        batches = [(s.predictions(rng.random((50, 1))), y) for _ in range(3)]
    elif case in ("sparse", "one-hot"):
        fast, ref = _accuracy_pair("Accuracy_Categorical")
        lab = rng.integers(0, 4, 40)
        y = np.eye(4)[lab] if case == "one-hot" else lab
        batches = [(rng.integers(0, 4, 40), y) for _ in range(3)]
    else:
        fast, ref = _accuracy_pair("Accuracy_Regression")
        y = np.sin(np.linspace(0, 6, 100)).reshape(-1, 1)
        fast.init(y)
        ref.init(y)
        assert fast.precision == ref.precision == np.std(y) / 250
        fast.init(y * 3)
        ref.init(y * 3)  # set once ...
        assert fast.precision == ref.precision == np.std(y) / 250
        fast.init(y * 3, reinit=True)
        ref.init(y * 3, reinit=True)  # ... again only when asked
        assert fast.precision == ref.precision == np.std(y * 3) / 250
        batches = [(y + rng.normal(0, fast.precision, y.shape), y) for _ in range(3)]
    fast.new_pass()
    for pred, yy in batches:
        got, exp = fast.calculate(pred, yy), ref.calculate(pred, yy)
        assert got == exp and type(got) is type(exp)
    assert fast.calculate_accumulated() == ref.calculate_accumulated()
    assert fast.accumulated_count == ref.accumulated_count
    fast.new_pass()
    assert fast.accumulated_sum == 0 and fast.accumulated_count == 0


def test_accuracy_calculate_without_new_pass():
    # chapter 18's Model never calls new_pass: the counters start at zero
    acc = fastnn.Accuracy_Categorical()
    assert acc.calculate(np.array([0, 1, 1]), np.array([0, 1, 0])) == pytest.approx(2 / 3)
    assert acc.calculate_accumulated() == pytest.approx(2 / 3)
    assert "accumulated_sum" not in vars(fastnn.Accuracy_Categorical())


# ---------------------------------------------------------------------------
# Bad input: a clear error, and nothing written
# ---------------------------------------------------------------------------

def _raises(exc, fn, *mentions):
    with pytest.raises(exc) as info:
        fn()
    for m in mentions:
        assert m in str(info.value), f"{m!r} not in message {str(info.value)!r}"
    return info.value


def _loss_after_backward(name, p, y):
    """A loss whose backward already ran once (so a failed call must leave dinputs)."""
    loss = getattr(fastnn, name)()
    loss.backward(p, y)
    return loss, loss.dinputs, loss.dinputs.copy()


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("y_shape,mentions", [
    ((5,), ["(5,)", "(5, 1)", "reshape(-1, 1)"]), ((5, 2), ["(5, 2)", "(5, 1)"]),
    ((6, 1), ["(6, 1)", "(5, 1)"]), ((1, 5), ["(1, 5)", "(5, 1)"]), ((), ["()", "(5, 1)"])])
@pytest.mark.parametrize("y_dtype", [np.uint8, np.int32, "same"])
def test_targets_of_another_shape(name, dtype, y_shape, mentions, y_dtype):
    p = np.full((5, 1), 0.25, dtype)
    y = np.ones(y_shape, dtype if y_dtype == "same" else y_dtype)
    loss, dinputs, saved = _loss_after_backward(name, p, np.ones((5, 1), dtype))
    _raises(ValueError, lambda: loss.forward(p, y), *mentions)
    _raises(ValueError, lambda: loss.calculate(p, y), *mentions)
    _raises(ValueError, lambda: loss.backward(p, y), *mentions)
    assert loss.dinputs is dinputs
    np.testing.assert_array_equal(loss.dinputs, saved)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("shape", [(5,), (5, 1, 1), ()])
def test_predictions_not_2d(name, shape):
    p = np.full(shape, 0.25)
    loss, dinputs, _ = _loss_after_backward(name, np.full((5, 1), 0.5), np.ones((5, 1)))
    _raises(ValueError, lambda: loss.forward(p, p.copy()), "2-D", str(shape))
    _raises(ValueError, lambda: loss.backward(p, p.copy()), "2-D", str(shape))
    assert loss.dinputs is dinputs


@pytest.mark.parametrize("y_dtype,value", [(np.uint8, 2), (np.uint8, 255), (np.int64, 2),
                                           (np.int64, -1), (np.int16, -1), (np.int16, 300)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_bce_integer_labels_other_than_0_1(y_dtype, value, dtype):
    y = np.array([[1, 0], [0, 1], [1, value]], y_dtype)
    p = np.full((3, 2), 0.5, dtype)
    loss, dinputs, saved = _loss_after_backward("Loss_BinaryCrossentropy", p, y % 2)
    for call in (lambda: loss.forward(p, y), lambda: loss.backward(p, y),
                 lambda: loss.calculate(p, y)):
        err = _raises(LabelError, call, f"{y[2, 1]!r}", "(2, 1)", "0 or 1")
        assert isinstance(err, ValueError) and isinstance(err, IndexError)
    assert loss.dinputs is dinputs
    np.testing.assert_array_equal(loss.dinputs, saved)


def test_bce_label_kernels_of_the_fast_paths_take_only_labels_shaped_as_predictions():
    """``calculate`` and ``backward`` pass (N, C) uint8/int64 labels to kernels sealed
    to them (kind "L"): any other label array raises TypeError there (the classes
    then take their general path), nothing written, nothing compiled."""
    from fastnn.kernels import sealed
    p = np.full((4, 1), 0.25)
    good = np.array([[1], [0], [0], [1]], np.uint8)
    out = np.zeros((4, 1))
    status, total = sealed.bce_forward_labels_total_nd(p, good)
    assert status == -1
    ref = R.Loss_BinaryCrossentropy()
    assert np.float64(total / 4) == ref.calculate(p, good)
    assert sealed.bce_backward_labels_nd(p, good, out) == -1
    ref.backward(p, good)
    np.testing.assert_array_equal(out, ref.dinputs)
    read_only = good.copy()
    read_only.flags.writeable = False
    n_sigs = (len(sealed.bce_forward_labels_total_nd.signatures),
              len(sealed.bce_backward_labels_nd.signatures))
    for bad in (good.reshape(-1), good.astype(np.int16), np.repeat(good, 2, axis=1)[:, ::2],
                read_only, good.astype(np.float64)):
        with pytest.raises(TypeError):
            sealed.bce_forward_labels_total_nd(p, bad)
        before = out.copy()
        with pytest.raises(TypeError):
            sealed.bce_backward_labels_nd(p, bad, out)
        np.testing.assert_array_equal(out, before)
    assert n_sigs == (len(sealed.bce_forward_labels_total_nd.signatures),
                      len(sealed.bce_backward_labels_nd.signatures))


def test_bce_boolean_labels_and_bad_dtypes():
    p = np.full((3, 1), 0.5)
    loss = fastnn.Loss_BinaryCrossentropy()
    _raises(TypeError, lambda: loss.forward(p, np.ones((3, 1), bool)), "bool")
    _raises(TypeError, lambda: loss.backward(p, np.ones((3, 1), bool)), "bool")
    assert not hasattr(loss, "dinputs")
    for name in LOSSES:
        loss = getattr(fastnn, name)()
        _raises(TypeError, lambda: loss.forward(p.astype(complex), np.ones((3, 1))), "complex")
        _raises(TypeError, lambda: loss.forward([["a"], ["b"], ["c"]], np.ones((3, 1))))
        _raises(TypeError, lambda: loss.backward(p, np.full((3, 1), "x")))
        assert not hasattr(loss, "dinputs")


@pytest.mark.parametrize("shape,mention", [((5, 2), "(5, 2)"), ((6, 1), "(6, 1)"),
                                           ((5,), "(5,)")])
def test_sigmoid_backward_wrong_dvalues(shape, mention):
    s = fastnn.Activation_Sigmoid()
    s.forward(np.linspace(-2, 2, 5).reshape(5, 1))
    out, saved = s.output, s.output.copy()
    _raises(ValueError, lambda: s.backward(np.ones(shape)), mention, "(5, 1)")
    assert s.output is out and not hasattr(s, "dinputs")
    np.testing.assert_array_equal(s.output, saved)


def test_sigmoid_bad_inputs():
    s = fastnn.Activation_Sigmoid()
    _raises(TypeError, lambda: s.forward(np.ones((2, 2), bool)), "bool")
    _raises(TypeError, lambda: s.forward(np.ones((2, 2), complex)), "complex")
    _raises(TypeError, lambda: s.forward([["a", "b"]]))
    assert not hasattr(s, "output") and not hasattr(s, "inputs")
    _raises(AttributeError, lambda: s.backward(np.ones((2, 2))))  # as the book: no output yet


@pytest.mark.parametrize("name, kw, predictions, y, words", [
    # the book's silent trap: a column of predictions against flat labels
    ("Accuracy_Categorical", dict(binary=True), np.ones((6, 1), int), np.ones(6, int),
     ["(6, 1)", "(6,)", "y.reshape(-1, 1)"]),
    ("Accuracy_Regression", {}, np.zeros((6, 1)), np.zeros(6), ["(6, 1)", "(6,)"]),
    ("Accuracy_Categorical", {}, np.zeros(5, int), np.zeros(6, int), ["(5,)", "(6,)"]),
    ("Accuracy_Categorical", {}, np.zeros(5, int), np.eye(3)[[0, 1, 2, 0]], ["(5,)", "(4,)"]),
])
def test_accuracy_of_mismatched_shapes_is_refused_and_counts_nothing(name, kw, predictions, y,
                                                                     words):
    # the twin broadcasts (or fails inside NumPy); fastnn names both shapes
    acc = getattr(fastnn, name)(**kw)
    if name == "Accuracy_Regression":
        acc.init(np.arange(6.0))
    acc.calculate(np.zeros(2, int) if name != "Accuracy_Regression" else np.zeros(2),
                  np.zeros(2, int) if name != "Accuracy_Regression" else np.zeros(2))
    before = (acc.accumulated_sum, acc.accumulated_count)
    _raises(ValueError, lambda: acc.calculate(predictions, y), *words)
    assert (acc.accumulated_sum, acc.accumulated_count) == before
