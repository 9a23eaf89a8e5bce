"""Categorical cross-entropy, alone and fused with softmax, in both spellings."""
import numpy as np

from ._arrays import (F32, F64, as_array, check_labels, compute_dtype, kernel_array,
                      label_error, require_2d, result_dtype)
from .activations import Activation_Softmax
from .kernels import sealed
from .kernels.losses import (cce_dense_backward, cce_dense_forward, cce_sparse_backward,
                             cce_sparse_forward, softmax_cce_sparse_backward,
                             softmax_cce_sparse_forward)


class Loss:
    """Base class: ``calculate`` is the mean of ``forward``'s per-sample losses."""

    def calculate(self, output, y):
        sample_losses = self.forward(output, y)
        return np.mean(sample_losses)


def _predictions(y_pred, what):
    p = y_pred if type(y_pred) is np.ndarray else as_array(y_pred, what)
    require_2d(p, what)
    return p


class Loss_CategoricalCrossentropy(Loss):
    """``-log(p_correct)`` per sample, predictions clipped to [1e-7, 1 - 1e-7]."""

    def forward(self, y_pred, y_true):
        p = _predictions(y_pred, "predictions")
        n, c = p.shape
        y = check_labels(y_true, n, c, "y_true")
        if y.ndim == 1:
            dt = result_dtype("cross-entropy", p)
            ct = compute_dtype(dt)
            losses = np.empty(n, ct)
            bad = cce_sparse_forward(kernel_array(p, ct), y, losses)
            if bad >= 0:
                raise label_error(y, bad, c, "y_true")
        else:
            dt = result_dtype("cross-entropy", p, y)
            ct = compute_dtype(dt)
            losses = np.empty(n, ct)
            # clip in the predictions' own dtype, as np.clip does, then promote
            pk = kernel_array(p, compute_dtype(result_dtype("cross-entropy", p)))
            cce_dense_forward(pk, kernel_array(y, ct), losses)
        return losses.astype(dt, copy=False)

    def backward(self, dvalues, y_true):
        d = _predictions(dvalues, "dvalues")
        n, c = d.shape
        y = check_labels(y_true, n, c, "y_true")
        if y.ndim == 1:
            # the reference builds the one-hot rows with np.eye, float64
            # (float32 after nnfs.init()), and promotes with dvalues
            dt = result_dtype("cross-entropy backward", d, np.eye(0))
            ct = compute_dtype(dt)
            dinputs = np.empty(d.shape, ct)
            bad = cce_sparse_backward(kernel_array(d, ct), y, dinputs)
            if bad >= 0:
                raise label_error(y, bad, c, "y_true")
        else:
            dt = result_dtype("cross-entropy backward", d, y)
            ct = compute_dtype(dt)
            dinputs = np.empty(d.shape, ct)
            cce_dense_backward(kernel_array(d, ct), kernel_array(y, ct), dinputs)
        self.dinputs = dinputs.astype(dt, copy=False)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    """Softmax followed by cross-entropy, with the combined (cheaper) backward."""

    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true, training=False):
        # (``training``, which the book's chapters 18-22 pass to every forward, is ignored)
        if type(inputs) is np.ndarray:
            # Fast path: the sealed kernel's dispatcher checks dtypes and layouts,
            # the kernel shapes and labels.
            loss = self._fused_forward(sealed.softmax_cce_sparse_forward, inputs, y_true)
            if loss is not None:
                return loss
        x = as_array(inputs, "inputs")
        y = y_true
        dt = x.dtype
        if ((dt is F64 or dt is F32) and x.ndim == 2 and x.flags.c_contiguous
                and type(y) is np.ndarray and y.ndim == 1 and y.shape[0] == x.shape[0]
                and y.dtype.kind in "iu" and y.flags.c_contiguous):
            # other label dtypes, read-only arrays: the unsealed kernel compiles for them
            loss = self._fused_forward(softmax_cce_sparse_forward, x, y)
            if loss is not None:
                return loss
        # one-hot labels, other dtypes or layouts: the two steps, as the reference
        require_2d(x, "inputs")
        check_labels(y, x.shape[0], x.shape[1], "y_true")
        self.activation.forward(x)
        probs = self.activation.output
        loss = self.loss.calculate(probs, y)
        self.output = probs
        return loss

    def _fused_forward(self, kernel, x, y):
        """Softmax and mean loss in one call of ``kernel``; None if it refuses the
        arguments (TypeError from a sealed dispatcher, or shapes that do not fit)."""
        probs = np.empty(x.shape, x.dtype)
        try:
            loss, bad = kernel(x, y, probs)
        except TypeError:
            return None
        if bad == -1:
            activation = self.activation
            activation.inputs = x
            activation.output = probs
            self.output = probs
            return x.dtype.type(loss)
        if bad >= 0:
            raise label_error(y, bad, x.shape[1], "y_true")
        return None

    def backward(self, dvalues, y_true):
        if type(dvalues) is np.ndarray:
            try:  # fast path, as in forward
                dinputs = np.empty(dvalues.shape, dvalues.dtype)
                bad = sealed.softmax_cce_sparse_backward(dvalues, y_true, dinputs)
            except TypeError:
                bad = -2
            if bad == -1:
                self.dinputs = dinputs
                return
            if bad >= 0:
                raise label_error(y_true, bad, dvalues.shape[1], "y_true")
        d = as_array(dvalues, "dvalues")
        y = y_true if type(y_true) is np.ndarray else as_array(y_true, "y_true")
        if y.ndim == 2:
            require_2d(d, "dvalues")
            check_labels(y, d.shape[0], d.shape[1], "y_true")
            y = np.argmax(y, axis=1)
        dt = d.dtype
        if not ((dt is F64 or dt is F32) and d.ndim == 2 and d.flags.c_contiguous
                and y.ndim == 1 and y.shape[0] == d.shape[0] and y.dtype.kind in "iu"
                and y.flags.c_contiguous):
            require_2d(d, "dvalues")
            y = check_labels(y, d.shape[0], d.shape[1], "y_true")
            dt = result_dtype("softmax cross-entropy backward", d)
            d = kernel_array(d, compute_dtype(dt))
        dinputs = np.empty(d.shape, d.dtype)
        bad = softmax_cce_sparse_backward(d, y, dinputs)
        if bad >= 0:
            raise label_error(y, bad, d.shape[1], "y_true")
        self.dinputs = dinputs if dinputs.dtype is dt else dinputs.astype(dt)


