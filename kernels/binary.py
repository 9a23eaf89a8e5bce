"""Sigmoid and binary cross-entropy (the book's chapter 16), forward and backward.

Every kernel walks C-contiguous arrays as flat memory and follows the
reference's operations in the reference's order and dtypes, so that a
sequence of IEEE operations gives the same bits:

* the sigmoid is ``1 / (1 + exp(-x))``, its gradient
  ``dvalues * (1 - output) * output`` (``1 - output`` in the output's dtype,
  then the product in the result's);
* binary cross-entropy clips the predictions to ``[1e-7, 1 - 1e-7]`` in their
  own dtype (as ``np.clip`` does), takes both logarithms in that dtype, then
  ``-(y * log(p) + (1 - y) * log(1 - p))`` and the row mean in the result's
  dtype; the gradient is ``-(y / p - (1 - y) / (1 - p)) / outputs / samples``
  on the clipped ``p``.

``exp`` and ``log`` are ``vmath``'s vectorizable ones (within 1 ulp of NumPy's),
so these are the only places results may differ from the reference in the
last bit.  Labels come as floats (any value: soft targets) or as integers,
which must be 0 or 1: the kernels taking integer labels scan them first and
return the flat index of the first other value, having written nothing.  The
reference would compute ``1 - y`` on such a label and, for unsigned dtypes,
wrap around to 255; a class index other than 0 or 1 is an error here instead.

Status codes returned by the loss kernels: -1 done, -2 sizes do not fit
(nothing written), k >= 0 the flat index of a bad integer label.
"""
import numpy as np

from ._jit import kernel
from .losses import CLIP, _clip, first_bad_label
from .vmath import exp_for, log_for


# ------------------------------------------------------------------ sigmoid

@kernel(contract=True)
def sigmoid_forward(x, out):
    """``out = 1 / (1 + exp(-x))``; returns False, having written nothing, if the shapes differ."""
    if x.shape != out.shape:
        return False
    xf = x.reshape(-1)
    of = out.reshape(-1)
    t = out.dtype.type
    single = out.itemsize == 4
    one = t(1.0)
    for i in range(xf.size):
        # exp rounded to the output dtype first, as np.exp(-inputs) is
        e = t(exp_for(-np.float64(xf[i]), single))
        of[i] = one / (one + e)
    return True


@kernel
def sigmoid_backward(output, dvalues, dinputs):
    """``dinputs = dvalues * (1 - output) * output``.

    Returns False, having written nothing, if the shapes differ."""
    if dvalues.shape != output.shape or dinputs.shape != output.shape:
        return False
    of = output.reshape(-1)
    df = dvalues.reshape(-1)
    rf = dinputs.reshape(-1)
    t = dinputs.dtype.type
    one = output.dtype.type(1.0)  # `1 - self.output` is computed in the output's dtype
    for i in range(of.size):
        o = of[i]
        rf[i] = t(df[i]) * t(one - o) * t(o)
    return True


# ---------------------------------------------------- binary cross-entropy

@kernel(contract=True)
def _bce_losses(y_pred, yf, losses):
    """Per-sample losses of C-contiguous ``y_pred`` (N, C) against flat labels ``yf``."""
    n, c = y_pred.shape
    tp = y_pred.dtype.type
    t = losses.dtype.type
    ty = yf.dtype.type
    lo, hi = tp(CLIP), tp(1.0 - CLIP)
    one_p = tp(1.0)
    one_y = ty(1.0)
    single = y_pred.itemsize == 4
    pf = y_pred.reshape(-1)
    lf = losses.reshape(-1)
    if c == 1:
        # one output per sample (the book's case): one flat loop that vectorizes;
        # the mean over a single output is the value itself
        for i in range(n):
            p = _clip(pf[i], lo, hi)
            lp = tp(log_for(np.float64(p), single))
            lq = tp(log_for(np.float64(one_p - p), single))
            y = yf[i]
            lf[i] = -(t(y) * t(lp) + t(one_y - y) * t(lq))
        return
    outputs = t(c)
    for i in range(n):
        acc = t(0.0)
        for j in range(c):
            k = i * c + j
            p = _clip(pf[k], lo, hi)
            lp = tp(log_for(np.float64(p), single))
            lq = tp(log_for(np.float64(one_p - p), single))
            y = yf[k]
            acc += -(t(y) * t(lp) + t(one_y - y) * t(lq))
        lf[i] = acc / outputs


@kernel
def bce_forward(y_pred, y_true, losses):
    """Per-sample binary cross-entropy of ``y_pred`` (N, C) against float targets
    ``y_true`` (N*C elements, e.g. (N, C)) into ``losses`` (N elements, any shape)."""
    if y_true.size != y_pred.size or losses.size != y_pred.shape[0]:
        return -2
    _bce_losses(y_pred, y_true.reshape(-1), losses)
    return -1


@kernel
def bce_forward_labels(y_pred, labels, losses):
    """``bce_forward`` for integer labels (flat, N*C of them), each 0 or 1."""
    if labels.size != y_pred.size or losses.size != y_pred.shape[0]:
        return -2
    bad = first_bad_label(labels, 2)
    if bad >= 0:
        return bad
    _bce_losses(y_pred, labels, losses)
    return -1


@kernel
def _bce_gradient(dvalues, yf, dinputs):
    n, c = dvalues.shape
    td = dvalues.dtype.type
    t = dinputs.dtype.type
    ty = yf.dtype.type
    lo, hi = td(CLIP), td(1.0 - CLIP)
    one_d = td(1.0)
    one_y = ty(1.0)
    outputs = t(c)
    samples = t(n)
    df = dvalues.reshape(-1)
    rf = dinputs.reshape(-1)
    for k in range(df.size):
        p = _clip(df[k], lo, hi)
        y = yf[k]
        g = -(t(y) / t(p) - t(one_y - y) / t(one_d - p)) / outputs
        rf[k] = g / samples


@kernel
def bce_backward(dvalues, y_true, dinputs):
    """``dinputs = -(y / p - (1 - y) / (1 - p)) / outputs / samples`` with ``p`` the
    clipped ``dvalues`` (N, C) and float targets ``y_true`` (N*C elements)."""
    if y_true.size != dvalues.size or dinputs.size != dvalues.size:
        return -2
    _bce_gradient(dvalues, y_true.reshape(-1), dinputs)
    return -1


@kernel
def bce_backward_labels(dvalues, labels, dinputs):
    """``bce_backward`` for integer labels (flat, N*C of them), each 0 or 1."""
    if labels.size != dvalues.size or dinputs.size != dvalues.size:
        return -2
    bad = first_bad_label(labels, 2)
    if bad >= 0:
        return bad
    _bce_gradient(dvalues, labels, dinputs)
    return -1


@kernel
def bce_backward_labels_nd(dvalues, labels, dinputs):
    """``bce_backward_labels`` for labels shaped like ``dvalues`` (read flat here,
    where the view costs nothing)."""
    return bce_backward_labels(dvalues, labels.reshape(-1), dinputs)
