"""The seed experiment, written once: the notebook's seven optimizers, its data, its loop.

The seed notebook (chapter 10, "Optimizers") trains a 2-64-3 network on nnfs's spiral
data (100 samples per class, 3 classes) for 10000 epochs, once with each of seven
optimizer configurations.  ``fastnn compare``, the tests and the benchmarks all read
that experiment from here:

- :data:`SEED_CONFIGS`: the seven configurations, each an :class:`OptimizerConfig`
  holding the optimizer call as the notebook writes it and as the book writes it;
- :func:`spiral`, :func:`initial_weights`, :func:`seed_data`: the data and the
  initial weights, from NumPy's seeded generator in the notebook's order;
- :class:`NotebookLoop` / :func:`run_notebook_loop`: the notebook's per-op training
  loop, on the classes of any module with the book's names (``fastnn``,
  ``fastnn.reference``), in either spelling;
- :func:`seed_model` / :func:`run_model`: the same network as the book's chapter-18
  ``Model``, trained in one compiled call;

The module itself needs NumPy only: nnfs, matplotlib and fastnn's classes are imported
by the functions that use them.  (Importing it as ``fastnn.experiments`` still runs
``fastnn/__init__``, which imports the classes and Numba.)
"""
from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = ["SAMPLES", "CLASSES", "HIDDEN", "INPUTS", "SEED", "EPOCHS", "DTYPES", "SPELLINGS",
           "OptimizerConfig", "SEED_CONFIGS", "config", "spiral", "initial_weights",
           "seed_data", "NotebookLoop", "run_notebook_loop", "seed_model", "run_model"]

SAMPLES = 100      # spiral_data(samples=100, classes=3): X is 300 x 2
CLASSES = 3
INPUTS = 2
HIDDEN = 64        # DenseLayer(2, 64), DenseLayer(64, 3)
SEED = 0           # nnfs.init() seeds NumPy's global generator with 0
EPOCHS = 10000     # for epoch in range(10000)
DTYPES = ("float64", "float32")  # float64: the notebook as written; float32: after nnfs.init()

# The names that differ between the two spellings of the same classes.
SPELLINGS = {
    "notebook": MappingProxyType(dict(
        dense="DenseLayer", relu="ReLU", softmax="SoftMax", cce="CategoricalCrossEntropy",
        combined="SoftMaxCategoricalCrossEntropy",
        pre="preUpdateParams", update="updateParams", post="postUpdateParams",
        lr="lr", lr_curr="lr_curr", iteration="iteration")),
    "book": MappingProxyType(dict(
        dense="Layer_Dense", relu="Activation_ReLU", softmax="Activation_Softmax",
        cce="Loss_CategoricalCrossentropy",
        combined="Activation_Softmax_Loss_CategoricalCrossentropy",
        pre="pre_update_params", update="update_params", post="post_update_params",
        lr="learning_rate", lr_curr="current_learning_rate", iteration="iterations")),
}


