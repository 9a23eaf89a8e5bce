"""The elementwise losses' forward kernels followed by ``np.sum`` of the per-sample
losses, for ``Loss.calculate`` (one call instead of two: the data loss is that
sum over the count, as ``np.mean`` computes it, and chapter 19's running sum
adds the sum itself).

Each returns ``(status, total)``: the forward kernel's status (-1 done, -2
sizes do not fit, k >= 0 the flat index of a bad integer label, nothing
written) and, when done, ``reduction.pairwise_total`` of the losses (0.0
otherwise), as a float64 holding the sum in the losses' dtype.
"""
import numpy as np

from ._jit import kernel
from .binary import bce_forward, bce_forward_labels
from .reduction import pairwise_total
from .regression import mae_forward, mse_forward


@kernel
def _with_total(status, losses):
    if status != -1:
        return status, 0.0
    return status, np.float64(pairwise_total(losses.reshape(-1)))


@kernel
def bce_forward_total(y_pred, y_true, losses):
    return _with_total(bce_forward(y_pred, y_true, losses), losses)


@kernel
def bce_forward_labels_total(y_pred, labels, losses):
    return _with_total(bce_forward_labels(y_pred, labels, losses), losses)


@kernel
def bce_forward_labels_total_nd(y_pred, labels):
    """``bce_forward_labels_total`` for labels shaped like ``y_pred`` (the book's
    ``y.reshape(-1, 1)``), the per-sample losses in scratch memory of the
    kernel's own: ``Loss.calculate`` returns only their mean, and the
    caller's ``np.empty`` and two reshapes cost more than the allocation here."""
    losses = np.empty(y_pred.shape[0], y_pred.dtype)
    return _with_total(bce_forward_labels(y_pred, labels.reshape(-1), losses), losses)


@kernel
def mse_forward_total(y_pred, y_true, losses):
    return _with_total(mse_forward(y_pred, y_true, losses), losses)


@kernel
def mae_forward_total(y_pred, y_true, losses):
    return _with_total(mae_forward(y_pred, y_true, losses), losses)
