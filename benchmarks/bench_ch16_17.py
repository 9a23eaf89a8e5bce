"""Chapters 16-17: each new operation alone, and each chapter's per-op training epoch.

Operations at the chapters' sizes (plain float32/float64 arrays, no ``nnfs.init()``):

* chapter 16 (``spiral_data(100, 2)``, one output): sigmoid forward/backward and
  binary cross-entropy forward/backward on 200x1, labels uint8 ``(200, 1)``;
* chapter 17 (``sine_data()``, 1000 samples, one output): linear forward/backward,
  mean squared and mean absolute error forward/backward on 1000x1, float targets.

Rows: ``fastnn`` (the class API), ``kernel`` (the bare kernel on preallocated
outputs; the gap to ``fastnn`` is the API's overhead), ``reference`` (the twin).

Chapter epochs: one call is one pass of the body of the chapter's
``for epoch in range(10001):`` loop, the book's text executed as it stands
(``tests/_chapters.py``; the progress line formatted, not printed), with
fastnn's classes or the twin's (the import line is the only difference).
float64 is the script seeded with ``np.random.seed(0)``; float32 is the script
as the book runs it, after ``nnfs.init()``.  Until chapter 14's regularizers
are in fastnn and the twin, the scripts run without their regularization
lines (``extra_info["script"]`` says which).  The ``fastnn`` row also times
both loops alternately (``extra_info["head_to_head"]``), since separate rows
run minutes apart on a machine whose speed drifts.  Target: each chapter's
epoch at least 4x the twin's, in both dtypes.

Chapter 16's ``floor`` row is its script on classes that only allocate their
results and move the bytes each call must read and write
(``benchmarks/_floor_ch16.py``), the least any per-op implementation of the
script costs; the ``fastnn`` row times it in the same alternation and records
``speedup_bound`` (twin epoch / floor) and ``fastnn_pct_of_bound`` (floor /
fastnn epoch).

Chapter 17's twin spends most of its epoch in three 1000x64x64 matrix
products that no implementation can skip: its ``fastnn`` row also times, in
the same alternation, the epoch's nine products alone (``ch17_products``:
``np.dot`` into preallocated outputs, the twin's BLAS, the run's dtype; at
the twin's thread count and at one thread, the count fastnn's thread policy
gives products of this size) and records ``speedup_bound`` (twin epoch /
products: the most any implementation could gain on this BLAS) and
``fastnn_pct_of_bound`` (products / fastnn epoch), with ``_one_thread``
variants.  The same alternation runs fastnn's loop with its BLAS thread
policy off (``set_blas_thread_policy(0)``, products at BLAS's own thread
count as the twin's): ``speedup_blas_own_threads``.  Under ``nnfs.init()`` the twin's ``np.dot``
computes in float64 and returns float32; the bound is taken at float32, the
dtype a float32 implementation computes in.
"""
import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import (blas_own_threads, group_name, head_to_head, info, run_benchmark,
                                tests_module)
from fastnn.kernels import binary as KB
from fastnn.kernels import regression as KR

chapters = tests_module("_chapters")

IMPLS = ["fastnn", "kernel", "reference"]
CH16, CH17 = "ch16 200x1", "ch17 1000x1"
EPOCH_TARGET = 4.0
_NUMPY_DOT = np.dot  # NumPy's own, taken before any nnfs.init() replaces it


def _ch16_data(dtype):
    rng = np.random.default_rng(16)
    z = (3 * rng.standard_normal((200, 1))).astype(dtype)
    y = rng.integers(0, 2, (200, 1)).astype(np.uint8)  # spiral_data's labels, reshaped
    p = (1 / (1 + np.exp(-z))).astype(dtype)
    d = rng.standard_normal((200, 1)).astype(dtype)
    return z, y, p, d


def _ch17_data(dtype):
    x = np.arange(1000).reshape(-1, 1) / 1000
    y = np.sin(2 * np.pi * x).astype(dtype)  # sine_data's targets
    p = (y + 0.1 * np.random.default_rng(17).standard_normal(y.shape)).astype(dtype)
    return p, y


def _run(benchmark, fn, op, size, dtype, impl):
    run_benchmark(benchmark, fn, group=group_name("op", op, size, dtype),
                  info=info("op", op, size, dtype, impl))


@pytest.mark.parametrize("impl", IMPLS)
def bench_sigmoid_forward(benchmark, dtype, impl):
    z, _, _, _ = _ch16_data(dtype)
    if impl == "kernel":
        out = np.empty_like(z)
        fn = lambda: KB.sigmoid_forward(z, out)  # noqa: E731
    else:
        act = (fastnn if impl == "fastnn" else R).Activation_Sigmoid()
        fn = lambda: act.forward(z)  # noqa: E731
    _run(benchmark, fn, "sigmoid forward", CH16, dtype, impl)


