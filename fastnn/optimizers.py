"""SGD (with decay and momentum), AdaGrad, RMSProp and Adam, in both spellings.

Each optimizer is a thin stateful shell: it keeps the learning-rate schedule
and iteration count, validates the layer's arrays, creates the per-layer state
the reference creates (``weight_momentums``, ``weight_cache`` and their bias
twins), and makes one kernel call that updates weights, biases and state in
place.  Every optimizer answers to both the book's and the notebook's names for
its attributes and hooks.
"""
import numpy as np

from . import _threads
from ._arrays import (F32 as _F32, F64 as _F64, check_hyper, compute_dtype, real_number,
                      result_dtype, update_arrays)
from .kernels import sealed
from .kernels.optimizers import (adagrad_update, adam_update, rmsprop_update,
                                 sgd_momentum_update, sgd_update)



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


def _promote_state(layer, arrays, weight_state, bias_state, update_dtypes):
    """The book assigns its optimizer state (``layer.bias_momentums = beta_1 *
    layer.bias_momentums + (1 - beta_1) * layer.dbiases``): a state array whose
    update NumPy computes in a wider dtype (float32 state, float64 gradients)
    becomes a new array of that dtype, while the parameters' ``+=`` keeps
    theirs.  Such state is replaced on the layer (and in ``arrays``) by a
    promoted copy before the update, which then runs on it."""
    n_w = len(weight_state)
    for first, names in ((0, weight_state), (2 + n_w, bias_state)):
        param, grad = arrays[first], arrays[first + 1]
        states = arrays[first + 2:first + 2 + len(names)]
        wanted = update_dtypes(param.dtype, grad.dtype, [a.dtype for a in states])[1:]
        for k, (name, state, dt) in enumerate(zip(names, states, wanted)):
            if np.dtype(dt) != state.dtype and np.can_cast(state.dtype, dt, "safe"):
                promoted = state.astype(dt)
                setattr(layer, name, promoted)
                arrays[first + 2 + k] = promoted


# The scalar types real_number accepts, looked up by type alone: a value of
# another type (a 0-d array, or something real_number refuses) goes through
# check_hyper, so the hooks accept exactly what check_hyper accepts.
_SCALAR_TYPES = frozenset({float, int, bool, np.bool_, np.float16, np.float32, np.float64,
                           np.int8, np.int16, np.int32, np.int64,
                           np.uint8, np.uint16, np.uint32, np.uint64})


def _weights_size(layer):
    """How many elements a parallel kernel would update (0 if there are no weights)."""
    return getattr(getattr(layer, "weights", None), "size", 0)


class _Optimizer:
    """The learning-rate schedule, iteration count and hooks every optimizer shares."""

    # The optimizer's own constants (book names), for check_hyper.
    HYPER_PARAMETERS = ()

    def __init__(self, learning_rate, decay):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0

    def pre_update_params(self):
        # The reference's expression, evaluated by Python and NumPy exactly as
        # there (same scalar promotion; a Python float denominator of 0 raises
        # ZeroDivisionError, a NumPy one gives inf).  The values it reads are
        # checked first (by type: a few ns), so a bad one is named and nothing
        # is written.
        # (`type(x) is float` first: the common case costs one comparison)
        decay = self.decay
        if type(decay) is not float and type(decay) not in _SCALAR_TYPES:
            check_hyper(self, ("decay",))
        if decay:
            lr, iteration = self.learning_rate, self.iterations
            if ((type(lr) is not float or type(iteration) is not int)
                    and (type(lr) not in _SCALAR_TYPES or type(iteration) not in _SCALAR_TYPES)):
                check_hyper(self, ("learning_rate", "iterations"))
            try:
                self.current_learning_rate = lr * (1. / (1. + decay * iteration))
            except ZeroDivisionError:
                raise ZeroDivisionError(
                    f"{type(self).__name__}: 1. + decay * iterations is 0 (decay={decay!r}, "
                    f"iterations={iteration!r}); the reference's learning-rate decay "
                    f"`learning_rate * (1. / (1. + decay * iterations))` divides by zero here "
                    f"too") from None

    def post_update_params(self):
        iteration = self.iterations
        if type(iteration) is not int and type(iteration) not in _SCALAR_TYPES:
            check_hyper(self, ("iterations",))
        self.iterations = iteration + 1

    # Each update_params first calls its sealed kernel with the layer's arrays
    # and the hyper-parameters as they are: Numba's dispatcher checks their
    # types, layouts and writeability (TypeError), the kernel their shapes
    # (False), before anything is written.  Missing state (AttributeError), a
    # value that is not a real number (TypeError, or ValueError from the truth
    # of an array) or anything else goes to the general path, which checks
    # everything (check_hyper, update_arrays), explains or converts.
    _FAST_FAILURES = (AttributeError, TypeError, ValueError)

    # A parallel-sized update holds _threads' lock when Numba's threading layer
    # is not thread-safe: `held = _threads.SERIALIZE and _threads.enter(...)`
    # costs one attribute read when it is.

    def _update(self, layer, kernel, weight_state, bias_state, hyper, update_dtypes,
                mixed=None):
        arrays = update_arrays(layer, weight_state, bias_state, update_dtypes)
        _promote_state(layer, arrays, weight_state, bias_state, update_dtypes)
        # ``mixed``: a sealed kernel for a dtype mix whose rules compute each
        # parameter in its own dtypes (running all in the widest dtype would
        # round float32 weights' updates differently from the book's)
        if mixed is not None:
            try:
                if mixed(*arrays, *hyper):
                    return
            except TypeError:  # not that mix
                pass
        _run_general(kernel, arrays, 2 + len(weight_state), hyper)

    def update_params(self, layer):
        raise NotImplementedError



