"""Mean squared and mean absolute error (the book's chapter 17), forward and backward.

The reference computes ``np.mean((y_true - y_pred)**2, axis=-1)`` and
``-2 * (y_true - dvalues) / outputs / samples`` (squared error), and
``np.mean(np.abs(y_true - y_pred), axis=-1)`` and
``np.sign(y_true - dvalues) / outputs / samples`` (absolute error).  These
kernels do the same operations in the same order, each operand converted to
the result's dtype first as NumPy does, so the gradients are the reference's
bit for bit and the losses are too for one output per sample (with several,
the row sum is taken left to right where NumPy may pair terms).

Targets may be of any real dtype (integers too): only their values are read.
The (linear) activation that precedes these losses needs no kernel: its
forward is the identity and its backward a copy.

Status codes: -1 done, -2 sizes do not fit (nothing written).
"""
from ._jit import kernel


@kernel
def mse_forward(y_pred, y_true, losses):
    """``losses[i] = mean_j (y_true - y_pred)[i, j]**2`` for ``y_pred`` (N, C), ``y_true``
    (N*C elements) and ``losses`` (N elements, any shape)."""
    if y_true.size != y_pred.size or losses.size != y_pred.shape[0]:
        return -2
    n, c = y_pred.shape
    t = losses.dtype.type
    pf = y_pred.reshape(-1)
    yf = y_true.reshape(-1)
    lf = losses.reshape(-1)
    if c == 1:  # the mean of one value is the value: one flat loop that vectorizes
        for i in range(n):
            d = t(yf[i]) - t(pf[i])
            lf[i] = d * d
        return -1
    outputs = t(c)
    for i in range(n):
        acc = t(0.0)
        for j in range(c):
            d = t(yf[i * c + j]) - t(pf[i * c + j])
            acc += d * d
        lf[i] = acc / outputs
    return -1


@kernel
def mse_backward(dvalues, y_true, dinputs):
    """``dinputs = -2 * (y_true - dvalues) / outputs / samples``."""
    if y_true.size != dvalues.size or dinputs.size != dvalues.size:
        return -2
    n, c = dvalues.shape
    t = dinputs.dtype.type
    minus_two = t(-2.0)
    outputs = t(c)
    samples = t(n)
    df = dvalues.reshape(-1)
    yf = y_true.reshape(-1)
    rf = dinputs.reshape(-1)
    for k in range(df.size):
        rf[k] = minus_two * (t(yf[k]) - t(df[k])) / outputs / samples
    return -1


@kernel
def mae_forward(y_pred, y_true, losses):
    """``losses[i] = mean_j |y_true - y_pred|[i, j]`` (shapes as ``mse_forward``)."""
    if y_true.size != y_pred.size or losses.size != y_pred.shape[0]:
        return -2
    n, c = y_pred.shape
    t = losses.dtype.type
    pf = y_pred.reshape(-1)
    yf = y_true.reshape(-1)
    lf = losses.reshape(-1)
    if c == 1:
        for i in range(n):
            lf[i] = abs(t(yf[i]) - t(pf[i]))
        return -1
    outputs = t(c)
    for i in range(n):
        acc = t(0.0)
        for j in range(c):
            acc += abs(t(yf[i * c + j]) - t(pf[i * c + j]))
        lf[i] = acc / outputs
    return -1


@kernel
def mae_backward(dvalues, y_true, dinputs):
    """``dinputs = sign(y_true - dvalues) / outputs / samples``."""
    if y_true.size != dvalues.size or dinputs.size != dvalues.size:
        return -2
    n, c = dvalues.shape
    t = dinputs.dtype.type
    one = t(1.0)
    zero = t(0.0)
    outputs = t(c)
    samples = t(n)
    df = dvalues.reshape(-1)
    yf = y_true.reshape(-1)
    rf = dinputs.reshape(-1)
    for k in range(df.size):
        d = t(yf[k]) - t(df[k])
        # np.sign, branch-free so the loop vectorizes: NaN stays NaN
        s = one if d > zero else (-one if d < zero else (zero if d == zero else d))
        rf[k] = s / outputs / samples
    return -1
