"""Each operation alone, at the seed's sizes and at a Ch19 size.

Sizes: the seed's two dense layers (batch 300: 2->64 and 64->3), its ReLU
(300x64) and softmax + cross-entropy (300x3 logits); a Ch19 layer (batch 128,
784->128), ReLU on its output (128x128) and the Ch19 head (128x10 logits,
10 classes).  Plain float32/float64 arrays (no ``nnfs.init()``).

Rows of each group:

* ``fastnn``    -- the class API (``layer.forward(x)`` ...), what user code calls;
* ``kernel``    -- the bare kernel on preallocated outputs (API overhead = the gap);
* ``reference`` -- the NumPy twin's class API on the same inputs;
* ``torch``     -- the same math as PyTorch tensor ops (no autograd), if importable.
"""
import importlib

import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import group_name, info, need_torch, run_benchmark, torch

IMPLS = ["fastnn", "kernel", "reference", "torch"]

DENSE_SIZES = {  # id: (batch, n_in, n_out)
    "seed 300x2->64": (300, 2, 64),
    "seed 300x64->3": (300, 64, 3),
    "ch19 128x784->128": (128, 784, 128),
}
RELU_SIZES = {"seed 300x64": (300, 64), "ch19 128x128": (128, 128)}
SMCE_SIZES = {"seed 300x3": (300, 3), "ch19 128x10": (128, 10)}


def _kernel(module, name):
    mod = importlib.import_module(f"fastnn.kernels.{module}")
    fn = getattr(mod, name, None)
    if fn is None:
        pytest.skip(f"fastnn.kernels.{module}.{name} not found")
    return fn


def _dense_data(size, dtype):
    m, k, n = DENSE_SIZES[size]
    rng = np.random.default_rng(19)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (0.01 * rng.standard_normal((k, n))).astype(dtype)
    b = (0.1 * rng.standard_normal((1, n))).astype(dtype)
    d = rng.standard_normal((m, n)).astype(dtype)
    return x, w, b, d


def _layer(mod, w, b):
    layer = mod.Layer_Dense(*w.shape)
    layer.weights = w.copy()
    layer.biases = b.copy()
    return layer


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _flops_dense(size):
    m, k, n = DENSE_SIZES[size]
    return 2 * m * k * n


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(DENSE_SIZES))
def bench_dense_forward(benchmark, size, dtype, impl):
    x, w, b, _ = _dense_data(size, dtype)
    if impl == "torch":
        need_torch()
        xt, wt, bt = _t(x), _t(w), _t(b[0])
        fn = lambda: torch.addmm(bt, xt, wt)  # noqa: E731
    elif impl == "kernel":
        k = _kernel("dense", "dense_forward")
        out = np.empty((x.shape[0], w.shape[1]), dtype)
        fn = lambda: k(x, w, b, out)  # noqa: E731
    else:
        layer = _layer(fastnn if impl == "fastnn" else R, w, b)
        fn = lambda: layer.forward(x)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "dense forward", size, dtype),
                  info=info("op", "dense forward", size, dtype, impl, flops=_flops_dense(size)))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(DENSE_SIZES))
def bench_dense_backward(benchmark, size, dtype, impl):
    x, w, b, d = _dense_data(size, dtype)
    if impl == "torch":
        need_torch()
        xt, wt, dt = _t(x), _t(w), _t(d)

        def fn():
            return xt.T @ dt, dt.sum(0, keepdim=True), dt @ wt.T
    elif impl == "kernel":
        k = _kernel("dense", "dense_backward")
        dw, db, di = np.empty_like(w), np.empty_like(b), np.empty_like(x)
        fn = lambda: k(x, w, d, dw, db, di)  # noqa: E731
    else:
        layer = _layer(fastnn if impl == "fastnn" else R, w, b)
        layer.forward(x)
        fn = lambda: layer.backward(d)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "dense backward", size, dtype),
                  info=info("op", "dense backward", size, dtype, impl,
                            flops=2 * _flops_dense(size)))


