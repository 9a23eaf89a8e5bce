"""The independent NumPy twin of fastnn, used by the tests and benchmarks.

These are the plain NumPy classes of *Neural Networks from Scratch in Python*
(chapter 10 state, plus chapter 14's L1/L2 regularization and chapter
15's dropout), written exactly as the book does the math, in both
spellings:

* book API: ``Layer_Dense``, ``Activation_ReLU``, ``Activation_Softmax``,
  ``Loss``, ``Loss_CategoricalCrossentropy``,
  ``Activation_Softmax_Loss_CategoricalCrossentropy``, ``Optimizer_SGD``,
  ``Optimizer_Adagrad``, ``Optimizer_RMSprop``, ``Optimizer_Adam``, ``Layer_Dropout``;
* notebook API: ``DenseLayer``, ``ReLU``, ``SoftMax``, ``Loss``,
  ``CategoricalCrossEntropy``, ``SoftMaxCategoricalCrossEntropy``, ``SGD``,
  ``AdaGrad``, ``RMSProp``, ``Adam``, ``DropoutLayer``.

This package (one module per part of the book: layers, activations,
losses, optimizers) imports nothing but NumPy and never uses fastnn's kernels: it is
the yardstick fastnn is measured against.  ``np.dot``, ``np.zeros``,
``np.eye`` and ``np.random.randn`` are looked up on the ``np`` module at call
time, so ``nnfs.init()``'s monkey-patching affects this code exactly as it
affects a reader's own.
"""

__all__ = [
    # book API
    "Layer_Dense", "Activation_ReLU", "Activation_Softmax", "Loss",
    "Loss_CategoricalCrossentropy",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Optimizer_SGD", "Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam",
    # chapters 16-17 (and the notebook's names Sigmoid, BinaryCrossEntropyLoss), accuracies
    "Activation_Sigmoid", "Activation_Linear", "Loss_BinaryCrossentropy",
    "Loss_MeanSquaredError", "Loss_MeanAbsoluteError", "Sigmoid", "BinaryCrossEntropyLoss",
    "Accuracy", "Accuracy_Categorical", "Accuracy_Regression",
    # the book's Model (chapters 18-22)
    "Model", "Layer_Input",
    # notebook API
    "DenseLayer", "ReLU", "SoftMax", "CategoricalCrossEntropy",
    "SoftMaxCategoricalCrossEntropy", "SGD", "AdaGrad", "RMSProp", "Adam",
    # chapter 15, both spellings
    "Layer_Dropout", "DropoutLayer",
]

from .layers import DenseLayer, Layer_Dense  # noqa: E402
from .activations import Activation_ReLU, Activation_Softmax, ReLU, SoftMax  # noqa: E402
from .activations import Activation_Linear, Activation_Sigmoid, Sigmoid  # noqa: E402
from .accuracy import Accuracy, Accuracy_Categorical, Accuracy_Regression  # noqa: E402
from .losses import (Activation_Softmax_Loss_CategoricalCrossentropy,  # noqa: E402
                     CategoricalCrossEntropy, Loss, Loss_CategoricalCrossentropy,
                     SoftMaxCategoricalCrossEntropy)
from .losses import (BinaryCrossEntropyLoss, Loss_BinaryCrossentropy,  # noqa: E402
                     Loss_MeanAbsoluteError, Loss_MeanSquaredError)
from .optimizers import (SGD, AdaGrad, Adam, Optimizer_Adagrad, Optimizer_Adam,  # noqa: E402
                         Optimizer_RMSprop, Optimizer_SGD, RMSProp)
from .layers import DropoutLayer, Layer_Dropout  # noqa: E402
from .model import Layer_Input, Model  # noqa: E402
