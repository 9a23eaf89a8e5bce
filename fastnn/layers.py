"""The dense layer (with the L1/L2 regularization of chapter 14)."""
import math
import numbers

import numpy as np

from ._arrays import F32, F64, as_array, compute_dtype, dot_dtype, kernel_array, nnfs_dot, \
    require_2d, result_dtype
from ._blas_threads import call_with_blas_threads_for, dense_uses_blas
from .kernels import sealed
from .kernels.dense import BLAS_MIN_MADDS, dense_backward, dense_forward
from .kernels.dense_mixed import dense_backward_mixed, dense_forward_rounded_dot

REGULARIZERS = ("weight_regularizer_l1", "weight_regularizer_l2",
                "bias_regularizer_l1", "bias_regularizer_l2")


def checked_coefficient(name, value):
    """``value`` if it is a usable regularization strength, else a clear error.

    The book only tests ``> 0``, so a negative or NaN strength would silently
    switch the term off, and an infinite one turn every gradient into inf/NaN:
    both are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number (a regularization strength >= 0), "
                        f"got {value!r} of type {type(value).__name__}")
    try:
        finite = math.isfinite(value)
    except OverflowError:       # an int too large for a float
        finite = False
    if not finite or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (0 switches the term off), "
                         f"got {value!r}")
    return value


class _Regularization:
    """A layer's four strengths as the kernels take them.

    ``values``: the user's objects, in ``REGULARIZERS`` order (the loss
    multiplies them as the book does, so NumPy's promotion is the book's).
    ``active``: 1.0 where the strength is > 0.  ``kernel_args[dtype]``:
    ``(l1_w, 2 * l2_w, l1_b, 2 * l2_b)`` as floats (0.0 where inactive) for
    the array dtypes in which the backward kernel's arithmetic -- each term
    rounded to the arrays' dtype -- is NumPy's; absent for a dtype where NumPy
    would promote a term (e.g. an ``np.float64`` strength with float32
    arrays: the general path then applies the book's NumPy expressions).
    ``penalty_f64``: the strengths as floats (0.0 where inactive) when each
    active one is a float or an int float64 holds exactly, so that the
    book's ``strength * np.sum(...)`` on float64 parameters is a float64
    product of those floats (``Loss.regularization_loss``'s one-call path);
    else None.
    """
    __slots__ = ("values", "active", "kernel_args", "penalty_f64")

    def __init__(self, values):
        self.values = values
        on = [v > 0 for v in values]
        self.active = tuple(1.0 if a else 0.0 for a in on)
        l1w, l2w, l1b, l2b = values
        # the book's terms: l1 * dL1 and (2 * l2) * param
        terms = (l1w, 2 * l2w, l1b, 2 * l2b)
        self.kernel_args = {}
        for dt in (F32, F64):
            if all(np.result_type(t, dt) == dt for t, a in zip(terms, on) if a):
                self.kernel_args[dt] = tuple(float(t) if a else 0.0 for t, a in zip(terms, on))
        exact = all(type(v) in (float, np.float64) or (type(v) is int and abs(v) <= 2 ** 53)
                    for v, a in zip(values, on) if a)
        self.penalty_f64 = (tuple(float(v) if a else 0.0 for v, a in zip(values, on))
                            if exact else None)

    @staticmethod
    def of(values):
        """None when no strength is > 0 (the unregularized kernel then runs)."""
        return _Regularization(values) if any(v > 0 for v in values) else None


def _strength(index):
    name = REGULARIZERS[index]

    def fget(self):
        return self._regularizers[index]

    def fset(self, value):
        values = list(self._regularizers)
        values[index] = checked_coefficient(name, value)
        self._regularizers = tuple(values)
        self._reg = _Regularization.of(self._regularizers)

    return property(fget, fset, doc=f"The book's ``{name}`` (checked: a finite number >= 0).")


class Layer_Dense:
    """``output = inputs @ weights + biases`` with fused Numba forward/backward.

    Weights are drawn as ``0.01 * np.random.randn(n_inputs, n_neurons)`` from
    NumPy's global generator (looked up at call time, so ``np.random.seed`` and
    ``nnfs.init()`` give the reference's weights and dtype), biases are
    ``np.zeros((1, n_neurons))``.

    Chapter 14: ``backward`` adds the book's L1/L2 gradient terms (``l1 *
    dL1``, then ``2 * l2 * param``, each where the strength is > 0) in the
    kernel call that stores ``dweights``/``dbiases``;
    ``Loss.regularization_loss(layer)`` gives the penalty.  The four
    strengths are checked whenever they are set (``TypeError``/``ValueError``,
    the layer left as it was).
    """

    _regularizers = (0, 0, 0, 0)   # a layer built without __init__: unregularized
    _reg = None                    # _Regularization, or None: no strength > 0
    weight_regularizer_l1 = _strength(0)
    weight_regularizer_l2 = _strength(1)
    bias_regularizer_l1 = _strength(2)
    bias_regularizer_l2 = _strength(3)

    def __init__(self, n_inputs, n_neurons,
                 weight_regularizer_l1=0, weight_regularizer_l2=0,
                 bias_regularizer_l1=0, bias_regularizer_l2=0):
        # checked before the weights are drawn: a refused layer leaves the
        # global generator where it was
        values = tuple(checked_coefficient(name, v) for name, v in zip(REGULARIZERS, (
            weight_regularizer_l1, weight_regularizer_l2, bias_regularizer_l1,
            bias_regularizer_l2)))
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))
        self._regularizers = values
        self._reg = _Regularization.of(values)

    def get_parameters(self):
        """The book's (chapter 21): ``(weights, biases)``."""
        return self.weights, self.biases

    def set_parameters(self, weights, biases):
        """The book's (chapter 21): new arrays, assigned as the book does."""
        self.weights = weights
        self.biases = biases

    def forward(self, inputs, training=False):
        # ``training`` is accepted for the book's chapter 18+ calls and, as in
        # the book, not used: a dense layer computes the same in both modes
        w = self.weights
        # (a dtype mix fails in the sealed dispatcher only after ~4 us of its
        # Python fallback: tested here first)
        if type(inputs) is np.ndarray and inputs.dtype is w.dtype:
            # Fast path: the sealed kernel's dispatcher checks dtypes and layout
            # (TypeError otherwise), the kernel checks shapes (False otherwise).
            try:
                m = inputs.shape[0]
                out = np.empty((m, w.shape[1]), w.dtype)
                if m * w.size < BLAS_MIN_MADDS or not dense_uses_blas(m, *w.shape, False):
                    ok = sealed.dense_forward(inputs, w, self.biases, out)
                else:  # BLAS-sized: the thread policy's BLAS threads
                    ok = call_with_blas_threads_for(m * w.size, sealed.dense_forward,
                                                    inputs, w, self.biases, out)
                if ok:
                    self.inputs = inputs
                    self.output = out
                    return
            except (TypeError, IndexError, AttributeError):
                pass
        elif type(inputs) is np.ndarray and inputs.dtype is F64 and w.dtype is F32 \
                and nnfs_dot():
            # float64 inputs, float32 parameters, nnfs.init()'s np.dot (chapter
            # 17's first layer): the book's float32 product plus biases, in one
            # call for one input feature (the kernel returns False otherwise);
            # float64 biases or another layout raise TypeError, as above
            try:
                out = np.empty((inputs.shape[0], w.shape[1]), F32)
                if sealed.dense_forward_rounded_dot(inputs, w, self.biases, out):
                    self.inputs = inputs
                    self.output = out
                    return
            except (TypeError, IndexError, AttributeError):
                pass
        x = as_array(inputs, "inputs")
        x, out = self._forward_general(x, w, self.biases)
        self.inputs = x
        self.output = out

    def _forward_general(self, x, w, b):
        """Any dtype mix, memory order, 1-D input or broadcastable biases."""
        w_2d, b_2d = self._checked_params(w, b)
        if x.ndim == 1:
            x = x.reshape(1, -1)  # np.dot(1-D, W) + b gives one row, as here
        require_2d(x, "inputs")
        if x.shape[1] != w_2d.shape[0]:
            raise ValueError(f"inputs have {x.shape[1]} features (shape {x.shape}) but the "
                             f"layer expects {w_2d.shape[0]} (weights shape {w_2d.shape})")
        if x.dtype == F64 and w.dtype == F32 and b.dtype == F32 and nnfs_dot():
            # the fast path's kernel (the book's float32 product, then the biases)
            out = np.empty((x.shape[0], w_2d.shape[1]), F32)
            if dense_forward_rounded_dot(kernel_array(x, F64), kernel_array(w_2d, F32),
                                         kernel_array(b_2d, F32), out):
                return x, out
        ct = compute_dtype(result_dtype("dense forward", x, w, b))
        out = np.empty((x.shape[0], w_2d.shape[1]), ct)
        dense_forward(kernel_array(x, ct), kernel_array(w_2d, ct), kernel_array(b_2d, ct), out)
        # the dtype of the reference's `np.dot(inputs, weights) + biases`
        return x, out.astype(np.result_type(dot_dtype(x, w), b), copy=False)

    @staticmethod
    def _checked_params(w, b):
        if w.ndim != 2:
            raise ValueError(f"weights must be 2-D (n_inputs, n_neurons), got shape {w.shape}")
        n = w.shape[1]
        if b.size != n or (b.ndim == 2 and b.shape[0] != 1) or b.ndim > 2:
            raise ValueError(f"biases have shape {b.shape}, expected (1, {n}) "
                             f"to match weights of shape {w.shape}")
        return w, b.reshape(1, n)

    def backward(self, dvalues):
        w = self.weights
        dt = w.dtype
        if type(dvalues) is np.ndarray and dvalues.dtype is dt:
            try:  # fast path, as in forward
                x = self.inputs
                if x.dtype is not dt:
                    raise TypeError
                dweights = np.empty(w.shape, dt)
                dbiases = np.empty((1, w.shape[1]), dt)
                dinputs = np.empty(x.shape, dt)
                reg = self._reg
                madds = x.shape[0] * w.size
                if madds < BLAS_MIN_MADDS:
                    # the per-op chapters' layers: the loop routines, tested first
                    if reg is None:
                        ok = sealed.dense_backward(x, w, dvalues, dweights, dbiases, dinputs)
                    else:
                        c = reg.kernel_args.get(dt)
                        ok = c is not None and sealed.dense_backward_reg(
                            x, w, self.biases, dvalues, dweights, dbiases, dinputs, *c)
                    if ok:
                        self.dweights = dweights
                        self.dbiases = dbiases
                        self.dinputs = dinputs
                        return
                    raise TypeError  # the general path explains
                if not dense_uses_blas(x.shape[0], *w.shape, True):
                    madds = 0  # a thin shape: loop routines at any batch, no BLAS threads
                if reg is None:
                    if madds < BLAS_MIN_MADDS:
                        ok = sealed.dense_backward(x, w, dvalues, dweights, dbiases, dinputs)
                    else:  # BLAS-sized, as in forward
                        ok = call_with_blas_threads_for(madds, sealed.dense_backward, x, w,
                                                        dvalues, dweights, dbiases, dinputs)
                else:
                    c = reg.kernel_args.get(dt)
                    if c is None:
                        ok = False
                    elif madds < BLAS_MIN_MADDS:
                        ok = sealed.dense_backward_reg(x, w, self.biases, dvalues, dweights,
                                                       dbiases, dinputs, *c)
                    else:
                        ok = call_with_blas_threads_for(
                            madds, sealed.dense_backward_reg,
                            x, w, self.biases, dvalues, dweights, dbiases, dinputs, *c)
                if ok:
                    self.dweights = dweights
                    self.dbiases = dbiases
                    self.dinputs = dinputs
                    return
            except (TypeError, IndexError, AttributeError):
                pass
        if type(dvalues) is np.ndarray and dt is F32 and self._reg is None and nnfs_dot():
            # (not an elif: float64 inputs with a float32 gradient get here from
            # the fast path above, which refused the inputs' dtype)
            # float32 parameters after nnfs.init() with a float64 gradient (chapter
            # 17's last layer) or float64 inputs (its first layer): one call,
            # each result in the dtype and, but for the order of the float64
            # sums, the value of the book's expression; other shapes (False),
            # dtypes or layouts (TypeError) go on to the general path
            try:
                x = self.inputs
                xt, gt = x.dtype, dvalues.dtype
                if xt is F32 and gt is F64:
                    kernel = sealed.dense_backward_wide_gradient
                elif xt is F64 and gt is F32:
                    kernel = sealed.dense_backward_wide_inputs
                else:
                    raise TypeError
                dweights = np.empty(w.shape, F32)
                dbiases = np.empty((1, w.shape[1]), gt)   # np.sum keeps dvalues' dtype
                dinputs = np.empty(x.shape, F32)
                if kernel(x, w, dvalues, dweights, dbiases, dinputs):
                    self.dweights = dweights
                    self.dbiases = dbiases
                    self.dinputs = dinputs
                    return
            except (TypeError, IndexError, AttributeError):
                pass
        d = as_array(dvalues, "dvalues")
        dweights, dbiases, dinputs = self._backward_general(self.inputs, w, d)
        if self._reg is not None:
            self._regularize_general(dweights, dbiases)
        self.dweights, self.dbiases, self.dinputs = dweights, dbiases, dinputs

    def _regularize_general(self, dweights, dbiases):
        """The book's NumPy expressions, on the fresh gradient arrays: any
        dtype, any strength type, promotion exactly as NumPy's."""
        l1w, l2w, l1b, l2b = self._regularizers
        w, b = self.weights, self.biases
        if l1w > 0:
            dL1 = np.ones_like(w)
            dL1[w < 0] = -1
            dweights += l1w * dL1
        if l2w > 0:
            dweights += 2 * l2w * w
        if l1b > 0:
            dL1 = np.ones_like(b)
            dL1[b < 0] = -1
            dbiases += l1b * dL1
        if l2b > 0:
            dbiases += 2 * l2b * b

    def _backward_general(self, x, w, d):
        self._checked_params(w, self.biases)
        require_2d(d, "dvalues")
        expected = (x.shape[0], w.shape[1])
        if d.shape != expected or x.shape[1] != w.shape[0]:
            raise ValueError(f"dvalues have shape {d.shape}, expected {expected} "
                             f"(inputs {x.shape} @ weights {w.shape})")
        ct = compute_dtype(result_dtype("dense backward", x, w, d))
        # each result takes the dtype the reference's expression would give
        dinputs_dt = dot_dtype(d, w)
        dweights_dt = dot_dtype(x, d)
        if ({x.dtype, d.dtype} == {F32, F64} and w.dtype in (F32, F64)
                and dweights_dt in (F32, F64) and dinputs_dt in (F32, F64)):
            # a float32/float64 mix of inputs and gradient (chapter 17's first and
            # last layers after nnfs.init(), whatever their layout or regularizers):
            # the fast path's kernel, each result stored once in its own dtype
            mixed = (np.empty(w.shape, dweights_dt), np.empty((1, w.shape[1]), d.dtype),
                     np.empty(x.shape, dinputs_dt))
            if dense_backward_mixed(kernel_array(x, x.dtype), kernel_array(w, w.dtype),
                                    kernel_array(d, d.dtype), *mixed):
                return mixed
        dweights = np.empty(w.shape, ct)
        dbiases = np.empty((1, w.shape[1]), ct)
        dinputs = np.empty(x.shape, ct)
        dense_backward(kernel_array(x, ct), kernel_array(w, ct), kernel_array(d, ct),
                       dweights, dbiases, dinputs)
        return (dweights.astype(dweights_dt, copy=False),
                dbiases.astype(np.sum(d[:0], axis=0).dtype, copy=False),  # ints sum as ints
                dinputs.astype(dinputs_dt, copy=False))