def _parse_call(text):
    """``"Adam(lr=0.05, decay=5e-7)"`` -> ``("Adam", {"lr": 0.05, "decay": 5e-7})``.

    The call text is the definition (it is what the notebook and the book print, and
    what the tests paste into the readers' loops); the kwargs are read from it, so the
    two can never disagree."""
    try:
        node = ast.parse(text, mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
                and all(k.arg for k in node.keywords)):
            raise ValueError("not a call Name(keyword=literal, ...)")
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"optimizer call {text!r} is not of the form "
                         f"Name(keyword=literal, ...): {exc}") from None
    return node.func.id, MappingProxyType(kwargs)


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer configuration, as the seed notebook and as the book write it.

    ``notebook``/``book`` are the calls verbatim (``"SGD(decay=1e-3, momentum=0.5)"``,
    ``"Optimizer_SGD(learning_rate=1, decay=1e-3, momentum=0.5)"``); either may be None
    for a configuration only one of them has.  ``hooks``: whether the notebook's cell
    calls the pre/post update hooks (its first, plain ``SGD()`` cell does not).
    ``label`` is the notebook's call without spaces (the book's where the notebook has
    none): the name of the configuration in tables, test ids and benchmark rows.
    """
    notebook: str | None
    book: str | None
    hooks: bool = True
    label: str = field(init=False, compare=False)
    _calls: MappingProxyType = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        calls = {s: _parse_call(getattr(self, s)) for s in SPELLINGS if getattr(self, s)}
        if not calls:
            raise ValueError("an OptimizerConfig needs the notebook's or the book's call")
        object.__setattr__(self, "_calls", MappingProxyType(calls))
        object.__setattr__(self, "label", (self.notebook or self.book).replace(" ", ""))

    def _call(self, spelling):
        try:
            return self._calls[spelling]
        except KeyError:
            raise ValueError(f"{self.label} has no {spelling!r} spelling (it has "
                             f"{sorted(self._calls)})") from None

    def call(self, spelling="notebook"):
        """The call as that spelling writes it, e.g. ``"Adam(lr=0.05, decay=5e-7)"``."""
        self._call(spelling)
        return getattr(self, spelling)

    def class_name(self, spelling="notebook"):
        return self._call(spelling)[0]

    def kwargs(self, spelling="notebook"):
        """A fresh dict of the keyword arguments (callers may change it)."""
        return dict(self._call(spelling)[1])

    def make(self, module, spelling="notebook"):
        """The optimizer, built from the class of that name in ``module``."""
        return getattr(module, self.class_name(spelling))(**self.kwargs(spelling))


# The seed notebook's seven training cells (shared/seed/chapter10-optimizers.md), in order,
# with the book's call for the same optimizer (the book writes SGD's learning_rate=1 out).
SEED_CONFIGS = (
    OptimizerConfig("SGD()", "Optimizer_SGD()", hooks=False),
    OptimizerConfig("SGD(decay=1e-3)", "Optimizer_SGD(decay=1e-3)"),
    OptimizerConfig("SGD(decay=1e-3, momentum=0.5)",
                    "Optimizer_SGD(learning_rate=1, decay=1e-3, momentum=0.5)"),
    OptimizerConfig("SGD(decay=1e-3, momentum=0.9)",
                    "Optimizer_SGD(learning_rate=1, decay=1e-3, momentum=0.9)"),
    OptimizerConfig("AdaGrad(decay=1e-4)", "Optimizer_Adagrad(decay=1e-4)"),
    OptimizerConfig("RMSProp(lr=0.02, decay=1e-5, rho=0.999)",
                    "Optimizer_RMSprop(learning_rate=0.02, decay=1e-5, rho=0.999)"),
    OptimizerConfig("Adam(lr=0.05, decay=5e-7)",
                    "Optimizer_Adam(learning_rate=0.05, decay=5e-7)"),
)


def config(label):
    """The seed configuration of that label, e.g. ``config("Adam(lr=0.05,decay=5e-7)")``."""
    for c in SEED_CONFIGS:
        if c.label == label.replace(" ", ""):
            return c
    raise KeyError(f"no seed configuration {label!r}; they are "
                   f"{[c.label for c in SEED_CONFIGS]}")


# ----------------------------------------------------------------------------- data

def spiral(samples=SAMPLES, classes=CLASSES, seed=SEED, dtype=None):
    """nnfs's spiral data drawn from NumPy's global generator seeded with ``seed``;
    X cast to ``dtype`` if given (else as nnfs makes it: float64, or float32 after
    ``nnfs.init()``).  The generator is left where the data left it, as in the notebook."""
    from nnfs.datasets import spiral_data

    np.random.seed(seed)
    X, y = spiral_data(samples=samples, classes=classes)
    if dtype is not None:
        X = X.astype(dtype, copy=False)
    return X, y


def initial_weights(rng=np.random, shape=(INPUTS, HIDDEN, CLASSES), dtype=None):
    """The reference's initial weights ``0.01 * randn``, the first layer's then the
    second's, drawn from ``rng`` (NumPy's global generator by default, as the layers
    draw them; or e.g. a ``np.random.RandomState``)."""
    w1 = 0.01 * rng.randn(shape[0], shape[1])
    w2 = 0.01 * rng.randn(shape[1], shape[2])
    if dtype is not None:
        w1, w2 = w1.astype(dtype, copy=False), w2.astype(dtype, copy=False)
    return w1, w2


def seed_data(samples=SAMPLES, seed=SEED, dtype="float64"):
    """``(X, y, w1, w2)`` as the notebook draws them from one seeded global generator:
    the spiral data first, then dense1's and dense2's weights; X and weights in ``dtype``."""
    X, y = spiral(samples, CLASSES, seed)
    w1, w2 = initial_weights(np.random, (INPUTS, HIDDEN, CLASSES))
    return X.astype(dtype), y, w1.astype(dtype), w2.astype(dtype)


# ----------------------------------------------------------------------------- the loop

class NotebookLoop:
    """The seed notebook's network (dense 2-64, ReLU, dense 64-3, softmax + CE) driven by
    its per-op loop, with the classes of ``module`` in ``spelling``.

    ``optimizer`` is an optimizer instance.  With ``w1``/``w2`` the layers start from
    copies of them in ``dtype`` (default: theirs) and zero biases, as user code may
    assign them; without, from their own draws of NumPy's global generator.
    ``hooks=False`` leaves out the pre/post update hooks, as the notebook's first cell.
    """

    def __init__(self, module, optimizer, X, y, w1=None, w2=None, *, spelling="notebook",
                 hooks=True, dtype=None, shape=(INPUTS, HIDDEN, CLASSES)):
        n = self.names = SPELLINGS[spelling]
        self.module, self.X, self.y, self.hooks = module, X, y, hooks
        if w1 is not None:
            shape = (w1.shape[0], w1.shape[1], w2.shape[1])
        # created in the notebook's order: the dense layers draw from the global generator
        self.dense1 = getattr(module, n["dense"])(shape[0], shape[1])
        self.activation1 = getattr(module, n["relu"])()
        self.dense2 = getattr(module, n["dense"])(shape[1], shape[2])
        if w1 is not None:
            dtype = w1.dtype if dtype is None else dtype
            self.dense1.weights = np.array(w1, dtype=dtype, copy=True)
            self.dense1.biases = np.zeros((1, shape[1]), dtype=dtype)
            self.dense2.weights = np.array(w2, dtype=dtype, copy=True)
            self.dense2.biases = np.zeros((1, shape[2]), dtype=dtype)
        self.loss_activation = getattr(module, n["combined"])()
        self.optimizer = optimizer

    @property
    def layers(self):
        return (self.dense1, self.dense2)

    def forward(self):
        """Forward pass and accuracy: ``(loss, accuracy)``."""
        self.dense1.forward(self.X)
        self.activation1.forward(self.dense1.output)
        self.dense2.forward(self.activation1.output)
        loss = self.loss_activation.forward(self.dense2.output, self.y)
        predictions = np.argmax(self.loss_activation.output, axis=1)
        y = self.y
        if len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        return loss, np.mean(predictions == y)

    def backward(self):
        la = self.loss_activation
        la.backward(la.output, self.y)
        self.dense2.backward(la.dinputs)
        self.activation1.backward(self.dense2.dinputs)
        self.dense1.backward(self.activation1.dinputs)

    def update(self):
        n, opt = self.names, self.optimizer
        if self.hooks:
            getattr(opt, n["pre"])()
        getattr(opt, n["update"])(self.dense1)
        getattr(opt, n["update"])(self.dense2)
        if self.hooks:
            getattr(opt, n["post"])()

    def step(self):
        """One pass of the loop's body: ``(loss, accuracy)`` of its forward pass."""
        loss, accuracy = self.forward()
        self.backward()
        self.update()
        return loss, accuracy


