"""Categorical cross-entropy, alone and fused with softmax, in both spellings."""
import math

import numpy as np

from ._arrays import (F32, F64, as_array, check_labels, compute_dtype, kernel_array,
                      label_error, require_2d, result_dtype)
from .activations import Activation_Softmax
from .layers import Layer_Dense
from .kernels import sealed
from .kernels.losses import (cce_dense_backward, cce_dense_forward, cce_sparse_backward,
                             cce_sparse_forward, softmax_cce_sparse_backward,
                             softmax_cce_sparse_forward)


class Loss:
    """Base class: ``calculate`` is the mean of ``forward``'s per-sample losses;
    ``regularization_loss`` the L1/L2 penalty of chapter 14."""

    def regularization_loss(self, layer=None):
        """``l1 * sum(|W|) + l2 * sum(W * W)`` (and the same on the biases) for
        each strength > 0, as the book adds them up (0 when none is).

        Chapter 14 passes the layer; from chapter 18 on the book calls it with
        no argument, over the layers given to ``remember_trainable_layers``.
        The sums are NumPy's to the bit (``np.sum``'s pairwise order), and of
        NumPy's types: 0 (an int) when no strength is > 0, else a NumPy
        scalar promoted from the strengths and the parameters' dtype."""
        if layer is not None:
            return _penalty(layer, 0)
        try:
            layers = self.trainable_layers
        except AttributeError:
            raise AttributeError(
                "regularization_loss() without a layer sums over the layers given to "
                "remember_trainable_layers(), which has not been called on this loss; "
                "pass the layer, as in chapter 14: regularization_loss(layer)") from None
        regularization_loss = 0
        for layer in layers:
            regularization_loss = _penalty(layer, regularization_loss)
        return regularization_loss

    def remember_trainable_layers(self, trainable_layers):
        self.trainable_layers = trainable_layers

    def calculate(self, output, y, *, include_regularization=False):
        """The mean loss (and the regularization loss if asked); from chapter
        19 on it also adds to the pass's ``accumulated_sum``/``_count``."""
        sample_losses = self.forward(output, y)
        data_loss, total = _mean_and_sum(sample_losses)
        self.accumulated_sum = getattr(self, "accumulated_sum", 0) + total
        self.accumulated_count = getattr(self, "accumulated_count", 0) + len(sample_losses)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def calculate_accumulated(self, *, include_regularization=False):
        """The mean loss over the pass so far (chapter 19)."""
        data_loss = self.accumulated_sum / self.accumulated_count
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def new_pass(self):
        self.accumulated_sum = 0
        self.accumulated_count = 0


def _mean_and_sum(losses):
    """``(np.mean(losses), np.sum(losses))``, the same values and types.

    Both are one pairwise sum (``np.mean`` divides it by the count), so for a
    1-D float32/float64 array one kernel call gives the sum and the mean
    follows as ``np.mean`` computes it: the sum over the count in float64,
    rounded to the array's dtype.  Empty arrays and non-finite sums go to
    NumPy, which warns about them as the reference's calls do."""
    if type(losses) is np.ndarray:
        try:
            s = sealed.pairwise_total(losses)
        except TypeError:   # not a 1-D float32/float64 C array
            s = None
        if s is not None and math.isfinite(s) and losses.size:
            t = losses.dtype.type
            return t(s / losses.size), t(s)
    return np.mean(losses), np.sum(losses)


_F64_TYPE = np.float64


def _penalty(layer, regularization_loss):
    """``regularization_loss`` plus ``layer``'s penalty, in the book's order."""
    if isinstance(layer, Layer_Dense):
        reg = layer._reg
        if reg is None:
            return regularization_loss          # every strength is 0
        w = layer.weights
        c = reg.penalty_f64
        start = regularization_loss
        if c is not None and w.dtype is F64 and (type(start) is _F64_TYPE or (
                type(start) is int and start == 0)):
            # float64 parameters and plain strengths: the book's float64 products
            # and sums in one call (its type: NumPy's float64 scalar)
            try:
                return _F64_TYPE(sealed.regularization_penalty(w, layer.biases, float(start),
                                                               *c))
            except (TypeError, AttributeError):  # other layouts, non-arrays
                pass
        try:                                    # fast path: one call for the four sums
            sums = np.empty((1, 4), w.dtype)
            ok = sealed.regularization_sums(w, layer.biases, sums, *reg.active)
        except (TypeError, AttributeError):     # other dtypes, layouts, non-arrays
            ok = False
        if ok:
            l1w, l2w, l1b, l2b = reg.values
            s = sums[0]                         # its items are NumPy scalars, as np.sum's
            if l1w > 0:
                regularization_loss += l1w * s[0]
            if l2w > 0:
                regularization_loss += l2w * s[1]
            if l1b > 0:
                regularization_loss += l1b * s[2]
            if l2b > 0:
                regularization_loss += l2b * s[3]
            return regularization_loss
    # any other layer object (a twin's, a user's): the book's expressions
    if layer.weight_regularizer_l1 > 0:
        regularization_loss += layer.weight_regularizer_l1 * np.sum(np.abs(layer.weights))
    if layer.weight_regularizer_l2 > 0:
        regularization_loss += layer.weight_regularizer_l2 * np.sum(layer.weights * layer.weights)
    if layer.bias_regularizer_l1 > 0:
        regularization_loss += layer.bias_regularizer_l1 * np.sum(np.abs(layer.biases))
    if layer.bias_regularizer_l2 > 0:
        regularization_loss += layer.bias_regularizer_l2 * np.sum(layer.biases * layer.biases)
    return regularization_loss


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
