"""The reader's notebook spelling of fastnn's classes: one table, one module.

The book's spelling (``Layer_Dense``, ``learning_rate``, ``update_params``)
holds the values and the code; the notebook's (``DenseLayer``, ``lr``,
``updateParams``) is a dialect of it: subclasses that only rename constructor
arguments, and attribute and method aliases installed on the book classes, so
that a book object answers to notebook names too and code mixing the two
works.
"""
from .activations import Activation_ReLU, Activation_Softmax
from .layers import Layer_Dense
from .losses import Activation_Softmax_Loss_CategoricalCrossentropy, Loss_CategoricalCrossentropy
from .dropout import Layer_Dropout
from .losses import Loss
from .optimizers import (Optimizer_Adagrad, Optimizer_Adam, Optimizer_RMSprop, Optimizer_SGD,
                         _Optimizer)

__all__ = ["DenseLayer", "ReLU", "SoftMax", "CategoricalCrossEntropy",
           "SoftMaxCategoricalCrossEntropy", "SGD", "AdaGrad", "RMSProp", "Adam", "DropoutLayer"]

# {book class: ({notebook attribute: book attribute}, {notebook method: book method})}
ALIASES = {
    _Optimizer: ({"lr": "learning_rate", "lr_curr": "current_learning_rate",
                  "iteration": "iterations"},
                 {"preUpdateParams": "pre_update_params", "updateParams": "update_params",
                  "postUpdateParams": "post_update_params"}),
    Optimizer_Adam: ({"beta1": "beta_1", "beta2": "beta_2"}, {}),
    # chapter 14: the regularization strengths and the loss's penalty
    Layer_Dense: ({"weightl1": "weight_regularizer_l1", "weightl2": "weight_regularizer_l2",
                   "biasl1": "bias_regularizer_l1", "biasl2": "bias_regularizer_l2"}, {}),
    Loss: ({}, {"regularizationLoss": "regularization_loss"}),
}


def alias(name):
    """A property that reads and writes attribute ``name`` under another spelling."""
    return property(lambda self: getattr(self, name),
                    lambda self, value: setattr(self, name, value),
                    doc=f"Alias of ``{name}``.")


def method_alias(name):
    """A method that calls method ``name`` (looked up on the instance, so
    subclasses' overrides of the book's method are honoured)."""
    def call(self, *args, **kwargs):
        return getattr(self, name)(*args, **kwargs)
    call.__doc__ = f"Alias of ``{name}``."
    return call


def install(cls, attributes=None, methods=None):
    """Install notebook-name aliases on a book class: {notebook name: book name}."""
    for nb, book in (attributes or {}).items():
        setattr(cls, nb, alias(book))
    for nb, book in (methods or {}).items():
        method = method_alias(book)
        method.__name__ = method.__qualname__ = nb
        setattr(cls, nb, method)


for _cls, (_attributes, _methods) in ALIASES.items():
    install(_cls, _attributes, _methods)


class DenseLayer(Layer_Dense):
    """The notebook's spelling: ``DenseLayer(nInputs, nNeurons, weightl1=0, weightl2=0,
    biasl1=0, biasl2=0)``."""

    def __init__(self, nInputs, nNeurons, weightl1=0, weightl2=0, biasl1=0, biasl2=0):
        super().__init__(nInputs, nNeurons, weightl1, weightl2, biasl1, biasl2)


class ReLU(Activation_ReLU):
    """The notebook's spelling of :class:`Activation_ReLU`."""


class SoftMax(Activation_Softmax):
    """The notebook's spelling of :class:`Activation_Softmax`."""


# Chapters 16-17: the reader's names for the sigmoid and binary cross-entropy.
# No reader's names are known for the linear activation, the regression losses
# or the accuracies, so none are made up.
from .activations import Activation_Sigmoid  # noqa: E402
from .elementwise_losses import Loss_BinaryCrossentropy  # noqa: E402

__all__ += ["Sigmoid", "BinaryCrossEntropyLoss"]


class Sigmoid(Activation_Sigmoid):
    """The notebook's spelling of :class:`Activation_Sigmoid`."""


class BinaryCrossEntropyLoss(Loss_BinaryCrossentropy):
    """The notebook's spelling of :class:`Loss_BinaryCrossentropy`."""


class CategoricalCrossEntropy(Loss_CategoricalCrossentropy):
    """The notebook's spelling of :class:`Loss_CategoricalCrossentropy`."""


class SoftMaxCategoricalCrossEntropy(Activation_Softmax_Loss_CategoricalCrossentropy):
    """The notebook's spelling of :class:`Activation_Softmax_Loss_CategoricalCrossentropy`."""

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


class DropoutLayer(Layer_Dropout):
    """The notebook's spelling of :class:`Layer_Dropout`: ``DropoutLayer(rate)``."""
