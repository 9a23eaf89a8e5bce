"""``Model.train`` on the book's chapter 14, 16 and 17 models: fastnn's compiled
loop against the twin's ``Model`` (the book's Ch22 code on NumPy).

Models (as the chapters build them, trained full batch):

* ch14: 2-64-3 ReLU/softmax, L2 5e-4 on the first layer's weights and biases,
  no dropout, Adam(lr=0.02, decay=5e-7), ``spiral_data(100, 3)`` (300x2);
* ch16: 2-64-1 ReLU/sigmoid, binary cross-entropy, L2 5e-4 on the first layer,
  Adam(decay=5e-7), ``spiral_data(100, 2)`` (200x2), labels ``(200, 1)``;
* ch17: 1-64-64-1 ReLU/linear, mean squared error, Adam(lr=0.005, decay=1e-3),
  ``sine_data()`` (1000x1).

One call is ``EPOCHS`` epochs: ``model.train(X, y, epochs=EPOCHS, print_every=None,
verbose=False)`` for fastnn (one compiled call), ``model.train(X, y,
epochs=EPOCHS)`` for the twin, whose ``Model`` always prints (three lines per
epoch, written to a sink that drops them: the formatting is the book's code).
float64: the data and layers as NumPy makes them; float32: both cast (no
``nnfs.init()``).  Each group has the two rows; the fastnn row's ``extra_info``
also holds a head-to-head ratio (the two timed alternately, in the same run)
and microseconds per epoch.

    pytest benchmarks/bench_model_heads.py
"""
import contextlib

import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import (
    group_name,
    head_to_head,
    info,
    run_benchmark,
    tests_module,
)

models = tests_module("_book_models")  # the models the tests check

EPOCHS = 100
IMPLS = ["fastnn", "reference"]


CHAPTERS = {"ch14 L2 2-64-3": (models.spiral_classifier, "300x2"),
            "ch16 BCE 2-64-1": (models.binary, "200x2"),
            "ch17 MSE 1-64-64-1": (models.regression, "1000x1")}


class _Sink:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def build(mod, chapter, dtype):
    """The chapter's model from seed 0, finalized, and its data in ``dtype``."""
    np.random.seed(0)
    model, X, y = CHAPTERS[chapter][0](mod)
    X, y = models.cast(model, X, y, dtype)
    model.finalize()
    return model, X, y


def train_call(mod, chapter, dtype):
    model, X, y = build(mod, chapter, dtype)
    if mod is fastnn:
        assert model._plan is not None, "the compiled loop must run this model"
        return lambda: model.train(X, y, epochs=EPOCHS, print_every=None, verbose=False)
    sink = _Sink()

    def run():
        with contextlib.redirect_stdout(sink):
            model.train(X, y, epochs=EPOCHS)
    return run


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("chapter", list(CHAPTERS))
def bench_model_train_heads(benchmark, chapter, dtype, impl):
    fn = train_call(fastnn if impl == "fastnn" else R, chapter, dtype)
    size = CHAPTERS[chapter][1]
    extra = {}
    if impl == "fastnn":
        other = train_call(R, chapter, dtype)
        h2h = head_to_head({"fastnn": fn, "reference": other}, rounds=7)
        extra = dict(head_to_head_ratio=round(h2h["reference"] / h2h["fastnn"], 2),
                     head_to_head_us_per_epoch=round(h2h["fastnn"] / EPOCHS * 1e6, 2),
                     reference_us_per_epoch=round(h2h["reference"] / EPOCHS * 1e6, 2))
    run_benchmark(benchmark, fn, group=group_name("model", f"Model.train {chapter}", size, dtype),
                  info=info("model", f"Model.train {chapter}", size, dtype, impl,
                            epochs_per_call=EPOCHS, **extra), rounds="auto", budget=2.0)
    stats = benchmark.stats.stats if benchmark.stats else None
    if stats is not None:
        benchmark.extra_info["us_per_epoch"] = round(stats.median / EPOCHS * 1e6, 2)
