"""``Loss.calculate``'s one-call mean and sum against NumPy's ``np.mean``/``np.sum``.

``calculate`` gives the book's ``np.mean(sample_losses)`` and adds
``np.sum(sample_losses)`` to chapter 19's running sum; fastnn takes both from
one pairwise sum in a kernel (``kernels/reduction.py``, and fused with the
elementwise losses' forward in ``kernels/loss_totals.py``).  NumPy is the
twin here: the sum must be ``np.sum``'s to the bit, the mean ``np.mean``'s,
with NumPy's scalar types, for every length (the pairwise order changes at
8, 128 and each split) and both dtypes.
"""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from fastnn.kernels import sealed

FLOATS = [np.float64, np.float32]
LENGTHS = list(range(0, 140)) + [255, 256, 257, 300, 1000, 1023, 1024, 1025, 4097, 100_003]


def same(got, exp):
    return type(got) is type(exp) and np.asarray(got).tobytes() == np.asarray(exp).tobytes()


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_pairwise_total_is_np_sum_bit_for_bit(dtype):
    rng = np.random.default_rng(7)
    for n in LENGTHS:
        for scale in (1.0, 1e8):
            # terms of mixed magnitude and sign, so the order shows in the last bits
            a = (rng.standard_normal(n) * scale + rng.standard_normal(n) * 1e-3).astype(dtype)
            got = dtype(sealed.pairwise_total(a))
            assert same(got, np.sum(a)), (n, scale, got, np.sum(a))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_pairwise_total_refuses_what_it_does_not_take(dtype):
    with pytest.raises(TypeError):
        sealed.pairwise_total(np.zeros((2, 3), dtype))        # 2-D
    with pytest.raises(TypeError):
        sealed.pairwise_total(np.zeros(6, dtype)[::2])        # not contiguous
    with pytest.raises(TypeError):
        sealed.pairwise_total(np.zeros(6, np.float16))        # another dtype


LOSSES = ["Loss_MeanSquaredError", "Loss_MeanAbsoluteError", "Loss_BinaryCrossentropy",
          "Loss_CategoricalCrossentropy"]


def _inputs(name, n, dtype, rng):
    if name == "Loss_CategoricalCrossentropy":
        z = rng.standard_normal((n, 3))
        p = (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).astype(dtype)
        return p, rng.integers(0, 3, n)
    p = (1 / (1 + np.exp(-3 * rng.standard_normal((n, 1))))).astype(dtype)
    if name == "Loss_BinaryCrossentropy":
        return p, rng.integers(0, 2, (n, 1)).astype(np.uint8)
    return p, rng.standard_normal((n, 1)).astype(dtype)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_calculate_is_np_mean_of_the_losses_and_accumulates_np_sum(name, dtype):
    rng = np.random.default_rng(LOSSES.index(name))
    for n in (1, 7, 8, 9, 127, 128, 129, 200, 1000, 1001):
        p, y = _inputs(name, n, dtype, rng)
        loss = getattr(fastnn, name)()
        losses = loss.forward(p, y)
        exp_mean, exp_sum = np.mean(losses), np.sum(losses)
        assert same(loss.calculate(p, y), exp_mean), (n, loss.calculate(p, y), exp_mean)
        assert same(loss.accumulated_sum, exp_sum)
        loss.calculate(p, y)
        assert same(loss.accumulated_sum, exp_sum + exp_sum) and loss.accumulated_count == 2 * n


@pytest.mark.parametrize("name", ["Loss_MeanSquaredError", "Loss_MeanAbsoluteError"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_regression_calculate_equals_the_twins(name, dtype):
    # one output per sample: the losses are the twin's bit for bit, so the means are too
    rng = np.random.default_rng(17)
    for n in (1, 200, 1000):
        p, y = _inputs(name, n, dtype, rng)
        fast, ref = getattr(fastnn, name)(), getattr(R, name)()
        for _ in range(2):
            assert same(fast.calculate(p, y), ref.calculate(p, y))
        assert same(fast.accumulated_sum, ref.accumulated_sum)
        assert fast.accumulated_count == ref.accumulated_count
        # chapter 18's form: with the (here empty) regularization loss
        fast.remember_trainable_layers([])
        ref.remember_trainable_layers([])
        got = fast.calculate(p, y, include_regularization=True)
        exp = ref.calculate(p, y, include_regularization=True)
        assert same(got[0], exp[0]) and got[1] == exp[1] == 0


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_nonfinite_and_empty_losses_warn_as_numpy_does(dtype):
    # inf - inf in the sum: NumPy warns and gives NaN; so does calculate
    loss = fastnn.Loss_MeanSquaredError()
    p = np.array([[np.inf], [0.0]], dtype)
    y = np.array([[0.0], [np.inf]], dtype)  # squared errors inf, inf: the sum is inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(loss.calculate(p, y))
    ref = R.Loss_MeanSquaredError()
    with pytest.warns(RuntimeWarning):
        exp = ref.calculate(np.zeros((0, 1), dtype), np.zeros((0, 1), dtype))
    with pytest.warns(RuntimeWarning):
        got = loss.calculate(np.zeros((0, 1), dtype), np.zeros((0, 1), dtype))
    assert np.isnan(got) and np.isnan(exp) and type(got) is type(exp)


def test_a_subclass_forward_is_what_calculate_averages():
    class Halved(fastnn.Loss_MeanSquaredError):
        def forward(self, y_pred, y_true):
            return super().forward(y_pred, y_true) / 2

    p = np.arange(4.0).reshape(-1, 1)
    y = np.zeros((4, 1))
    assert Halved().calculate(p, y) == np.mean(p[:, 0] ** 2) / 2