def run_notebook_loop(module, cfg, X, y, w1, w2, epochs, progress=None):
    """``epochs`` epochs of the notebook's loop with ``cfg``'s optimizer (notebook
    spelling) on the classes of ``module``: ``(losses, accuracies, seconds)``.

    ``progress(epochs_done)`` is called about 50 times, as ``Model.train``'s callback."""
    loop = NotebookLoop(module, cfg.make(module), X, y, w1, w2)
    losses = np.empty(epochs)
    accuracies = np.empty(epochs)
    chunk = max(1, epochs // 50)
    start = time.perf_counter()
    for epoch in range(epochs):
        losses[epoch], accuracies[epoch] = loop.step()
        if progress is not None and ((epoch + 1) % chunk == 0 or epoch + 1 == epochs):
            progress(epoch + 1)
    return losses, accuracies, time.perf_counter() - start


def seed_model(cfg, w1=None, w2=None):
    """The seed's network as the book's chapter-18 ``fastnn.Model`` (finalized) with
    ``cfg``'s optimizer; the dense layers start from copies of ``w1``/``w2`` and zero
    biases if given, else from their own draws of NumPy's global generator."""
    import fastnn

    if w1 is None:
        dense1, dense2 = fastnn.DenseLayer(INPUTS, HIDDEN), fastnn.DenseLayer(HIDDEN, CLASSES)
    else:
        dense1, dense2 = fastnn.DenseLayer(*w1.shape), fastnn.DenseLayer(*w2.shape)
        dense1.weights, dense2.weights = w1.copy(), w2.copy()
        dense1.biases = np.zeros((1, w1.shape[1]), w1.dtype)
        dense2.biases = np.zeros((1, w2.shape[1]), w2.dtype)
    model = fastnn.Model()
    for layer in (dense1, fastnn.ReLU(), dense2, fastnn.SoftMax()):
        model.add(layer)
    model.set(loss=fastnn.CategoricalCrossEntropy(), optimizer=cfg.make(fastnn),
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    return model


def run_model(cfg, X, y, w1, w2, epochs, progress=None):
    """``epochs`` epochs of :func:`seed_model` with ``cfg``'s optimizer, trained by
    ``Model.train`` (the whole loop compiled): ``(losses, accuracies, seconds)``.

    ``progress(epochs_done)`` is called about 50 times."""
    model = seed_model(cfg, w1, w2)
    start = time.perf_counter()
    history = model.train(X, y, epochs=epochs, print_every=max(1, epochs // 50),
                          verbose=False, callback=progress)
    return history.loss, history.accuracy, time.perf_counter() - start
