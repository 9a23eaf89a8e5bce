"""The dense layer for the float32/float64 mixes of chapter 17 after ``nnfs.init()``.

There ``sine_data`` gives float64 ``X`` and targets, ``nnfs.init()`` float32
parameters, and its ``np.dot`` computes in float64 and returns float32.  So
the first layer multiplies float64 inputs (forward and backward) and the last
layer receives the loss's float64 gradient.  Converting such operands to
float64 and rounding float64 results back cost more than the products
themselves (1000x64 arrays); these kernels read each operand as it is
(widened exactly as it is loaded) and store each result once, in the dtype
and, where NumPy sums no terms or sums them in an order kept here, with the
bits of the book's expression:

* ``dense_forward_rounded_dot``: ``np.dot(X, W)`` rounded to float32, then
  ``+ biases`` in float32, for one input (chapter 17's first layer: 4.9 us
  against 16 us converting, at 1000x1->64);
* ``dense_backward_mixed``: the backward of a one-output layer with a wider
  gradient (``dense_backward_n1_narrow``: the last layer, 28 -> 9 us
  with its caller) or of a one-input layer with wider inputs (the first
  layer, 24 -> 12 us), ``dbiases`` summed as NumPy's ``np.sum(axis=0)`` does.

They use only routines that store each output value once and never reach
BLAS; other shapes return False and the caller converts.
"""
import numpy as np

from ._jit import kernel
from .dense import BLAS_MIN_MADDS
from .dense_n1 import backward_n1
from .reduction import pairwise_total
from .regularization import NO_REGULARIZATION


@kernel
def dense_backward_n1_narrow(x, w, dvalues, dweights, dbiases, dinputs):
    """``dense_backward`` for one output (N == 1, below BLAS size), with ``x``
    (read only in products with ``dvalues``) and ``dinputs`` (stored once per
    value) possibly narrower than ``w``, ``dvalues``, ``dweights``,
    ``dbiases``, whose dtype the sums are taken in.  False, nothing written,
    for other shapes."""
    m, k = x.shape
    if (w.shape[0] != k or w.shape[1] != 1 or dvalues.shape != (m, 1)
            or dweights.shape != (k, 1) or dbiases.shape != (1, 1) or dinputs.shape != (m, k)
            or m * k >= BLAS_MIN_MADDS):
        return False
    backward_n1(x, w, dvalues, dweights, dbiases, dinputs, True, dbiases, NO_REGULARIZATION)
    return True


@kernel
def dense_forward_rounded_dot(x, w, b, out):
    """``out = round(x @ w) + b`` with the product computed in ``x``'s dtype,
    rounded to ``out``'s, then the bias added in ``out``'s: the book's
    ``np.dot(inputs, weights) + biases`` after ``nnfs.init()``, whose
    ``np.dot`` computes in float64 and returns float32 (chapter 17's first
    layer: float64 ``X``, float32 parameters).  One input (K == 1) only, where
    the product is a single multiplication, exact in float64, so the result
    is the book's bit for bit; False, nothing written, for other shapes."""
    m, k = x.shape
    n = w.shape[1]
    if (k != 1 or w.shape[0] != 1 or b.shape[0] != 1 or b.shape[1] != n
            or out.shape != (m, n)):
        return False
    t = out.dtype.type
    wide = x.dtype.type
    w_wide = np.empty(n, x.dtype)
    for j in range(n):
        w_wide[j] = wide(w[0, j])
    for i in range(m):
        xi = x[i, 0]
        for j in range(n):
            out[i, j] = t(xi * w_wide[j]) + b[0, j]
    return True


@kernel(reductions=True)
def _backward_k1_wide_inputs(x, w, dvalues, dweights, dbiases, dinputs):
    """One input feature (K == 1) in ``x``'s (wider) dtype: ``dweights`` and
    ``dinputs`` summed in it and rounded once into their arrays, ``dbiases``
    summed in ``dvalues``' dtype row after row, as NumPy's ``np.sum(axis=0)``
    of a C array adds (the vectorized loop runs across the columns: each
    column's sum keeps that order)."""
    m = x.shape[0]
    n = w.shape[1]
    wide = x.dtype.type
    narrow = dbiases.dtype.type
    acc_w = np.empty(n, x.dtype)
    acc_b = np.empty(n, dvalues.dtype)
    w_wide = np.empty(n, x.dtype)
    for j in range(n):
        acc_w[j] = 0.0
        acc_b[j] = 0.0
        w_wide[j] = wide(w[0, j])
    # three loops over a row, each of which LLVM vectorizes (one loop doing
    # all three measured 16 us at 1000x64, float32 and float64 lanes mixed)
    for i in range(m):
        xi = x[i, 0]
        for j in range(n):
            acc_b[j] += dvalues[i, j]
        for j in range(n):
            acc_w[j] += xi * wide(dvalues[i, j])
        s = wide(0.0)
        for j in range(n):
            s += wide(dvalues[i, j]) * w_wide[j]
        dinputs[i, 0] = s
    for j in range(n):
        dweights[0, j] = acc_w[j]
        dbiases[0, j] = narrow(acc_b[j])


@kernel
def dense_backward_mixed(x, w, dvalues, dweights, dbiases, dinputs):
    """The dense backward for the float32/float64 mixes of chapter 17 after
    ``nnfs.init()``, each result as the book's expression gives it: products
    (``np.dot``, float64 there) summed in the wider of ``x`` and ``dvalues``
    and rounded once into ``dweights``/``dinputs`` (float32 there), the bias
    gradient ``np.sum(dvalues, axis=0)`` in ``dvalues``' dtype and NumPy's
    order.  Two shapes, below BLAS size:

    * one output (N == 1: the last layer, float32 inputs, float64 gradient):
      ``dense_backward_n1_narrow``'s products, the bias gradient NumPy's
      pairwise sum of the column;
    * one input (K == 1: the first layer, float64 ``X``, float32 gradient).

    False, nothing written, for any other shape, or if the operand the sums
    are taken in (``dvalues`` for N == 1, ``x`` for K == 1) is the narrower."""
    m, k = x.shape
    n = w.shape[1]
    if (w.shape[0] != k or dvalues.shape != (m, n) or dweights.shape != (k, n)
            or dbiases.shape != (1, n) or dinputs.shape != (m, k) or m * k * n >= BLAS_MIN_MADDS):
        return False
    if n == 1 and x.itemsize <= dvalues.itemsize:
        dw = np.empty((k, 1), dvalues.dtype)
        db = np.empty((1, 1), dvalues.dtype)
        dense_backward_n1_narrow(x, w, dvalues, dw, db, dinputs)
        for p in range(k):
            dweights[p, 0] = dw[p, 0]
        dbiases[0, 0] = pairwise_total(dvalues.reshape(-1))
        return True
    if k == 1 and x.itemsize >= dvalues.itemsize:
        _backward_k1_wide_inputs(x, w, dvalues, dweights, dbiases, dinputs)
        return True
    return False
