"""The dropout layer's mask draw (ch15): fastnn's legacy-stream kernel vs NumPy.

The book's ``Layer_Dropout(0.1)`` draws ``np.random.binomial(1, 0.9, shape) / 0.9``
from the global ``RandomState``; fastnn draws the same bits with
``fastnn.kernels.random.dropout_mask``.  Sizes: the seed's hidden layer
(batch 300 x 64) and a Ch19 layer (batch 128 x 128).  The mask is float64
whatever the inputs' dtype (int64 draws / a Python float).

Rows of each group:

* ``fastnn``    -- ``dropout_mask(p, shape)``: what a layer call pays (new
  array, generator lock, the kernel advancing the live global state in place);
* ``kernel``    -- the bare ``dropout_mask_fill`` on a preallocated output and a
  private copy of the state words;
* ``reference`` -- the book's ``np.random.binomial(1, p, shape) / p``;
* ``probe``     -- ``np.random.get_state()`` + ``np.random.set_state()`` alone:
  what a design copying the state out and back would add to every call.

Every row except ``kernel`` advances the global generator; none reseeds it.
"""
import numpy as np
import pytest

from benchmarks._common import group_name, info, run_benchmark
from fastnn.kernels import random as FR

OPERATION = "dropout mask draw"
SIZES = {"300x64": (300, 64), "128x128": (128, 128)}
IMPLS = ["fastnn", "kernel", "reference", "probe"]
P = 1 - 0.1     # Layer_Dropout(0.1): the book's "inverted rate"


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(SIZES))
def bench_dropout_mask(benchmark, size, impl):
    shape = SIZES[size]
    np.random.seed(0)
    if impl == "fastnn":
        fn = lambda: FR.dropout_mask(P, shape)  # noqa: E731
    elif impl == "kernel":
        key = np.random.get_state()[1].copy()
        out = np.empty(shape[0] * shape[1], np.float64)
        pos = np.zeros(1, np.int64)

        def fn():
            pos[0] = FR.dropout_mask_fill(key, pos[0], P, out)
    elif impl == "reference":
        fn = lambda: np.random.binomial(1, P, size=shape) / P  # noqa: E731
    else:
        fn = lambda: np.random.set_state(np.random.get_state())  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", OPERATION, size, "float64"),
                  info=info("op", OPERATION, size, "float64", impl))
