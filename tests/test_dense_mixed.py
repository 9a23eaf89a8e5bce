"""A one-output dense layer's backward on float32 inputs and a float64 gradient
(chapter 17's last layer after ``nnfs.init()``), against the twin.

``kernels/dense_mixed.py`` reads the float32 inputs as they are instead of
converting them; the results must be the twin's within float64 rounding of
the sums, in the twin's dtypes, and the same bits as converting first (the
kernel's claim: the same operations on the same widened values).
"""
import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from fastnn.kernels.dense import dense_backward
from fastnn.kernels.dense_mixed import dense_backward_n1_narrow


def _arrays(m, k, seed):
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal((m, k)), 0).astype(np.float32)  # ReLU outputs
    w = (0.1 * rng.standard_normal((k, 1))).astype(np.float32)
    d = rng.standard_normal((m, 1))                                     # float64
    return x, w, d


@pytest.mark.parametrize("m,k", [(1000, 64), (200, 64), (23, 5), (7, 1)])
def test_layer_backward_matches_the_twin(m, k):
    x, w, d = _arrays(m, k, m + k)
    fast, ref = fastnn.Layer_Dense(k, 1), R.Layer_Dense(k, 1)
    for layer in (fast, ref):
        layer.weights, layer.biases = w.copy(), np.zeros((1, 1), np.float32)
        layer.forward(x)
        layer.backward(d)
    for name in ("dweights", "dbiases", "dinputs"):
        got, exp = getattr(fast, name), getattr(ref, name)
        assert got.dtype == exp.dtype, name
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12 * np.abs(exp).max(),
                                   err_msg=name)


@pytest.mark.parametrize("m,k", [(1000, 64), (23, 5)])
def test_kernel_gives_the_bits_of_converting_first(m, k):
    x, w, d = _arrays(m, k, 7)
    w64 = w.astype(np.float64)
    dw, db, di = np.empty((k, 1)), np.empty((1, 1)), np.empty((m, k), np.float32)
    assert dense_backward_n1_narrow(x, w64, d, dw, db, di)
    ew, eb, ei = np.empty((k, 1)), np.empty((1, 1)), np.empty((m, k))
    assert dense_backward(x.astype(np.float64), w64, d, ew, eb, ei)
    assert dw.tobytes() == ew.tobytes() and db.tobytes() == eb.tobytes()
    assert di.tobytes() == ei.astype(np.float32).tobytes()
    # and both are NumPy's products within rounding
    np.testing.assert_allclose(dw, x.astype(np.float64).T @ d, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(di, (d @ w64.T).astype(np.float32), rtol=1e-7)


def test_kernel_refuses_other_shapes():
    x, w, d = _arrays(10, 4, 1)
    w2 = np.zeros((4, 2))
    assert not dense_backward_n1_narrow(x, w2, np.zeros((10, 2)), np.zeros((4, 2)),
                                        np.zeros((1, 2)), np.zeros((10, 4), np.float32))
    big = np.zeros((5000, 64), np.float32)  # BLAS-sized: the caller converts instead
    assert not dense_backward_n1_narrow(big, np.zeros((64, 1)), np.zeros((5000, 1)),
                                        np.zeros((64, 1)), np.zeros((1, 1)),
                                        np.zeros((5000, 64), np.float32))
