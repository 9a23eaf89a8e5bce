"""Categorical accuracy of a batch, as ``np.mean(np.argmax(predictions, axis=1) == y)``.

The compiled loop's categorical head (``network.head_accuracy``) scores its
predictions with this kernel.
"""
import numpy as np

from ._jit import kernel


@kernel
def _first_argmax_nan(row):
    """np.argmax of a row holding a NaN: the first NaN's index."""
    for j in range(row.shape[0]):
        if row[j] != row[j]:
            return j
    return 0


@kernel
def accuracy(predictions, labels):
    """Fraction of rows whose first maximal entry is at the label (np.argmax's choice).

    The row scan is branch-free (selects, not jumps: which column wins is
    unpredictable); a row holding a NaN, where np.argmax answers the first
    NaN, is redone on the slow path.  Three columns (the seed network) take a
    loop with no branch at all, which vectorizes across rows; NaN rows are only
    counted there, and if there are any the general loop redoes the lot."""
    n, c = predictions.shape
    if n == 0:
        return np.nan
    if c == 3:
        hits = 0
        nans = 0
        for i in range(n):
            a = predictions[i, 0]
            b = predictions[i, 1]
            d = predictions[i, 2]
            take = b > a
            best = 1 if take else 0
            top = b if take else a
            best = 2 if d > top else best
            nans += (a != a) | (b != b) | (d != d)
            hits += best == labels[i]
        if nans == 0:
            return hits / n
    hits = 0
    for i in range(n):
        best = 0
        top = predictions[i, 0]
        nan = top != top
        for j in range(1, c):
            v = predictions[i, j]
            take = v > top
            best = j if take else best
            top = v if take else top
            nan |= v != v
        if nan:
            best = _first_argmax_nan(predictions[i])
        hits += best == labels[i]
    return hits / n
