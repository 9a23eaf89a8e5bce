"""ReLU and softmax, forward and backward.

Element-wise kernels walk the arrays as flat memory (callers pass C-contiguous
arrays), so the single loop is long and vectorizes.  Comparisons are written
so that NaN takes the same branch as in NumPy: ``np.maximum(0, nan)`` is nan,
and the reference's ``dinputs[inputs <= 0] = 0`` lets a NaN input pass its
gradient through.
"""
from math import exp

from numba import njit

FASTMATH = {"reassoc", "contract", "nsz"}


@njit(cache=True)
def relu_forward(x, out):
    """``out = max(0, x)``."""
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        of[i] = 0.0 if v <= 0.0 else v


@njit(cache=True)
def relu_backward(x, dvalues, dinputs):
    """``dinputs = dvalues`` where ``x > 0`` (or NaN), else 0."""
    xf = x.reshape(-1)
    df = dvalues.reshape(-1)
    of = dinputs.reshape(-1)
    for i in range(xf.size):
        of[i] = 0.0 if xf[i] <= 0.0 else df[i]


@njit(cache=True)
def _softmax_row(row, out_row):
    """Softmax of one row; returns nothing, writes out_row."""
    n = row.size
    if n == 0:
        return
    top = row[0]
    for j in range(1, n):
        v = row[j]
        # `v != v` keeps a NaN as the maximum, as np.max does.
        if v > top or v != v:
            top = v
    total = out_row.dtype.type(0.0)
    for j in range(n):
        e = exp(row[j] - top)
        out_row[j] = e
        total += e
    for j in range(n):
        out_row[j] = out_row[j] / total


@njit(cache=True)
def softmax_forward(x, out):
    """Row-wise ``exp(x - max) / sum(exp(x - max))``."""
    for i in range(x.shape[0]):
        _softmax_row(x[i], out[i])


@njit(cache=True, fastmath=FASTMATH)
def softmax_backward(probs, dvalues, dinputs):
    """``dinputs = s * (d - sum(s * d, axis=1))``: the Jacobian product in closed form."""
    for i in range(probs.shape[0]):
        s = probs[i]
        d = dvalues[i]
        o = dinputs[i]
        dot = o.dtype.type(0.0)
        for j in range(s.size):
            dot += s[j] * d[j]
        for j in range(s.size):
            o[j] = s[j] * (d[j] - dot)
