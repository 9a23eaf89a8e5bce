"""fastnn: the classes of *Neural Networks from Scratch in Python* on fused Numba kernels.

Switch a book script or the reader's notebook by changing one import line::

    from fastnn import Layer_Dense, Activation_ReLU, ...      # the book's names
    from fastnn import DenseLayer, ReLU, SoftMax, SGD, ...    # the notebook's names

``fastnn.reference`` holds the plain NumPy twin of every class.
"""
import importlib.util as _util
import os as _os
import sys as _sys

# Run in a source checkout (``python -m pytest`` or ``python -m fastnn`` in the
# repository root), the checkout's fastnn/ shadows an installed copy, and its
# kernels are not in fastnn/kernels/ but beside it in kernels/ (setuptools maps
# them to fastnn.kernels on install).  Load that directory as fastnn.kernels,
# so the checkout runs with its own kernels; an installed fastnn skips this.
_kernels = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))), "kernels")
if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "kernels")) \
        and _os.path.isfile(_os.path.join(_kernels, "_jit.py")):
    _spec = _util.spec_from_file_location(f"{__name__}.kernels", _os.path.join(
        _kernels, "__init__.py"), submodule_search_locations=[_kernels])
    kernels = _sys.modules[_spec.name] = _util.module_from_spec(_spec)
    _spec.loader.exec_module(kernels)

from .activations import Activation_ReLU, Activation_Softmax
from .layers import Layer_Dense
from .losses import (Activation_Softmax_Loss_CategoricalCrossentropy, Loss,
                     Loss_CategoricalCrossentropy)
from .optimizers import Optimizer_Adagrad, Optimizer_Adam, Optimizer_RMSprop, Optimizer_SGD
from .model import Accuracy_Categorical, Layer_Input, Model
from .notebook import (SGD, AdaGrad, Adam, CategoricalCrossEntropy, DenseLayer, ReLU, RMSProp,
                       SoftMax, SoftMaxCategoricalCrossEntropy, DropoutLayer)
from .dropout import Layer_Dropout

__version__ = "0.1.0"

# chapters 16-17 (the book's spelling, the notebook's names, the accuracies)
from .activations import Activation_Linear, Activation_Sigmoid  # noqa: E402
from .elementwise_losses import (Loss_BinaryCrossentropy,  # noqa: E402
                                 Loss_MeanAbsoluteError, Loss_MeanSquaredError)
from .metrics import Accuracy, Accuracy_Regression  # noqa: E402
from .notebook import BinaryCrossEntropyLoss, Sigmoid  # noqa: E402

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
    # chapter 15, both spellings
    "Layer_Dropout", "DropoutLayer",
]

__all__ += [
    "Activation_Sigmoid", "Activation_Linear", "Loss_BinaryCrossentropy",
    "Loss_MeanSquaredError", "Loss_MeanAbsoluteError", "Sigmoid", "BinaryCrossEntropyLoss",
    "Accuracy", "Accuracy_Regression",
]

# the BLAS thread policy (see fastnn/_blas_threads.py)
from ._blas_threads import set_blas_thread_policy  # noqa: E402

__all__ += ["set_blas_thread_policy"]