# The ``update_dtypes`` of each rule: the dtypes NumPy gives the values the
# reference stores into (parameter, state...), from the operands' dtypes and
# the hyper-parameters as given (``np.result_type`` follows NumPy 2's scalar
# promotion).  ``1.0`` stands for a true division or square root, which makes
# any integer expression a float one.
_rt = np.result_type


class Optimizer_SGD(_Optimizer):
    """``W += -lr * dW``; with momentum ``m = momentum * m - lr * dW; W += m``."""

    HYPER_PARAMETERS = ("momentum",)

    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        super().__init__(learning_rate, decay)
        self.momentum = momentum

    def update_params(self, layer):
        held = _threads.SERIALIZE and _threads.enter(_weights_size(layer))
        try:
            lr = self.current_learning_rate
            momentum = self.momentum
            try:
                if type(momentum) is not float and type(momentum) not in _SCALAR_TYPES:
                    raise TypeError  # (None or "" would pass for no momentum below)
                if momentum:
                    if sealed.sgd_momentum_update(layer.weights, layer.dweights,
                                                  layer.weight_momentums, layer.biases,
                                                  layer.dbiases, layer.bias_momentums, lr,
                                                  momentum):
                        return
                elif sealed.sgd_update(layer.weights, layer.dweights, layer.biases,
                                       layer.dbiases, lr):
                    return
            except self._FAST_FAILURES:
                pass
            self._general(layer)
        finally:
            if held:
                _threads.leave()

    def _general(self, layer):
        h = check_hyper(self, ("current_learning_rate", "momentum"))
        lr, momentum = self.current_learning_rate, self.momentum
        if h["momentum"]:
            def dtypes(p, g, s):
                return (_rt(momentum, s[0], lr, g),) * 2
            self._update(layer, sgd_momentum_update, ("weight_momentums",),
                         ("bias_momentums",), (h["current_learning_rate"], h["momentum"]),
                         dtypes)
        else:
            self._update(layer, sgd_update, (), (), (h["current_learning_rate"],),
                         lambda p, g, s: (_rt(lr, g),))


class Optimizer_Adagrad(_Optimizer):
    """``c += dW**2; W += -lr * dW / (sqrt(c) + epsilon)``."""

    HYPER_PARAMETERS = ("epsilon",)

    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon

    def update_params(self, layer):
        held = _threads.SERIALIZE and _threads.enter(_weights_size(layer))
        try:
            lr, eps = self.current_learning_rate, self.epsilon
            try:
                if sealed.adagrad_update(layer.weights, layer.dweights, layer.weight_cache,
                                         layer.biases, layer.dbiases, layer.bias_cache, lr,
                                         eps):
                    return
            except self._FAST_FAILURES:
                pass
            self._general(layer)
        finally:
            if held:
                _threads.leave()

    def _general(self, layer):
        h = check_hyper(self, ("current_learning_rate", "epsilon"))
        lr, eps = self.current_learning_rate, self.epsilon
        self._update(layer, adagrad_update, ("weight_cache",), ("bias_cache",),
                     (h["current_learning_rate"], h["epsilon"]),
                     lambda p, g, s: (_rt(lr, g, s[0], eps, 1.0), _rt(s[0], g)))


