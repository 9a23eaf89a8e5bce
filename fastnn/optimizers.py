"""SGD (with decay and momentum), AdaGrad, RMSProp and Adam, in both spellings.

Each optimizer is a thin stateful shell: it keeps the learning-rate schedule
and iteration count, validates the layer's arrays, creates the per-layer state
the reference creates (``weight_momentums``, ``weight_cache`` and their bias
twins), and makes one kernel call that updates weights, biases and state in
place.  Every optimizer answers to both the book's and the notebook's names for
its attributes and hooks.
"""
import numpy as np

from ._arrays import compute_dtype, require_writeable, result_dtype
from .kernels import sealed
from .kernels.optimizers import (adagrad_update, adam_update, rmsprop_update,
                                 sgd_momentum_update, sgd_update)


def _alias(name):
    """A property that reads and writes attribute ``name`` under another spelling."""
    return property(lambda self: getattr(self, name),
                    lambda self, value: setattr(self, name, value),
                    doc=f"Alias of ``{name}``.")


def _layer_arrays(layer, weight_state, bias_state):
    """The layer's parameters, gradients and named state, checked for the kernels.

    The general path of ``update_params`` (its sealed kernel refused the
    arrays as they are).  Returns the argument list for a kernel (weights,
    dweights, weight state..., biases, dbiases, bias state...).  Raises before
    anything is created or written when shapes, gradients or writeability are
    wrong, and creates missing state (zeros, like the reference's
    ``np.zeros_like``) only once everything else checked out.
    """
    try:
        w, b = layer.weights, layer.biases
    except AttributeError:
        raise TypeError(f"{type(layer).__name__} has no weights/biases to update") from None
    try:
        dw, db = layer.dweights, layer.dbiases
    except AttributeError:
        raise ValueError("update_params called before backward: the layer has no "
                         "dweights/dbiases yet") from None
    if not isinstance(w, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"layer.weights and layer.biases must be NumPy arrays, got "
                        f"{type(w).__name__} and {type(b).__name__}")
    ws = [getattr(layer, name, None) for name in weight_state]
    bs = [getattr(layer, name, None) for name in bias_state]

    # say exactly what is wrong, then create any missing state
    for name, a in (("weights", w), ("biases", b)) + tuple(
            zip(weight_state + bias_state, ws + bs)):
        if a is not None and not isinstance(a, np.ndarray):
            raise TypeError(f"layer.{name} must be a NumPy array, got {type(a).__name__}")
    dw, db = np.asarray(dw), np.asarray(db)
    for name, param, grad in (("weights", w, dw), ("biases", b, db)):
        if grad.shape != param.shape:
            raise ValueError(f"d{name} has shape {grad.shape} but {name} have shape "
                             f"{param.shape}")
        require_writeable(param, name)
    # As the reference: if the optimizer's marker state (`weight_cache`, or
    # `weight_momentums` for SGD) is missing, all its state starts from zeros,
    # even arrays another optimizer left on the layer.
    fresh = not weight_state or ws[-1] is None
    if fresh:
        ws, bs = [None] * len(ws), [None] * len(bs)
    for names, states, param in ((weight_state, ws, w), (bias_state, bs, b)):
        for name, state in zip(names, states):
            if state is None:
                continue
            if np.shape(state) != param.shape:
                raise ValueError(f"{name} has shape {np.shape(state)} but the parameter it "
                                 f"belongs to has shape {param.shape}")
            require_writeable(state, name)
    result_dtype("optimizer update", w, dw, b, db)
    for names, states, param in ((weight_state, ws, w), (bias_state, bs, b)):
        for k, name in enumerate(names):
            if states[k] is None:
                states[k] = np.zeros_like(param)
                setattr(layer, name, states[k])
    return [w, dw, *ws, b, db, *bs]


def _run_general(kernel, arrays, n_weight_arrays, hyper):
    """Run ``kernel`` on contiguous copies in the promoted dtype, then write back in place.

    The reference's ``+=`` keeps each array's own dtype and memory order;
    copying back with ``[...] =`` does the same.
    """
    ct = compute_dtype(result_dtype("optimizer update", *arrays))
    work = [np.ascontiguousarray(a, dtype=ct) for a in arrays]
    kernel(*work, *hyper)
    grads = {1, n_weight_arrays + 1}  # gradients are read, never written
    for k, (orig, new) in enumerate(zip(arrays, work)):
        if k not in grads and new is not orig:
            orig[...] = new


