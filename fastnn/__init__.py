"""fastnn: the classes of *Neural Networks from Scratch in Python* on fused Numba kernels.

Switch a book script or the reader's notebook by changing one import line::

    from fastnn import Layer_Dense, Activation_ReLU, ...      # the book's names
    from fastnn import DenseLayer, ReLU, SoftMax, SGD, ...    # the notebook's names

``fastnn.reference`` holds the plain NumPy twin of every class.
"""
from .activations import Activation_ReLU, Activation_Softmax, ReLU, SoftMax
from .layers import DenseLayer, Layer_Dense
from .losses import (Activation_Softmax_Loss_CategoricalCrossentropy, CategoricalCrossEntropy,
                     Loss, Loss_CategoricalCrossentropy, SoftMaxCategoricalCrossEntropy)
from .optimizers import (SGD, AdaGrad, Adam, Optimizer_Adagrad, Optimizer_Adam,
                         Optimizer_RMSprop, Optimizer_SGD, RMSProp)
from .model import Accuracy_Categorical, Layer_Input, Model

__version__ = "0.1.0"

__all__ = [
    # book spelling
    "Layer_Dense", "Activation_ReLU", "Activation_Softmax", "Loss",
    "Loss_CategoricalCrossentropy", "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Optimizer_SGD", "Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam",
    # notebook spelling
    "DenseLayer", "ReLU", "SoftMax", "CategoricalCrossEntropy",
    "SoftMaxCategoricalCrossEntropy", "SGD", "AdaGrad", "RMSProp", "Adam",
    # the book's chapter-18 model
    "Model", "Layer_Input", "Accuracy_Categorical",
]
