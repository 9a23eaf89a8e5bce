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
def softmax_row(x, out, i):
    """Softmax of row ``i`` of ``x`` into row ``i`` of ``out``.

    Rows are indexed in 2-D rather than taken as views: a view per row costs
    a reference-count round trip, which dominated this kernel when measured.
    """
    n = x.shape[1]
    if n == 0:
        return
    top = x[i, 0]
    for j in range(1, n):
        v = x[i, j]
        # `v != v` keeps a NaN as the maximum, as np.max does.
        if v > top or v != v:
            top = v
    total = out.dtype.type(0.0)
    for j in range(n):
        e = exp(x[i, j] - top)
        out[i, j] = e
        total += e
    for j in range(n):
        out[i, j] = out[i, j] / total


@njit(cache=True)
def softmax_forward(x, out):
    """Row-wise ``exp(x - max) / sum(exp(x - max))``."""
    for i in range(x.shape[0]):
        softmax_row(x, out, i)


@njit(cache=True, fastmath=FASTMATH)
def softmax_backward(probs, dvalues, dinputs):
    """``dinputs = s * (d - sum(s * d, axis=1))``: the Jacobian product in closed form."""
    zero = dinputs.dtype.type(0.0)
    for i in range(probs.shape[0]):
        dot = zero
        for j in range(probs.shape[1]):
            dot += probs[i, j] * dvalues[i, j]
        for j in range(probs.shape[1]):
            dinputs[i, j] = probs[i, j] * (dvalues[i, j] - dot)
