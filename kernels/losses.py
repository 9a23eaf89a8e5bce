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

from .vmath import exp_for, log_for

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
def _first_bad_label_scan(labels, n_classes):
    for i in range(labels.size):
        if labels[i] < 0 or labels[i] >= n_classes:
            return i
    return -1


@kernel
def first_bad_label(labels, n_classes):
    """Index of the first label outside [0, n_classes), or -1."""
    # a branch-free count vectorizes (the early-exit scan cannot); scan only when one is bad
    nbad = 0
    for i in range(labels.size):
        v = labels[i]
        nbad += (v < 0) | (v >= n_classes)
    if nbad == 0:
        return -1
    return _first_bad_label_scan(labels, n_classes)


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


@kernel(reductions=True)
def _sum(values):
    total = 0.0
    for i in range(values.shape[0]):
        total += values[i]
    return total


@kernel(contract=True)
def _softmax_cce_rows(x, labels, probs, losses):
    """Any number of classes: row max and shift, one flat exp pass, row sums, then the losses."""
    n, c = x.shape
    t = x.dtype.type
    lo, hi = t(CLIP), t(1.0 - CLIP)
    for i in range(n):
        top = x[i, 0]
        for j in range(1, c):
            v = x[i, j]
            # `v != v` keeps a NaN as the maximum, as np.max does.
            top = v if (v > top or v != v) else top
        for j in range(c):
            probs[i, j] = x[i, j] - top
    pf = probs.reshape(-1)
    single = probs.itemsize == 4
    for k in range(pf.size):
        pf[k] = t(exp_for(np.float64(pf[k]), single))
    for i in range(n):
        total = t(0.0)
        for j in range(c):
            total += probs[i, j]
        for j in range(c):
            probs[i, j] = probs[i, j] / total
    for i in range(n):  # the gather stays scalar so that the log loop below vectorizes
        losses[i] = np.float64(_clip(probs[i, labels[i]], lo, hi))
    for i in range(n):
        losses[i] = -np.float64(t(log_for(losses[i], single)))


@kernel(contract=True)
def _softmax_cce_rows3(x, labels, probs, losses):
    """Three classes: each row's softmax and loss in one loop over flat memory, so that
    the stride-3 loads vectorize across rows (2-D indexing has a run-time stride)."""
    t = x.dtype.type
    lo, hi = t(CLIP), t(1.0 - CLIP)
    xf = x.reshape(-1)
    pf = probs.reshape(-1)
    single = probs.itemsize == 4
    for i in range(x.shape[0]):
        a = xf[3 * i]
        b = xf[3 * i + 1]
        d = xf[3 * i + 2]
        top = a
        top = b if (b > top or b != b) else top
        top = d if (d > top or d != d) else top
        ea = t(exp_for(np.float64(a - top), single))
        eb = t(exp_for(np.float64(b - top), single))
        ed = t(exp_for(np.float64(d - top), single))
        total = ea + eb + ed
        pa = ea / total
        pb = eb / total
        pd = ed / total
        pf[3 * i] = pa
        pf[3 * i + 1] = pb
        pf[3 * i + 2] = pd
        label = labels[i]
        p = pa if label == 0 else (pb if label == 1 else pd)
        losses[i] = -np.float64(t(log_for(np.float64(_clip(p, lo, hi)), single)))


@kernel
def softmax_cce_sparse_forward(x, labels, probs):
    """Softmax of ``x`` into ``probs``; returns (mean cross-entropy, -1 or a bad label's index).

    Returns (nan, -2), having written nothing, if the shapes do not fit."""
    if labels.shape[0] != x.shape[0] or probs.shape != x.shape:
        return np.nan, -2
    bad = first_bad_label(labels, x.shape[1])
    if bad >= 0:
        return 0.0, bad
    n = x.shape[0]
    if n == 0:
        return np.nan, -1  # the mean of no samples, as np.mean gives
    losses = np.empty(n, np.float64)
    if x.shape[1] == 3:
        _softmax_cce_rows3(x, labels, probs, losses)
    else:
        _softmax_cce_rows(x, labels, probs, losses)
    return _sum(losses) / n, -1


@kernel
def softmax_cce_sparse_backward(dvalues, labels, dinputs):
    """``dinputs = (dvalues - onehot(labels)) / N``; returns -1 or a bad label's index.

    Returns -2, having written nothing, if the shapes do not fit."""
    if labels.shape[0] != dvalues.shape[0] or dinputs.shape != dvalues.shape:
        return -2
    bad = first_bad_label(labels, dvalues.shape[1])
    if bad >= 0:
        return bad
    n, c = dvalues.shape
    t = dinputs.dtype.type
    samples = t(n)
    one = t(1.0)  # subtract in the array dtype, as the reference's `-= 1` does
    # one flat pass vectorizes (rows of 3 do not), then the N label entries are redone
    df = dvalues.reshape(-1)
    of = dinputs.reshape(-1)
    for k in range(df.size):
        of[k] = df[k] / samples
    for i in range(n):
        k = i * c + labels[i]
        of[k] = (df[k] - one) / samples
    return -1
