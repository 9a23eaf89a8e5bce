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
