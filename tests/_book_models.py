"""The book's ``Model`` set-ups of chapters 14-19, built from a module's classes.

Each builder takes a module (``fastnn`` or ``fastnn.reference``) and returns
``(model, X, y)`` unfinalized, with the data as ``nnfs.datasets`` makes it:
the same code builds both sides, as when a reader changes the import line.
The data is drawn before the layers, as in the book, so a seed before the call
fixes both.  Shared by the tests (``from _book_models import ...``: pytest puts
``tests/`` on ``sys.path``) and ``benchmarks/bench_model_heads.py`` (by file path).
"""
import re

import numpy as np
from nnfs.datasets import sine_data, spiral_data

BOOK_L2 = dict(weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4)  # chapters 14-18


def spiral_classifier(mod, reg=BOOK_L2, dropout=None, learning_rate=0.02, decay=5e-7):
    """2-64-3 ReLU/softmax on ``spiral_data(100, 3)``, regularizers ``reg`` on the first
    layer, an optional dropout layer after its ReLU.  The defaults are chapter 14's
    model; chapter 18's is ``dropout=0.1, learning_rate=0.05, decay=5e-5``."""
    X, y = spiral_data(samples=100, classes=3)
    model = mod.Model()
    model.add(mod.Layer_Dense(2, 64, **reg))
    model.add(mod.Activation_ReLU())
    if dropout is not None:
        model.add(mod.Layer_Dropout(dropout))
    model.add(mod.Layer_Dense(64, 3))
    model.add(mod.Activation_Softmax())
    model.set(loss=mod.Loss_CategoricalCrossentropy(),
              optimizer=mod.Optimizer_Adam(learning_rate=learning_rate, decay=decay),
              accuracy=mod.Accuracy_Categorical())
    return model, X, y


def chapter18_classifier(mod):
    """Chapter 18's model: L2 on the first layer, dropout 0.1, softmax classifier."""
    return spiral_classifier(mod, dropout=0.1, learning_rate=0.05, decay=5e-5)


def binary(mod, reg=BOOK_L2):
    """Chapters 16/18: 2-64-1 sigmoid with binary cross-entropy on ``spiral_data(100, 2)``,
    labels reshaped to ``(200, 1)``."""
    X, y = spiral_data(samples=100, classes=2)
    model = mod.Model()
    model.add(mod.Layer_Dense(2, 64, **reg))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dense(64, 1))
    model.add(mod.Activation_Sigmoid())
    model.set(loss=mod.Loss_BinaryCrossentropy(), optimizer=mod.Optimizer_Adam(decay=5e-7),
              accuracy=mod.Accuracy_Categorical(binary=True))
    return model, X, y.reshape(-1, 1)


def regression(mod, reg=None, loss="Loss_MeanSquaredError"):
    """Chapters 17/18: 1-64-64-1 on ``sine_data()``, linear output with mean squared (or
    absolute) error, regularizers ``reg`` on the first layer."""
    X, y = sine_data()
    model = mod.Model()
    model.add(mod.Layer_Dense(1, 64, **(reg or {})))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dense(64, 64))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dense(64, 1))
    model.add(mod.Activation_Linear())
    model.set(loss=getattr(mod, loss)(),
              optimizer=mod.Optimizer_Adam(learning_rate=0.005, decay=1e-3),
              accuracy=mod.Accuracy_Regression())
    return model, X, y


def fashion_like(mod):
    """Chapter 19's network on Fashion-MNIST-shaped data (generated: no download)."""
    rng = np.random.default_rng(19)
    X = (rng.integers(0, 256, (1000, 784)) - 127.5) / 127.5
    y = rng.integers(0, 10, 1000).astype(np.uint8)
    model = mod.Model()
    model.add(mod.Layer_Dense(784, 128))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dense(128, 128))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dense(128, 10))
    model.add(mod.Activation_Softmax())
    model.set(loss=mod.Loss_CategoricalCrossentropy(), optimizer=mod.Optimizer_Adam(decay=1e-3),
              accuracy=mod.Accuracy_Categorical())
    return model, X, y


def cast(model, X, y, dtype):
    """The layers' parameters, ``X`` and float targets in ``dtype`` (no ``nnfs.init()``)."""
    for layer in model.layers:
        if hasattr(layer, "weights"):
            layer.weights = layer.weights.astype(dtype)
            layer.biases = layer.biases.astype(dtype)
    return X.astype(dtype), (y.astype(dtype) if y.dtype.kind == "f" else y)


NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")


def assert_lines_close(fast, twin, rtol, atol):
    """Printed lines pairwise: the same words in the same order, and the numbers
    within ``|fast - twin| <= atol + rtol * |twin|`` (float32 runs: the printed
    precision, where exact equality would depend on summation order)."""
    for a, b in zip(fast, twin):
        assert NUMBER.sub("#", a) == NUMBER.sub("#", b), (a, b)  # same words, same order
        np.testing.assert_allclose([float(v) for v in NUMBER.findall(a)],
                                   [float(v) for v in NUMBER.findall(b)],
                                   rtol=rtol, atol=atol, err_msg=f"{a}\n{b}")
