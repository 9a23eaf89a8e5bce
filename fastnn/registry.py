"""Every op, loss head and optimizer fastnn implements, declared once.

Each entry names the fastnn class (book spelling; the notebook spelling is a
subclass), its NumPy twin in ``fastnn.reference``, and what the compiled
``Model`` needs to run it: the op or head code of ``fastnn.kernels.network``,
or the optimizer's kernel code, per-layer state arrays and hyper-parameters.
``Model``'s plan, the tests and the benchmarks read these tables; adding an op
means one entry here, its kernels, its class and its tests.

Lookups go by ``isinstance`` in table order, so a subclass of a registered
class (the notebook spelling, or a user's own subclass) is the same op.
"""
from dataclasses import dataclass

from . import reference
from .activations import Activation_Linear, Activation_ReLU, Activation_Sigmoid, Activation_Softmax
from .dropout import Layer_Dropout
from .elementwise_losses import (Loss_BinaryCrossentropy, Loss_MeanAbsoluteError,
                                 Loss_MeanSquaredError)
from .kernels import network as N
from .kernels import train as T
from .layers import Layer_Dense
from .losses import Activation_Softmax_Loss_CategoricalCrossentropy, Loss_CategoricalCrossentropy
from .metrics import Accuracy_Categorical, Accuracy_Regression
from .optimizers import Optimizer_Adagrad, Optimizer_Adam, Optimizer_RMSprop, Optimizer_SGD


@dataclass(frozen=True)
class OpSpec:
    cls: type
    twin: type
    code: int           # op code in the compiled network tables
    trainable: bool     # has weights and biases that the optimizer updates


@dataclass(frozen=True)
class HeadSpec:
    cls: type
    twin: type
    code: int           # loss head code
    combined: bool      # an activation fused with its loss (forward takes y)


@dataclass(frozen=True)
class OptimizerSpec:
    cls: type
    twin: type
    code: int
    weight_state: tuple  # per-layer state arrays on the weights, the marker last
    bias_state: tuple
    hyper: tuple         # (attribute, slot of the compiled loop's hyper array)


OPS = (
    OpSpec(Layer_Dense, reference.Layer_Dense, N.OP_DENSE, True),
    OpSpec(Activation_ReLU, reference.Activation_ReLU, N.OP_RELU, False),
    OpSpec(Activation_Softmax, reference.Activation_Softmax, N.OP_SOFTMAX, False),
    OpSpec(Layer_Dropout, reference.Layer_Dropout, N.OP_DROPOUT, False),
    OpSpec(Activation_Sigmoid, reference.Activation_Sigmoid, N.OP_SIGMOID, False),
    OpSpec(Activation_Linear, reference.Activation_Linear, N.OP_LINEAR, False),
)

HEADS = (
    HeadSpec(Activation_Softmax_Loss_CategoricalCrossentropy,
             reference.Activation_Softmax_Loss_CategoricalCrossentropy, N.LOSS_SOFTMAX_CCE, True),
    HeadSpec(Loss_CategoricalCrossentropy, reference.Loss_CategoricalCrossentropy, N.LOSS_CCE,
             False),
    HeadSpec(Loss_BinaryCrossentropy, reference.Loss_BinaryCrossentropy, N.LOSS_BCE, False),
    # (before its base class, mean squared error: lookups go in table order)
    HeadSpec(Loss_MeanAbsoluteError, reference.Loss_MeanAbsoluteError, N.LOSS_MAE, False),
    HeadSpec(Loss_MeanSquaredError, reference.Loss_MeanSquaredError, N.LOSS_MSE, False),
)

