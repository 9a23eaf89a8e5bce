"""``Model.train`` of the chapter-18 dropout model: compiled loop vs twin vs general path.

The model: spiral data 100 samples x 3 classes (X is 300x2), dense 2-64, ReLU,
``Layer_Dropout(0.1)``, dense 64-3, softmax + cross-entropy, Adam(lr=0.05,
decay=5e-5) -- the book's chapter-18 model without its L2 term -- trained full
batch (the book's chapter-18 ``train``).  One benchmark call is
``model.train(X, y, epochs=EPOCHS_PER_CALL, print_every=EPOCHS_PER_CALL)``
with stdout captured (the twin's ``Model`` prints its per-epoch lines whatever
``print_every`` is).  Rows, in one group per dtype:

* ``fastnn Model.train``  -- the compiled loop (dropout drawn in the kernel);
* ``fastnn general path`` -- the same fastnn model on the book's loop over
  the per-op classes (``book_loop``), what ran before dropout compiled;
* ``twin Model.train``    -- the NumPy twin's ``Model`` (the book's code).

``extra_info`` holds microseconds per epoch.  float64 is the book's code as
written; float32 runs after ``nnfs.init()`` (NumPy's patches undone after each
benchmark).  Each model keeps training across rounds (same work per epoch).
"""
import contextlib
import io
import os

import numpy as np
import pytest
from nnfs.datasets import spiral_data

import fastnn
import fastnn.reference as R
from benchmarks._common import PATCHED

EPOCHS_PER_CALL = 100
IMPLS = ["fastnn Model.train", "fastnn general path", "twin Model.train"]


@pytest.fixture(autouse=True)
def _restore_numpy():
    """Undo nnfs.init()'s patching of NumPy after each benchmark."""
    saved = [(mod, name, getattr(mod, name)) for mod, name in PATCHED]
    yield
    for mod, name, fn in saved:
        setattr(mod, name, fn)


def dropout_model(mod, dtype):
    if dtype == "float32":
        import nnfs
        nnfs.init()
    np.random.seed(0)
    X, y = spiral_data(samples=100, classes=3)
    model = mod.Model()
    model.add(mod.Layer_Dense(2, 64))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dropout(0.1))
    model.add(mod.Layer_Dense(64, 3))
    model.add(mod.Activation_Softmax())
    model.set(loss=mod.Loss_CategoricalCrossentropy(),
              optimizer=mod.Optimizer_Adam(learning_rate=0.05, decay=5e-5),
              accuracy=mod.Accuracy_Categorical())
    model.finalize()
    assert X.dtype == model.layers[0].weights.dtype == np.dtype(dtype)
    return model, X, y


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def bench_dropout_model_train(benchmark, dtype, impl):
    model, X, y = dropout_model(R if impl.startswith("twin") else fastnn, dtype)
    if impl == "fastnn general path":
        model._plan = None          # what Model.train ran before dropout compiled
    elif impl == "fastnn Model.train":
        assert model._plan is not None and model._plan.dropout
    sink = io.StringIO()

    def run():
        sink.seek(0)
        sink.truncate()
        with contextlib.redirect_stdout(sink):
            model.train(X, y, epochs=EPOCHS_PER_CALL, print_every=EPOCHS_PER_CALL)

    run()  # compile (or load from the cache)
    benchmark.group = f"dropout model epoch {dtype}: Model.train, compiled vs general vs twin"
    benchmark.extra_info.update(
        section="model", operation=f"ch18 dropout model epoch x{EPOCHS_PER_CALL}",
        size="spiral 300x2, 2-64-dropout-3", dtype=dtype, impl=impl,
        epochs_per_call=EPOCHS_PER_CALL, openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"))
    rounds = 30 if impl == "fastnn Model.train" else 8
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.disabled or benchmark.stats is None:
        return
    stats = benchmark.stats.stats
    benchmark.extra_info.update(us_per_epoch_median=stats.median / EPOCHS_PER_CALL * 1e6,
                                us_per_epoch_min=stats.min / EPOCHS_PER_CALL * 1e6)
