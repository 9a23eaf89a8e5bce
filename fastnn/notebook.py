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

__all__ = ["DenseLayer", "ReLU", "SoftMax", "CategoricalCrossEntropy",
           "SoftMaxCategoricalCrossEntropy"]


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
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Alias of ``{name}``."
    return call


def install(cls, attributes=None, methods=None):
    """Install notebook-name aliases on a book class: {notebook name: book name}."""
    for nb, book in (attributes or {}).items():
        setattr(cls, nb, alias(book))
    for nb, book in (methods or {}).items():
        setattr(cls, nb, method_alias(book))


class DenseLayer(Layer_Dense):
    """The notebook's spelling: ``DenseLayer(nInputs, nNeurons)``."""

    def __init__(self, nInputs, nNeurons):
        super().__init__(nInputs, nNeurons)


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
