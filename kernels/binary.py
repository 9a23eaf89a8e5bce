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

@kernel(contract=True, inline="always")
def _bce_term(p, y, y_pred, yf, losses, binary):
    """``-(y * log(p) + (1 - y) * log(1 - p))`` on the clipped ``p``: the
    logarithms in ``y_pred``'s dtype, the rest in ``losses``'.

    ``binary``: ``y`` is a validated 0/1 label, and the book's expression is
    exactly ``-log(p)`` (y = 1) or ``-log(1 - p)`` (y = 0) -- the other term
    is a zero times a finite logarithm (``p`` is clipped), a signed zero that
    leaves the sum as it is -- so one logarithm is taken instead of two."""
    tp = y_pred.dtype.type
    t = losses.dtype.type
    single = y_pred.itemsize == 4
    one_p = tp(1.0)
    p = _clip(p, tp(CLIP), tp(1.0 - CLIP))
    if binary:
        q = p if y != 0 else one_p - p
        return -t(tp(log_for(np.float64(q), single)))
    lp = tp(log_for(np.float64(p), single))
    lq = tp(log_for(np.float64(one_p - p), single))
    one_y = yf.dtype.type(1.0)
    return -(t(y) * t(lp) + t(one_y - y) * t(lq))


@kernel(contract=True)
def _bce_losses(y_pred, yf, losses, binary):
    """Per-sample losses of C-contiguous ``y_pred`` (N, C) against flat labels ``yf``
    (``binary``: integer labels, validated 0/1)."""
    n, c = y_pred.shape
    t = losses.dtype.type
    pf = y_pred.reshape(-1)
    lf = losses.reshape(-1)
    if c == 1:
        # one output per sample (the book's case): one flat loop that vectorizes;
        # the mean over a single output is the value itself (the branch outside
        # the loops, so that each vectorizes)
        if binary:
            for i in range(n):
                lf[i] = _bce_term(pf[i], yf[i], y_pred, yf, losses, True)
        else:
            for i in range(n):
                lf[i] = _bce_term(pf[i], yf[i], y_pred, yf, losses, False)
        return
    outputs = t(c)
    for i in range(n):
        acc = t(0.0)
        for j in range(c):
            k = i * c + j
            acc += _bce_term(pf[k], yf[k], y_pred, yf, losses, binary)
        lf[i] = acc / outputs


@kernel
def bce_forward(y_pred, y_true, losses):
    """Per-sample binary cross-entropy of ``y_pred`` (N, C) against float targets
    ``y_true`` (N*C elements, e.g. (N, C)) into ``losses`` (N elements, any shape)."""
    if y_true.size != y_pred.size or losses.size != y_pred.shape[0]:
        return -2
    _bce_losses(y_pred, y_true.reshape(-1), losses, False)
    return -1


@kernel
def bce_forward_labels(y_pred, labels, losses):
    """``bce_forward`` for integer labels (flat, N*C of them), each 0 or 1."""
    if labels.size != y_pred.size or losses.size != y_pred.shape[0]:
        return -2
    bad = first_bad_label(labels, 2)
    if bad >= 0:
        return bad
    _bce_losses(y_pred, labels, losses, True)
    return -1


@kernel(inline="always")
def _bce_grad_term(p, y, dvalues, yf, dinputs, binary):
    """``-(y / p - (1 - y) / (1 - p))`` on the clipped ``p`` (``1 - p`` in
    ``dvalues``' dtype, the rest in ``dinputs``'); for a validated 0/1 label
    (``binary``) exactly ``-(1 / p)`` or ``1 / (1 - p)``: the other quotient
    is a zero over a positive number, so one division instead of two."""
    td = dvalues.dtype.type
    t = dinputs.dtype.type
    p = _clip(p, td(CLIP), td(1.0 - CLIP))
    if binary:
        if y != 0:
            return -(t(1.0) / t(p))
        return t(1.0) / t(td(1.0) - p)
    one_y = yf.dtype.type(1.0)
    return -(t(y) / t(p) - t(one_y - y) / t(td(1.0) - p))


@kernel
def _bce_gradient(dvalues, yf, dinputs, binary):
    n, c = dvalues.shape
    t = dinputs.dtype.type
    outputs = t(c)
    samples = t(n)
    df = dvalues.reshape(-1)
    rf = dinputs.reshape(-1)
    # the branches outside the loops, so that each loop vectorizes; dividing
    # by one output is the identity, and is skipped
    if c == 1:
        if binary:
            for k in range(df.size):
                rf[k] = _bce_grad_term(df[k], yf[k], dvalues, yf, dinputs, True) / samples
        else:
            for k in range(df.size):
                rf[k] = _bce_grad_term(df[k], yf[k], dvalues, yf, dinputs, False) / samples
        return
    for k in range(df.size):
        g = _bce_grad_term(df[k], yf[k], dvalues, yf, dinputs, binary) / outputs
        rf[k] = g / samples


@kernel
def bce_backward(dvalues, y_true, dinputs):
    """``dinputs = -(y / p - (1 - y) / (1 - p)) / outputs / samples`` with ``p`` the
    clipped ``dvalues`` (N, C) and float targets ``y_true`` (N*C elements)."""
    if y_true.size != dvalues.size or dinputs.size != dvalues.size:
        return -2
    _bce_gradient(dvalues, y_true.reshape(-1), dinputs, False)
    return -1


@kernel
def bce_backward_labels(dvalues, labels, dinputs):
    """``bce_backward`` for integer labels (flat, N*C of them), each 0 or 1."""
    if labels.size != dvalues.size or dinputs.size != dvalues.size:
        return -2
    bad = first_bad_label(labels, 2)
    if bad >= 0:
        return bad
    _bce_gradient(dvalues, labels, dinputs, True)
    return -1


@kernel
def bce_backward_labels_nd(dvalues, labels, dinputs):
    """``bce_backward_labels`` for labels shaped like ``dvalues`` (read flat here,
    where the view costs nothing)."""
    return bce_backward_labels(dvalues, labels.reshape(-1), dinputs)
