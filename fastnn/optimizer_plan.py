"""How the compiled ``Model`` runs an optimizer: its rule, hyper-parameters and schedule.

The per-op optimizer classes keep their state in Python attributes; the
compiled loop takes a rule code and an array of hyper-parameters
(``registry.OPTIMIZERS``), and this module says which, refusing what the
compiled rule cannot honour (an overridden hook) before anything runs.
"""
import threading
import weakref

import numpy as np

from . import registry
from ._arrays import check_hyper
from .kernels import train as K
from .optimizers import _Optimizer


def optimizer_run(opt):
    """``(spec, hyper array)`` for the compiled loop; raises on an optimizer it cannot run."""
    spec = registry.optimizer_spec(opt)
    if spec is None:
        raise TypeError(f"Model.set(optimizer=...) needs one of fastnn's optimizers "
                        f"({registry.names(registry.OPTIMIZERS)}, or SGD/AdaGrad/RMSProp/Adam), "
                        f"got {type(opt).__module__}.{type(opt).__name__}")
    for hook, base in (("update_params", spec.cls), ("pre_update_params", _Optimizer),
                       ("post_update_params", _Optimizer)):
        if getattr(type(opt), hook) is not getattr(base, hook):
            raise TypeError(
                f"{type(opt).__name__} overrides {hook}(); Model.train runs the built-in "
                f"{spec.cls.__name__} rule in compiled code and cannot call Python overrides")
    # the per-op hooks' own check: both paths accept and refuse the same values
    values = check_hyper(opt)
    hyper = np.full(K.N_HYPER, np.nan)  # (a value the step does not read stays NaN)
    for name, slot in spec.hyper:
        if name in values:
            hyper[slot] = values[name]
    iteration = opt.iterations
    if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)) \
            or iteration < 0:
        raise TypeError(f"optimizer.iterations must be a non-negative integer, got {iteration!r}")
    return spec, hyper


def python_schedule(opt):
    """Whether the learning-rate schedule must be computed in Python, as the
    per-op ``pre_update_params`` computes it: when a NumPy scalar type other
    than float64 takes part (NumPy's promotion then rounds differently from
    float64 arithmetic), or a negative decay can divide by zero (Python raises
    ZeroDivisionError; compiled code would go on with an infinite rate)."""
    lr, decay = opt.learning_rate, opt.decay
    return (type(lr) not in (int, float, np.float64) or type(decay) not in (int, float, np.float64)
            or (decay and decay < 0))


def lr_column(opt, iteration, epochs):
    """The per-op schedule for the next ``epochs`` epochs, and the error that
    stops it (the per-op ``pre_update_params`` raising at that epoch), if any."""
    column = np.empty(epochs, np.float64)
    lr = opt.current_learning_rate
    for e in range(epochs):
        try:
            if opt.decay:
                lr = opt.learning_rate * (1. / (1. + opt.decay * (iteration + e)))
        except ArithmeticError as exc:
            return column[:e], lr, exc
        column[e] = lr
    return column, lr, None


_optimizer_locks = weakref.WeakKeyDictionary()
_locks_lock = threading.Lock()


def lock_for(opt):
    """One lock per optimizer object: two threads training with one optimizer
    (one model, or two models sharing it) take turns instead of losing updates."""
    with _locks_lock:
        lock = _optimizer_locks.get(opt)
        if lock is None:
            lock = _optimizer_locks[opt] = threading.Lock()
        return lock