_SCHEDULE = (("learning_rate", T.H_LR), ("decay", T.H_DECAY))
OPTIMIZERS = (
    OptimizerSpec(Optimizer_Adam, reference.Optimizer_Adam, T.OPT_ADAM,
                  ("weight_momentums", "weight_cache"), ("bias_momentums", "bias_cache"),
                  _SCHEDULE + (("epsilon", T.H_EPSILON), ("beta_1", T.H_BETA1),
                               ("beta_2", T.H_BETA2))),
    OptimizerSpec(Optimizer_RMSprop, reference.Optimizer_RMSprop, T.OPT_RMSPROP,
                  ("weight_cache",), ("bias_cache",),
                  _SCHEDULE + (("epsilon", T.H_EPSILON), ("rho", T.H_RHO))),
    OptimizerSpec(Optimizer_Adagrad, reference.Optimizer_Adagrad, T.OPT_ADAGRAD,
                  ("weight_cache",), ("bias_cache",), _SCHEDULE + (("epsilon", T.H_EPSILON),)),
    # SGD with momentum is its own rule with its own state (see optimizer_spec)
    OptimizerSpec(Optimizer_SGD, reference.Optimizer_SGD, T.OPT_SGD, (), (), _SCHEDULE),
)
_SGD_MOMENTUM = OptimizerSpec(Optimizer_SGD, reference.Optimizer_SGD, T.OPT_SGD_MOMENTUM,
                              ("weight_momentums",), ("bias_momentums",),
                              _SCHEDULE + (("momentum", T.H_MOMENTUM),))


def _find(table, obj):
    for spec in table:
        if isinstance(obj, spec.cls):
            return spec
    return None


def op_spec(layer):
    """The ``OpSpec`` of a layer or activation object, or None."""
    return _find(OPS, layer)


def head_spec(loss):
    """The ``HeadSpec`` of a loss object, or None."""
    return _find(HEADS, loss)


def _plain(obj, cls):
    """``obj`` is a ``cls`` whose scoring is ``cls``'s own (a subclass overriding
    ``compare`` or ``calculate`` is scored by the general path)."""
    return isinstance(obj, cls) and all(getattr(type(obj), m) is getattr(cls, m)
                                        for m in ("compare", "calculate"))


def accuracy_code(head_code, last_code, accuracy):
    """The compiled accuracy (``network.ACC_*``) of a model whose loss head is
    ``head_code``, whose last op is ``last_code``, scored with ``accuracy``.

    Raises ``AccuracyMismatch`` for a cross-entropy model with another accuracy
    (refused, as before) and ``TypeError`` for combinations the compiled loop
    does not score (the general path runs them): binary accuracy needs a final
    sigmoid and binary cross-entropy, the regression accuracy a final linear
    activation and a squared or absolute error."""
    from .plan import AccuracyMismatch
    if head_code in (N.LOSS_SOFTMAX_CCE, N.LOSS_CCE):
        if accuracy is None or (_plain(accuracy, Accuracy_Categorical) and not accuracy.binary):
            return N.ACC_CATEGORICAL
        raise AccuracyMismatch(f"Model supports Accuracy_Categorical() (binary=False) with "
                               f"a softmax output, got {accuracy!r}")
    if head_code == N.LOSS_BCE and last_code == N.OP_SIGMOID and \
            _plain(accuracy, Accuracy_Categorical) and accuracy.binary:
        return N.ACC_BINARY
    if head_code in (N.LOSS_MSE, N.LOSS_MAE) and last_code == N.OP_LINEAR and \
            _plain(accuracy, Accuracy_Regression):
        return N.ACC_REGRESSION
    raise TypeError(f"the compiled loop scores binary cross-entropy after a sigmoid with "
                    f"Accuracy_Categorical(binary=True) and squared/absolute error after a "
                    f"linear activation with Accuracy_Regression(), got {accuracy!r}")


def optimizer_spec(opt):
    """The ``OptimizerSpec`` of an optimizer object (SGD by its momentum), or None."""
    spec = _find(OPTIMIZERS, opt)
    if spec is not None and spec.code == T.OPT_SGD and getattr(opt, "momentum", 0):
        return _SGD_MOMENTUM
    return spec


def names(table):
    """The class names of a table, for error messages."""
    return ", ".join(spec.cls.__name__ for spec in table)


def _fastnn_class(obj):
    """Whether ``obj`` is (a subclass of) one of fastnn's own per-op classes
    (not the NumPy twin's: the twin is what fastnn is measured against)."""
    for base in type(obj).__mro__:
        module = base.__module__
        if module.startswith("fastnn.") and not module.startswith("fastnn.reference"):
            return True
    return False


def runs_per_op(layers, loss):
    """Whether the book's loop over per-op classes (``book_loop``) can run
    this model: every layer and the loss are fastnn's classes."""
    return bool(layers) and all(_fastnn_class(l) for l in layers) and _fastnn_class(loss)