def _relu_data(size, dtype):
    rng = np.random.default_rng(3)
    shape = RELU_SIZES[size]
    return rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(RELU_SIZES))
def bench_relu_forward(benchmark, size, dtype, impl):
    x, _ = _relu_data(size, dtype)
    if impl == "torch":
        need_torch()
        xt = _t(x)
        fn = lambda: torch.relu(xt)  # noqa: E731
    elif impl == "kernel":
        k = _kernel("activations", "relu_forward")
        out = np.empty_like(x)
        fn = lambda: k(x, out)  # noqa: E731
    else:
        act = (fastnn if impl == "fastnn" else R).Activation_ReLU()
        fn = lambda: act.forward(x)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "relu forward", size, dtype),
                  info=info("op", "relu forward", size, dtype, impl))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(RELU_SIZES))
def bench_relu_backward(benchmark, size, dtype, impl):
    x, d = _relu_data(size, dtype)
    if impl == "torch":
        need_torch()
        xt, dt = _t(x), _t(d)
        fn = lambda: torch.ops.aten.threshold_backward(dt, xt, 0.0)  # noqa: E731
    elif impl == "kernel":
        k = _kernel("activations", "relu_backward")
        di = np.empty_like(x)
        fn = lambda: k(x, d, di)  # noqa: E731
    else:
        act = (fastnn if impl == "fastnn" else R).Activation_ReLU()
        act.forward(x)
        fn = lambda: act.backward(d)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "relu backward", size, dtype),
                  info=info("op", "relu backward", size, dtype, impl))


def _smce_data(size, dtype):
    n, c = SMCE_SIZES[size]
    rng = np.random.default_rng(7)
    logits = (3 * rng.standard_normal((n, c))).astype(dtype)
    y = rng.integers(0, c, n).astype(np.uint8)  # the book's labels are uint8
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    return logits, y, probs


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(SMCE_SIZES))
def bench_softmax_cce_forward(benchmark, size, dtype, impl):
    logits, y, _ = _smce_data(size, dtype)
    if impl == "torch":
        need_torch()
        lt, yt = _t(logits), _t(y.astype(np.int64))

        def fn():
            p = torch.softmax(lt, 1)
            loss = torch.nn.functional.nll_loss(torch.log(p.clamp(1e-7, 1 - 1e-7)), yt)
            return p, loss.item()
    elif impl == "kernel":
        k = _kernel("losses", "softmax_cce_sparse_forward")
        probs = np.empty_like(logits)
        fn = lambda: k(logits, y, probs)  # noqa: E731
    else:
        la = (fastnn if impl == "fastnn" else R).Activation_Softmax_Loss_CategoricalCrossentropy()
        fn = lambda: la.forward(logits, y)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "softmax+CE forward", size, dtype),
                  info=info("op", "softmax+CE forward", size, dtype, impl))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(SMCE_SIZES))
def bench_softmax_cce_backward(benchmark, size, dtype, impl):
    logits, y, probs = _smce_data(size, dtype)
    n = probs.shape[0]
    if impl == "torch":
        need_torch()
        pt, yt = _t(probs), _t(y.astype(np.int64))
        rows = torch.arange(n)

        def fn():
            d = pt.clone()
            d[rows, yt] -= 1
            return d / n
    elif impl == "kernel":
        k = _kernel("losses", "softmax_cce_sparse_backward")
        di = np.empty_like(probs)
        fn = lambda: k(probs, y, di)  # noqa: E731
    else:
        la = (fastnn if impl == "fastnn" else R).Activation_Softmax_Loss_CategoricalCrossentropy()
        la.forward(logits, y)
        fn = lambda: la.backward(probs, y)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "softmax+CE backward", size, dtype),
                  info=info("op", "softmax+CE backward", size, dtype, impl))