# ---------------------------------------------------------------------------
# Chapters 16-17: losses that compare predictions (N, C) with targets of the
# same shape, element by element.  (Imported here, not at the top, so that this
# section is one self-contained addition to the module.)
# ---------------------------------------------------------------------------
from ._arrays import LabelError  # noqa: E402
from .kernels import binary as _binary  # noqa: E402
from .kernels import regression as _regression  # noqa: E402

_U8 = np.dtype(np.uint8)
_I64 = np.dtype(np.int64)


class _ElementwiseLoss(Loss):
    """Forward and backward of a loss over targets shaped like the predictions.

    Fast path: one sealed kernel call (2-D C arrays; targets of the
    predictions' dtype, or for ``_LABELS`` kernels uint8/int64 labels whose
    promotion keeps it).  Anything else takes ``_general``, which validates,
    converts as NumPy's promotion would, and calls the unsealed kernel.
    Subclasses name their kernels (``kernels.sealed`` names = the public
    kernels' names) and give the result dtype of the book's expression.
    """

    _WHAT = ""
    _FORWARD = _BACKWARD = ""
    _LABELS = False  # kernels named <name>_labels take flat integer labels

    def forward(self, y_pred, y_true):
        if type(y_pred) is np.ndarray and type(y_true) is np.ndarray \
                and y_true.shape == y_pred.shape:
            try:
                losses = np.empty(y_pred.shape[0], y_pred.dtype)
                # the sealed kernels take 2-D arrays only: a (1, N) view of the losses
                status = self._fast(self._FORWARD, y_pred, y_true, losses.reshape(1, -1))
            except (TypeError, IndexError):
                status = -2
            if status == -1:
                return losses
            if status >= 0:
                raise self._label_error(y_true, status)
        p, y, dt, kernel = self._general(y_pred, y_true, "predictions", self._FORWARD)
        losses = np.empty(p.shape[0], compute_dtype(dt))
        self._run(kernel, p, y, losses, y_true)
        return losses.astype(dt, copy=False)

    def backward(self, dvalues, y_true):
        if type(dvalues) is np.ndarray and type(y_true) is np.ndarray \
                and y_true.shape == dvalues.shape:
            try:
                dinputs = np.empty(dvalues.shape, dvalues.dtype)
                status = self._fast(self._BACKWARD, dvalues, y_true, dinputs)
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

    def _fast(self, name, p, y, out):
        """One sealed kernel call; -2 if these dtypes are not the fast path's."""
        dt = p.dtype
        yt = y.dtype
        if yt is dt:
            return getattr(sealed, name)(p, y, out)
        if self._LABELS and (yt is _U8 or (yt is _I64 and dt is F64)):
            return getattr(sealed, name + "_labels")(p, y.reshape(-1), out)
        return -2

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