@pytest.mark.parametrize("impl", IMPLS)
def bench_sigmoid_backward(benchmark, dtype, impl):
    z, _, p, d = _ch16_data(dtype)
    if impl == "kernel":
        out = np.empty_like(z)
        fn = lambda: KB.sigmoid_backward(p, d, out)  # noqa: E731
    else:
        act = (fastnn if impl == "fastnn" else R).Activation_Sigmoid()
        act.forward(z)
        fn = lambda: act.backward(d)  # noqa: E731
    _run(benchmark, fn, "sigmoid backward", CH16, dtype, impl)


@pytest.mark.parametrize("impl", IMPLS)
def bench_bce_forward(benchmark, dtype, impl):
    _, y, p, _ = _ch16_data(dtype)
    if impl == "kernel":
        losses = np.empty((1, 200), dtype)
        labels = y.reshape(-1)
        fn = lambda: KB.bce_forward_labels(p, labels, losses)  # noqa: E731
    else:
        loss = (fastnn if impl == "fastnn" else R).Loss_BinaryCrossentropy()
        fn = lambda: loss.forward(p, y)  # noqa: E731
    _run(benchmark, fn, "binary cross-entropy forward", CH16, dtype, impl)


@pytest.mark.parametrize("impl", IMPLS)
def bench_bce_backward(benchmark, dtype, impl):
    _, y, p, _ = _ch16_data(dtype)
    if impl == "kernel":
        out = np.empty_like(p)
        labels = y.reshape(-1)
        fn = lambda: KB.bce_backward_labels(p, labels, out)  # noqa: E731
    else:
        loss = (fastnn if impl == "fastnn" else R).Loss_BinaryCrossentropy()
        fn = lambda: loss.backward(p, y)  # noqa: E731
    _run(benchmark, fn, "binary cross-entropy backward", CH16, dtype, impl)