class _Optimizer:
    """The learning-rate schedule, iteration count and hooks every optimizer shares."""

    def __init__(self, lr, decay):
        self.lr = lr
        self.lr_curr = lr
        self.decay = decay
        self.iteration = 0

    learning_rate = _alias("lr")
    current_learning_rate = _alias("lr_curr")
    iterations = _alias("iteration")

    def pre_update_params(self):
        if self.decay:
            self.lr_curr = self.lr * (1. / (1. + self.decay * self.iteration))

    def post_update_params(self):
        self.iteration += 1

    # Each update_params first calls its sealed kernel with the layer's arrays
    # as they are: Numba's dispatcher checks their dtypes, layouts and
    # writeability (TypeError), the kernel their shapes (False), before
    # anything is written.  Missing state (AttributeError) or anything else
    # goes to _update, which explains or converts.
    _FAST_FAILURES = (AttributeError, TypeError)

    def _update(self, layer, kernel, weight_state, bias_state, *hyper):
        arrays = _layer_arrays(layer, weight_state, bias_state)
        _run_general(kernel, arrays, 2 + len(weight_state), hyper)

    def update_params(self, layer):
        raise NotImplementedError

    def updateParams(self, layer):
        self.update_params(layer)

    def preUpdateParams(self):
        self.pre_update_params()

    def postUpdateParams(self):
        self.post_update_params()


class Optimizer_SGD(_Optimizer):
    """``W += -lr * dW``; with momentum ``m = momentum * m - lr * dW; W += m``."""

    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        super().__init__(learning_rate, decay)
        self.momentum = momentum

    def update_params(self, layer):
        lr = self.lr_curr
        momentum = self.momentum
        try:
            if momentum:
                if sealed.sgd_momentum_update(layer.weights, layer.dweights,
                                              layer.weight_momentums, layer.biases,
                                              layer.dbiases, layer.bias_momentums, lr, momentum):
                    return
            elif sealed.sgd_update(layer.weights, layer.dweights, layer.biases, layer.dbiases,
                                   lr):
                return
        except self._FAST_FAILURES:
            pass
        if momentum:
            self._update(layer, sgd_momentum_update, ("weight_momentums",),
                         ("bias_momentums",), lr, momentum)
        else:
            self._update(layer, sgd_update, (), (), lr)


class Optimizer_Adagrad(_Optimizer):
    """``c += dW**2; W += -lr * dW / (sqrt(c) + epsilon)``."""

    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon

    def update_params(self, layer):
        lr, eps = self.lr_curr, self.epsilon
        try:
            if sealed.adagrad_update(layer.weights, layer.dweights, layer.weight_cache,
                                     layer.biases, layer.dbiases, layer.bias_cache, lr, eps):
                return
        except self._FAST_FAILURES:
            pass
        self._update(layer, adagrad_update, ("weight_cache",), ("bias_cache",), lr, eps)


class Optimizer_RMSprop(_Optimizer):
    """``c = rho * c + (1 - rho) * dW**2; W += -lr * dW / (sqrt(c) + epsilon)``."""

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, rho=0.9):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon
        self.rho = rho

    def update_params(self, layer):
        lr, eps, rho = self.lr_curr, self.epsilon, self.rho
        try:
            if sealed.rmsprop_update(layer.weights, layer.dweights, layer.weight_cache,
                                     layer.biases, layer.dbiases, layer.bias_cache, lr, eps, rho):
                return
        except self._FAST_FAILURES:
            pass
        self._update(layer, rmsprop_update, ("weight_cache",), ("bias_cache",), lr, eps, rho)


class Optimizer_Adam(_Optimizer):
    """Adam with bias-corrected momentum and cache."""

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    beta1 = _alias("beta_1")
    beta2 = _alias("beta_2")

    def update_params(self, layer):
        step = self.iteration + 1
        b1, b2 = self.beta_1, self.beta_2
        hyper = (self.lr_curr, b1, b2, self.epsilon, 1 - b1 ** step, 1 - b2 ** step)
        try:
            if sealed.adam_update(layer.weights, layer.dweights, layer.weight_momentums,
                                  layer.weight_cache, layer.biases, layer.dbiases,
                                  layer.bias_momentums, layer.bias_cache, *hyper):
                return
        except self._FAST_FAILURES:
            pass
        self._update(layer, adam_update, ("weight_momentums", "weight_cache"),
                     ("bias_momentums", "bias_cache"), *hyper)


class SGD(Optimizer_SGD):
    """The notebook's spelling: ``SGD(lr=1., decay=0., momentum=0.)``."""

    def __init__(self, lr=1., decay=0., momentum=0.):
        super().__init__(lr, decay, momentum)


class AdaGrad(Optimizer_Adagrad):
    """The notebook's spelling: ``AdaGrad(lr=1., decay=0., epsilon=1e-7)``."""

    def __init__(self, lr=1., decay=0., epsilon=1e-7):
        super().__init__(lr, decay, epsilon)


class RMSProp(Optimizer_RMSprop):
    """The notebook's spelling: ``RMSProp(lr=1., decay=0., epsilon=1e-7, rho=0.9)``.

    Note the notebook's default learning rate is 1.0, the book's 0.001.
    """

    def __init__(self, lr=1., decay=0., epsilon=1e-7, rho=0.9):
        super().__init__(lr, decay, epsilon, rho)


class Adam(Optimizer_Adam):
    """The notebook's spelling: ``Adam(lr=0.001, decay=0., epsilon=1e-7, beta1=0.9, beta2=0.999)``."""

    def __init__(self, lr=0.001, decay=0., epsilon=1e-7, beta1=0.9, beta2=0.999):
        super().__init__(lr, decay, epsilon, beta1, beta2)
