"""Losses that compare predictions with targets of the same shape, element by element:
binary cross-entropy (the book's chapter 16), mean squared and mean absolute
error (chapter 17).

The targets have the predictions' shape: ``(N, 1)`` for one output per
sample, as the book's ``y.reshape(-1, 1)`` gives them.  Any other shape is an
error here (the book's NumPy code would broadcast ``(N,)`` against ``(N, 1)``
to an ``(N, N)`` loss without a word).
"""
import math

import numpy as np

from ._arrays import (F32, F64, LabelError, as_array, compute_dtype, kernel_array, require_2d,
                      result_dtype)
from .kernels import binary as _binary
from .kernels import regression as _regression
from .kernels import sealed
from .losses import Loss

__all__ = ["Loss_BinaryCrossentropy", "Loss_MeanSquaredError", "Loss_MeanAbsoluteError"]

_U8 = np.dtype(np.uint8)
_I64 = np.dtype(np.int64)


class _ElementwiseLoss(Loss):
    """Forward and backward of a loss over targets shaped like the predictions.

    Fast path: one sealed kernel call (2-D C arrays; targets of the
    predictions' dtype, or for ``_LABELS`` losses uint8/int64 labels whose
    promotion keeps the predictions' dtype, passed flat).  Anything else takes ``_general``, which validates,
    converts as NumPy's promotion would, and calls the unsealed kernel.
    Subclasses name their kernels (``kernels.sealed`` names = the public
    kernels' names) and give the result dtype of the book's expression.
    """

    _WHAT = ""
    _FORWARD = _BACKWARD = ""
    _LABELS = False  # kernels named <name>_labels take flat integer labels
    # kernels named <name>_wide take float32 values and float64 targets into
    # float64 results (chapter 17 after nnfs.init(): sine_data's targets are
    # float64), the dtype NumPy's promotion gives the book's expressions
    _WIDE_TARGETS = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the names of the label kernels of the fast paths, built once per class
        # (the lookup and concatenation on each call measured ~0.2 us)
        cls._CALCULATE_LABELS_ND = cls._FORWARD + "_labels_total_nd"
        cls._BACKWARD_LABELS_ND = cls._BACKWARD + "_labels_nd"

    def forward(self, y_pred, y_true):
        if type(y_pred) is np.ndarray and type(y_true) is np.ndarray \
                and y_true.shape == y_pred.shape:
            dt = y_pred.dtype
            yt = y_true.dtype
            wide = self._WIDE_TARGETS and yt is F64 and dt is F32
            try:
                losses = np.empty(y_pred.shape[0], yt if wide else dt)
                # the sealed kernels take 2-D arrays only: a (1, N) view of the losses
                if wide:
                    status = getattr(sealed, self._FORWARD + "_wide")(
                        y_pred, y_true, losses.reshape(1, -1))
                elif yt is dt:
                    status = getattr(sealed, self._FORWARD)(
                        y_pred, y_true, losses.reshape(1, -1))
                elif self._LABELS and (yt is _U8 or (yt is _I64 and dt is F64)):
                    status = getattr(sealed, self._FORWARD + "_labels")(
                        y_pred, y_true.reshape(-1), losses.reshape(1, -1))
                else:
                    status = -2
            except (TypeError, IndexError):  # not 2-D float32/float64 C arrays
                status = -2
            if status == -1:
                return losses
            if status >= 0:
                raise self._label_error(y_true, status)
        p, y, dt, kernel = self._general(y_pred, y_true, "predictions", self._FORWARD)
        losses = np.empty(p.shape[0], compute_dtype(dt))
        self._run(kernel, p, y, losses, y_true)
        return losses.astype(dt, copy=False)

    def calculate(self, output, y, *, include_regularization=False):
        # Fast path: the losses and their sum in one sealed call (a subclass
        # with a forward of its own takes Loss.calculate, which calls it)
        if type(output) is np.ndarray and type(y) is np.ndarray and y.shape == output.shape \
                and type(self).forward is _ElementwiseLoss.forward:
            dt = output.dtype
            yt = y.dtype
            wide = self._WIDE_TARGETS and yt is F64 and dt is F32
            if wide:  # the losses (and np.mean's result) are float64, as NumPy's
                dt = yt
            try:  # as in forward
                if wide:
                    losses = np.empty(output.shape[0], dt)
                    status, total = getattr(sealed, self._FORWARD + "_total_wide")(
                        output, y, losses.reshape(1, -1))
                elif yt is dt:
                    losses = np.empty(output.shape[0], dt)
                    status, total = getattr(sealed, self._FORWARD + "_total")(
                        output, y, losses.reshape(1, -1))
                elif self._LABELS and (yt is _U8 or (yt is _I64 and dt is F64)):
                    # labels shaped as the predictions, read as they are; the
                    # per-sample losses stay in the kernel's scratch memory
                    status, total = getattr(sealed, self._CALCULATE_LABELS_ND)(output, y)
                else:
                    status = -2
            except (TypeError, IndexError):
                status = -2
            if status >= 0:
                raise self._label_error(y, status)
            n = output.shape[0] if status == -1 else 0
            # (empty or non-finite: Loss.calculate, whose NumPy calls warn as the book's)
            if n and math.isfinite(total):
                # np.mean's value and type: the sum over the count in float64,
                # rounded to the losses' dtype; np.sum's: the sum in it
                t = dt.type
                data_loss = t(total / n)
                self.accumulated_sum = getattr(self, "accumulated_sum", 0) + t(total)
                self.accumulated_count = getattr(self, "accumulated_count", 0) + n
                if not include_regularization:
                    return data_loss
                return data_loss, self.regularization_loss()
        return Loss.calculate(self, output, y, include_regularization=include_regularization)

    def backward(self, dvalues, y_true):
        if type(dvalues) is np.ndarray and type(y_true) is np.ndarray \
                and y_true.shape == dvalues.shape:
            dt = dvalues.dtype
            yt = y_true.dtype
            wide = self._WIDE_TARGETS and yt is F64 and dt is F32
            try:  # as in forward
                dinputs = np.empty(dvalues.shape, yt if wide else dt)
                if wide:
                    status = getattr(sealed, self._BACKWARD + "_wide")(dvalues, y_true, dinputs)
                elif yt is dt:
                    status = getattr(sealed, self._BACKWARD)(dvalues, y_true, dinputs)
                elif self._LABELS and (yt is _U8 or (yt is _I64 and dt is F64)):
                    status = getattr(sealed, self._BACKWARD_LABELS_ND)(dvalues, y_true, dinputs)
                else:
                    status = -2
            except TypeError:
                status = -2
            if status == -1:
                self.dinputs = dinputs
                return
            if status >= 0:
                raise self._label_error(y_true, status)
        d, y, dt, kernel = self._general(dvalues, y_true, "dvalues", self._BACKWARD)
        dinputs = np.empty(d.shape, compute_dtype(dt))
        self._run(kernel, d, y, dinputs, y_true)
        self.dinputs = dinputs.astype(dt, copy=False)

    def _general(self, values, y_true, what, name):
        """(values, targets, result dtype, kernel) ready for an unsealed kernel call."""
        v = as_array(values, what)
        require_2d(v, what)
        y = as_array(y_true, "y_true")
        if y.shape != v.shape:
            hint = (" (one output per sample: reshape the targets with y.reshape(-1, 1), "
                    "as the book does)" if y.ndim == 1 and v.shape == (y.size, 1) else "")
            raise ValueError(f"{self._WHAT}: y_true has shape {y.shape} but the {what} have "
                             f"shape {v.shape}; it compares them element by element, so the "
                             f"shapes must be equal{hint}")
        v, y, dt = self._operands(v, y)
        labels = y.dtype.kind in "iu"
        kernel = getattr(self._KERNELS, name + "_labels" if labels else name)
        return v, y, dt, kernel

    def _run(self, kernel, v, y, out, y_true):
        status = kernel(v, y, out)
        if status >= 0:
            raise self._label_error(y_true, status)
        if status != -1:  # cannot happen after _general's checks; never return garbage
            raise RuntimeError(f"{self._WHAT}: kernel refused shapes {v.shape}, {y.shape}, "
                               f"{out.shape}")

    def _label_error(self, y_true, flat_index):
        y = np.asarray(y_true)
        where = np.unravel_index(flat_index, y.shape)
        return LabelError(f"{self._WHAT}: y_true holds {y[where]!r} at index "
                          f"{tuple(int(i) for i in where)} (shape {y.shape}); integer "
                          "labels must be 0 or 1 (float targets may be any value)")