class Optimizer_RMSprop(_Optimizer):
    """``c = rho * c + (1 - rho) * dW**2; W += -lr * dW / (sqrt(c) + epsilon)``."""

    HYPER_PARAMETERS = ("epsilon", "rho")

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, rho=0.9):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon
        self.rho = rho

    def update_params(self, layer):
        held = _threads.SERIALIZE and _threads.enter(_weights_size(layer))
        try:
            lr, eps, rho = self.current_learning_rate, self.epsilon, self.rho
            try:
                if sealed.rmsprop_update(layer.weights, layer.dweights, layer.weight_cache,
                                         layer.biases, layer.dbiases, layer.bias_cache, lr, eps,
                                         rho):
                    return
            except self._FAST_FAILURES:
                pass
            self._general(layer)
        finally:
            if held:
                _threads.leave()

    def _general(self, layer):
        h = check_hyper(self, ("current_learning_rate", "epsilon", "rho"))
        lr, eps, rho = self.current_learning_rate, self.epsilon, self.rho

        def dtypes(p, g, s):
            cache = _rt(rho, s[0], g)
            return _rt(lr, g, cache, eps, 1.0), cache
        self._update(layer, rmsprop_update, ("weight_cache",), ("bias_cache",),
                     (h["current_learning_rate"], h["epsilon"], h["rho"]), dtypes)


class Optimizer_Adam(_Optimizer):
    """Adam with bias-corrected momentum and cache."""

    HYPER_PARAMETERS = ("epsilon", "beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2


    def update_params(self, layer):
        held = _threads.SERIALIZE and _threads.enter(_weights_size(layer))
        try:
            hyper = None
            try:
                iteration = self.iterations
                if type(iteration) is not int and type(iteration) not in _SCALAR_TYPES:
                    check_hyper(self, ("iterations",))  # (a Fraction would not fail below)
                step = iteration + 1
                b1, b2 = self.beta_1, self.beta_2
                hyper = (self.current_learning_rate, b1, b2, self.epsilon, 1 - b1 ** step, 1 - b2 ** step)
                b, db = layer.biases, layer.dbiases
                # float32 biases with a float64 gradient (chapter 17's last layer
                # after nnfs.init()): the book's state is float64 from the second
                # step on (_promote_state), and the same kernel takes that mix
                update = (sealed.adam_update_wide_bias if db.dtype is _F64 and b.dtype is _F32
                          else sealed.adam_update)
                if update(layer.weights, layer.dweights, layer.weight_momentums,
                          layer.weight_cache, b, db, layer.bias_momentums, layer.bias_cache,
                          *hyper):
                    return
            except self._FAST_FAILURES:
                pass
            self._general(layer, hyper)
        finally:
            if held:
                _threads.leave()

    def _general(self, layer, hyper):
        # check_hyper raises unless every value is a real number, and then the
        # fast path's arithmetic above has computed `hyper` (real numbers do
        # not raise TypeError there); its bias corrections are checked here
        # (a negative beta with a fractional count gives a complex number)
        check_hyper(self, ("current_learning_rate", "iterations", "epsilon", "beta_1",
                           "beta_2"))
        cls = type(self).__name__
        hyper = tuple(real_number(v, f"{cls}: {what}") for v, what in zip(hyper, (
            "current_learning_rate", "beta_1", "beta_2", "epsilon",
            "1 - beta_1 ** (iterations + 1)", "1 - beta_2 ** (iterations + 1)")))
        lr, b1, b2, eps = self.current_learning_rate, self.beta_1, self.beta_2, self.epsilon

        def dtypes(p, g, s):
            m, c = _rt(b1, s[0], g), _rt(b2, s[1], g)
            return _rt(lr, m, c, eps, 1.0), m, c
        self._update(layer, adam_update, ("weight_momentums", "weight_cache"),
                     ("bias_momentums", "bias_cache"), hyper, dtypes,
                     mixed=sealed.adam_update_wide_bias)
