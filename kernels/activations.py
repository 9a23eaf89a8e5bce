"""ReLU and softmax, forward and backward.

Element-wise kernels walk the arrays as flat memory (callers pass C-contiguous
arrays), so the single loop is long and vectorizes.  Comparisons are written
so that NaN takes the same branch as in NumPy: ``np.maximum(0, nan)`` is nan,
and the reference's ``dinputs[inputs <= 0] = 0`` lets a NaN input pass its
gradient through.
"""
from ._jit import kernel

from .vmath import exp_inplace

@kernel
def relu_forward(x, out):
    """``out = max(0, x)``; returns False, having written nothing, if the shapes differ."""
    if x.shape != out.shape:
        return False
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.size):
        v = xf[i]
        of[i] = 0.0 if v <= 0.0 else v
    return True


@kernel
def relu_backward(x, dvalues, dinputs):
    """``dinputs = dvalues`` where ``x > 0`` (or NaN), else 0.

    Returns False, having written nothing, if the shapes differ."""
    if dvalues.shape != x.shape or dinputs.shape != x.shape:
        return False
    xf = x.reshape(-1)
    df = dvalues.reshape(-1)
    of = dinputs.reshape(-1)
    for i in range(xf.size):
        of[i] = 0.0 if xf[i] <= 0.0 else df[i]
    return True


@kernel
def shifted_exp(x, out):
    """``out = exp(x - max(x, axis=1))``, the exponentials in one vectorized pass."""
    for i in range(x.shape[0]):
        n = x.shape[1]
        if n == 0:
            continue
        top = x[i, 0]
        for j in range(1, n):
            v = x[i, j]
            # `v != v` keeps a NaN as the maximum, as np.max does.
            if v > top or v != v:
                top = v
        for j in range(n):
            out[i, j] = x[i, j] - top
    flat = out.reshape(-1)
    exp_inplace(flat)


@kernel
def normalize_row(out, i):
    """Divide row ``i`` by its sum; returns the sum."""
    total = out.dtype.type(0.0)
    for j in range(out.shape[1]):
        total += out[i, j]
    for j in range(out.shape[1]):
        out[i, j] = out[i, j] / total
    return total


@kernel
def softmax_forward(x, out):
    """Row-wise ``exp(x - max) / sum(exp(x - max))``."""
    shifted_exp(x, out)
    for i in range(x.shape[0]):
        normalize_row(out, i)


@kernel(reductions=True)
def softmax_backward(probs, dvalues, dinputs):
    """``dinputs = s * (d - sum(s * d, axis=1))``: the Jacobian product in closed form."""
    zero = dinputs.dtype.type(0.0)
    for i in range(probs.shape[0]):
        dot = zero
        for j in range(probs.shape[1]):
            dot += probs[i, j] * dvalues[i, j]
        for j in range(probs.shape[1]):
            dinputs[i, j] = probs[i, j] * (dvalues[i, j] - dot)