@pytest.mark.parametrize("impl", ["fastnn", "reference"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def bench_linear(benchmark, dtype, impl, direction):
    p, _ = _ch17_data(dtype)
    act = (fastnn if impl == "fastnn" else R).Activation_Linear()
    fn = (lambda: act.forward(p)) if direction == "forward" else (lambda: act.backward(p))
    _run(benchmark, fn, f"linear {direction}", CH17, dtype, impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("loss_name", ["mse", "mae"])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def bench_regression_loss(benchmark, dtype, impl, loss_name, direction):
    p, y = _ch17_data(dtype)
    if impl == "kernel":
        kernel = getattr(KR, f"{loss_name}_{direction}")
        out = np.empty((1, 1000) if direction == "forward" else p.shape, dtype)
        fn = lambda: kernel(p, y, out)  # noqa: E731
    else:
        mod = fastnn if impl == "fastnn" else R
        loss = (mod.Loss_MeanSquaredError if loss_name == "mse" else mod.Loss_MeanAbsoluteError)()
        fn = (lambda: loss.forward(p, y)) if direction == "forward" else (
            lambda: loss.backward(p, y))
    what = {"mse": "mean squared error", "mae": "mean absolute error"}[loss_name]
    _run(benchmark, fn, f"{what} {direction}", CH17, dtype, impl)


# ---------------------------------------------------------------------------
# The chapters' per-op training epochs
# ---------------------------------------------------------------------------

SIZES = {16: "spiral 200x2, 2-64-1, sigmoid + BCE, Adam",
         17: "sine 1000x1, 1-64-64-1, linear + MSE, Adam"}


def _loop(chapter, mod, dtype, regularized):
    return chapters.EpochLoop(chapter, mod, init=dtype == "float32", regularized=regularized)


def ch17_products(dtype, which="all"):
    """One call: the matrix products of one chapter-17 epoch (1-64-64-1 on 1000
    samples), each ``np.dot`` into a preallocated output -- the twin's products,
    at the same BLAS and thread count, with nothing else.  ``which="large"``:
    only dense2's three 1000x64x64 products, as fastnn's ``gemm_blas`` (the
    routine its dense kernels call) computes them.

    The epoch time of any implementation that does these products is at least
    this; the twin's epoch over it is the highest speed-up over the twin any
    implementation could reach on this BLAS."""
    rng = np.random.default_rng(17)
    r = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    x, w1, w2, w3 = r(1000, 1), r(1, 64), r(64, 64), r(64, 1)
    a1, a2, d1, d2, d3 = r(1000, 64), r(1000, 64), r(1000, 64), r(1000, 64), r(1000, 1)
    if which == "large":
        from fastnn.kernels.blas import gemm_blas
        o1, o2, o3 = r(1000, 64), r(64, 64), r(1000, 64)

        def large():
            gemm_blas(a1, False, w2, False, o1, False)   # dense2 forward
            gemm_blas(a1, True, d2, False, o2, False)    # dense2 dweights
            gemm_blas(d2, False, w2, True, o3, False)    # dense2 dinputs
        return large
    products = [(x, w1), (a1, w2), (a2, w3),            # forward
                (a2.T, d3), (d3, w3.T),                 # dense3 backward
                (a1.T, d2), (d2, w2.T),                 # dense2 backward
                (x.T, d1), (d1, w1.T)]                  # dense1 backward
    outs = [np.empty((a.shape[0], b.shape[1]), dtype) for a, b in products]
    dot = _NUMPY_DOT

    def every():
        for (a, b), o in zip(products, outs):
            dot(a, b, out=o)
    return every


def _one_blas_thread(fn):
    """``fn`` run with every BLAS library limited to one thread (the libraries'
    own get/set calls, ~1 us, not threadpoolctl's ~9 us context)."""
    from threadpoolctl import ThreadpoolController
    libs = ThreadpoolController().select(user_api="blas").lib_controllers

    def limited():
        before = [lib.get_num_threads() for lib in libs]
        for lib in libs:
            lib.set_num_threads(1)
        try:
            fn()
        finally:
            for lib, n in zip(libs, before):
                lib.set_num_threads(n)
    return limited


# chapter 16's floor: its script on classes that only allocate their results and
# move the bytes each call must read and write (benchmarks/_floor_ch16.py)
FLOOR16 = "benchmarks._floor_ch16"
_EPOCH_IMPLS = [(16, "fastnn"), (16, "reference"), (16, "floor"),
                (17, "fastnn"), (17, "reference")]


@pytest.mark.parametrize("chapter,impl", _EPOCH_IMPLS)
def bench_chapter_epoch(benchmark, chapter, dtype, impl):
    regularized = chapters.supports_regularization(fastnn, R)
    script = "the book's" if regularized else "the book's without its regularization lines"
    mod = {"fastnn": "fastnn", "reference": "fastnn.reference", "floor": FLOOR16}[impl]
    fn = _loop(chapter, mod, dtype, regularized)
    w = fn.ns["dense1"].weights  # (chapter 17's X and y are float64 either way: sine_data)
    assert w.dtype == np.dtype(dtype), w.dtype
    extra = dict(script=script, nnfs_init=dtype == "float32", target_speedup=EPOCH_TARGET)
    if impl == "fastnn" and not benchmark.disabled:
        # both per-op loops alternately (fresh ones, so the timed loop's state is its own)
        pair = {"fastnn": _loop(chapter, "fastnn", dtype, regularized),
                "reference": _loop(chapter, "fastnn.reference", dtype, regularized)}
        if chapter == 16:  # the floor, timed in the same alternation
            pair["floor"] = _loop(chapter, FLOOR16, dtype, regularized)
        if chapter == 17:  # the products alone, timed in the same alternation
            pair["products"] = ch17_products(dtype)
            pair["products_one_thread"] = _one_blas_thread(ch17_products(dtype))
            pair["products_large_fastnn_blas"] = _one_blas_thread(ch17_products(dtype, "large"))
            # fastnn as a user of a machine of their own may set it (README)
            pair["fastnn_blas_own_threads"] = blas_own_threads(
                _loop(chapter, "fastnn", dtype, regularized))
        # chapter 16's epochs are ~30 us: blocks of 20 calls after each 50 ms gap
        # timed mostly the first calls' cold caches (fastnn 36-39 us against
        # 32-33 us in its own row); 200 calls make blocks of a few ms, as
        # chapter 17's 20 calls do
        h2h = head_to_head(pair, rounds=15, calls=200 if chapter == 16 else 20, gap=0.05,
                           warm=3)
        h2h["speedup"] = round(h2h["reference"] / h2h["fastnn"], 2)
        if chapter == 17:
            # the highest speed-up over the twin any implementation doing these
            # products on this BLAS could reach (at the twin's thread count, and
            # at the one thread fastnn's policy gives them), and fastnn's epoch
            # as a share of that floor
            for key, products in (("", "products"), ("_one_thread", "products_one_thread")):
                h2h["speedup_bound" + key] = round(h2h["reference"] / h2h[products], 2)
                h2h["fastnn_pct_of_bound" + key] = round(100 * h2h[products] / h2h["fastnn"], 1)
            h2h["speedup_blas_own_threads"] = round(
                h2h["reference"] / h2h["fastnn_blas_own_threads"], 2)
            h2h["fastnn_blas_own_threads_pct_of_bound"] = round(
                100 * h2h["products"] / h2h["fastnn_blas_own_threads"], 1)
        if chapter == 16:
            # the highest speed-up over the twin any per-op implementation could
            # reach with these kernels' memory traffic, and fastnn's share of it
            h2h["speedup_bound"] = round(h2h["reference"] / h2h["floor"], 2)
            h2h["fastnn_pct_of_bound"] = round(100 * h2h["floor"] / h2h["fastnn"], 1)
        extra["head_to_head"] = h2h
    op = f"chapter {chapter} epoch"
    run_benchmark(benchmark, fn, group=group_name("chapter epoch", op, SIZES[chapter], dtype),
                  info=info("chapter epoch", op, SIZES[chapter], dtype, impl, **extra))
