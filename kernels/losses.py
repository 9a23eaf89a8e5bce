"""Categorical cross-entropy, alone and fused with softmax.

Labels come in two forms, as in the reference: integer class indices of shape
(N,) ("sparse") or one-hot / soft rows of shape (N, C) ("dense").  An index
out of range would read outside the array, so every sparse kernel first scans
the labels and, if one is outside [0, C), returns its position without
writing anything (-1 means all labels are valid).
"""
from math import log

import numpy as np
from ._jit import kernel

from .activations import normalize_row, shifted_exp

CLIP = 1e-7


@kernel(inline="always")
def _clip(p, lo, hi):
    # written so that NaN passes through, as np.clip does
    if p < lo:
        return lo
    if p > hi:
        return hi
    return p


@kernel
def first_bad_label(labels, n_classes):
    """Index of the first label outside [0, n_classes), or -1."""
    for i in range(labels.size):
        if labels[i] < 0 or labels[i] >= n_classes:
            return i
    return -1


@kernel
def cce_sparse_forward(y_pred, labels, losses):
    """``losses[i] = -log(clip(y_pred[i, labels[i]]))``; returns -1 or a bad label's index."""
    bad = first_bad_label(labels, y_pred.shape[1])
    if bad >= 0:
        return bad
    t = y_pred.dtype.type
    lo, hi = t(CLIP), t(1.0 - CLIP)
    for i in range(y_pred.shape[0]):
        losses[i] = -log(_clip(y_pred[i, labels[i]], lo, hi))
    return -1


@kernel
def cce_dense_forward(y_pred, y_true, losses):
    """``losses[i] = -log(sum_j clip(y_pred[i, j]) * y_true[i, j])``."""
    t = y_pred.dtype.type
    lo, hi = t(CLIP), t(1.0 - CLIP)
    for i in range(y_pred.shape[0]):
        acc = t(0.0)
        for j in range(y_pred.shape[1]):
            acc += _clip(y_pred[i, j], lo, hi) * y_true[i, j]
        losses[i] = -log(acc)


@kernel
def cce_sparse_backward(dvalues, labels, dinputs):
    """``dinputs = -onehot(labels) / dvalues / N`` (unclipped, as the reference)."""
    bad = first_bad_label(labels, dvalues.shape[1])
    if bad >= 0:
        return bad
    n = dvalues.shape[0]
    t = dinputs.dtype.type
    samples = t(n)
    for i in range(n):
        label = labels[i]
        for j in range(dvalues.shape[1]):
            target = t(1.0) if j == label else t(0.0)
            dinputs[i, j] = -target / dvalues[i, j] / samples
    return -1


@kernel
def cce_dense_backward(dvalues, y_true, dinputs):
    """``dinputs = -y_true / dvalues / N``."""
    n = dvalues.shape[0]
    samples = dinputs.dtype.type(n)
    for i in range(n):
        for j in range(dvalues.shape[1]):
            dinputs[i, j] = -y_true[i, j] / dvalues[i, j] / samples


@kernel
def softmax_cce_sparse_forward(x, labels, probs):
    """Softmax of ``x`` into ``probs``; returns (mean cross-entropy, -1 or a bad label's index)."""
    bad = first_bad_label(labels, x.shape[1])
    if bad >= 0:
        return 0.0, bad
    t = x.dtype.type
    lo, hi = t(CLIP), t(1.0 - CLIP)
    n = x.shape[0]
    total = 0.0
    shifted_exp(x, probs)
    for i in range(n):
        normalize_row(probs, i)
        total += -log(_clip(probs[i, labels[i]], lo, hi))
    if n == 0:
        return np.nan, -1  # the mean of no samples, as np.mean gives
    return total / n, -1


@kernel
def softmax_cce_sparse_backward(dvalues, labels, dinputs):
    """``dinputs = (dvalues - onehot(labels)) / N``; returns -1 or a bad label's index."""
    bad = first_bad_label(labels, dvalues.shape[1])
    if bad >= 0:
        return bad
    n = dvalues.shape[0]
    t = dinputs.dtype.type
    samples = t(n)
    one = t(1.0)  # subtract in the array dtype, as the reference's `-= 1` does
    for i in range(n):
        for j in range(dvalues.shape[1]):
            dinputs[i, j] = dvalues[i, j] / samples
        label = labels[i]
        dinputs[i, label] = (dvalues[i, label] - one) / samples
    return -1