def _own_float(a):
    """``a`` as a C float array of its own dtype (float16 computed in float32)."""
    dt = a.dtype
    if (dt is F64 or dt is F32) and a.flags.c_contiguous:
        return a
    return kernel_array(a, compute_dtype(result_dtype("targets", a)))


class Loss_BinaryCrossentropy(_ElementwiseLoss):
    """``-(y log p + (1 - y) log(1 - p))``, averaged over outputs, ``p`` clipped to
    [1e-7, 1 - 1e-7]; labels shaped like the predictions (the book's ``y.reshape(-1, 1)``).

    Integer labels must be 0 or 1 (a ``LabelError`` otherwise: the book would
    compute on the value, or wrap ``1 - y`` around for unsigned dtypes).
    """

    _WHAT = "binary cross-entropy"
    _FORWARD = "bce_forward"
    _BACKWARD = "bce_backward"
    _LABELS = True
    _KERNELS = _binary

    def _operands(self, v, y):
        # predictions are clipped (np.clip) in their own dtype; integers become float64
        pt = result_dtype(self._WHAT, v)
        v = kernel_array(v, compute_dtype(pt))
        if y.dtype.kind == "b":  # the book's `1 - y_true` raises for booleans
            raise TypeError(f"{self._WHAT}: y_true has dtype bool; pass integer (0/1) or "
                            f"float targets, e.g. y.astype(np.uint8)")
        dt = result_dtype(self._WHAT, np.empty(0, pt), y)
        if y.dtype.kind in "iu":  # validated 0/1 by the kernel: their values fit any dtype
            return v, kernel_array(y, _I64).reshape(-1), dt
        # `1 - y_true` is rounded in the targets' own dtype, so they keep it
        return v, _own_float(y), dt


class Loss_MeanSquaredError(_ElementwiseLoss):
    """``mean((y_true - y_pred)**2)`` over outputs; targets shaped like the predictions."""

    _WHAT = "mean squared error"
    _FORWARD = "mse_forward"
    _BACKWARD = "mse_backward"
    _KERNELS = _regression
    _WIDE_TARGETS = True

    def _operands(self, v, y):
        dt = result_dtype(self._WHAT, v, y)
        ct = compute_dtype(dt)
        # each operand is converted to the result dtype before the subtraction, as
        # NumPy does; float32/float64 arrays are converted by the kernel as it reads
        return _own_float(v) if v.dtype.kind == "f" else kernel_array(v, ct), \
            _own_float(y) if y.dtype.kind == "f" else kernel_array(y, ct), dt


class Loss_MeanAbsoluteError(Loss_MeanSquaredError):
    """``mean(|y_true - y_pred|)`` over outputs; backward ``sign(y_true - y_pred) / N``."""

    _WHAT = "mean absolute error"
    _FORWARD = "mae_forward"
    _BACKWARD = "mae_backward"
