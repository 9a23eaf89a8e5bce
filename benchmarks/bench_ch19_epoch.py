"""A chapter-19 epoch: Fashion-MNIST-shaped data through the book's ``Model``.

60000 x 784 float32 inputs scaled to [-1, 1] and 10 classes (generated: no
data set can be downloaded here, and the timing depends only on the shapes),
784-128-128-10 with ReLU, softmax + cross-entropy, ``Optimizer_Adam(decay=1e-3)``,
``batch_size=128``: one epoch (469 steps, the last one short) per timing.

Rows, one group:

* ``fastnn``: ``fastnn.Model.train(X, y, epochs=1, batch_size=128, print_every=None)``
  (its BLAS thread policy: one thread for products of this size), and the same with
  ``fastnn.set_blas_thread_policy(0)`` (BLAS's own thread count);
* ``reference``: the twin's book ``Model`` (``fastnn.reference.Model``, the book's
  ``Ch22_Final.py`` code) on the twin's classes, the same call;
* ``torch``: PyTorch eager when importable (nn.Linear/ReLU, ``F.cross_entropy``,
  ``torch.optim.Adam``), with one thread and with two (Numba's count, which
  fastnn's optimizers use; fastnn's BLAS policy picks one thread here);
* ``gemm limit``: only the epoch's matrix products (forward, dweights and
  dinputs of every layer but the first's dinputs, as float32 BLAS calls of
  the same shapes, with one and with two BLAS threads), timed in the same
  run: the faster of the two is the time no implementation of this loop can
  beat on this machine; the report gives it over fastnn's time.
"""
import io
from contextlib import redirect_stdout

import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import group_name, info, need_torch, torch

N, FEATURES, CLASSES, BATCH = 60000, 784, 10, 128
LAYERS = [(784, 128), (128, 128), (128, 10)]
GROUP = group_name("ch19", "one epoch, Model.train(batch_size=128)",
                   "60000x784, 784-128-128-10", "float32")


def _data():
    rng = np.random.default_rng(19)
    X = ((rng.integers(0, 256, (N, FEATURES)).astype(np.float32) - 127.5) / 127.5)
    return X.astype(np.float32), rng.integers(0, CLASSES, N).astype(np.uint8)


def _weights():
    rng = np.random.default_rng(1)
    return [(0.01 * rng.standard_normal(s)).astype(np.float32) for s in LAYERS]


def _model(mod):
    model = mod.Model()
    for i, w in enumerate(_weights()):
        layer = mod.Layer_Dense(*w.shape)
        layer.weights, layer.biases = w.copy(), np.zeros((1, w.shape[1]), np.float32)
        model.add(layer)
        model.add(mod.Activation_ReLU() if i < 2 else mod.Activation_Softmax())
    model.set(loss=mod.Loss_CategoricalCrossentropy(), optimizer=mod.Optimizer_Adam(decay=1e-3),
              accuracy=mod.Accuracy_Categorical())
    model.finalize()
    return model


def _epoch(model, X, y):
    with redirect_stdout(io.StringIO()):  # the twin's Model prints every epoch
        model.train(X, y, epochs=1, batch_size=BATCH, print_every=10**9)


@pytest.fixture(scope="module")
def data():
    return _data()


def _record(benchmark, impl):
    benchmark.group = GROUP
    benchmark.extra_info.update(info("ch19", "one epoch, Model.train(batch_size=128)",
                                     "60000x784, 784-128-128-10", "float32", impl))


@pytest.mark.parametrize("impl", ["fastnn", "reference"])
def bench_ch19_epoch(benchmark, data, impl):
    X, y = data
    model = _model(fastnn if impl == "fastnn" else R)
    _epoch(model, X[:1024], y[:1024])  # compile (or load from the cache)
    _record(benchmark, impl)
    benchmark.pedantic(_epoch, args=(model, X, y), rounds=3, iterations=1)


def bench_ch19_epoch_fastnn_blas_threads(benchmark, data):
    """fastnn with ``set_blas_thread_policy(0)``: BLAS keeps its own thread count (all
    cores) instead of the default policy's one thread for products of this size."""
    X, y = data
    model = _model(fastnn)
    previous = fastnn.set_blas_thread_policy(0)
    try:
        _epoch(model, X[:1024], y[:1024])
        _record(benchmark, "fastnn, BLAS's own threads")
        benchmark.pedantic(_epoch, args=(model, X, y), rounds=3, iterations=1)
    finally:
        fastnn.set_blas_thread_policy(previous)


@pytest.mark.parametrize("threads", [1, 2])
def bench_ch19_epoch_gemm_limit(benchmark, data, threads):
    """The epoch's matrix products alone, as BLAS calls of the same shapes, with
    one and with two BLAS threads (the faster is the machine's limit)."""
    from threadpoolctl import threadpool_limits
    X, _ = data
    ws = _weights()
    acts = [np.empty((BATCH, o), np.float32) for _, o in LAYERS]
    grads = [np.empty(w.shape, np.float32) for w in ws]
    dins = [np.empty((BATCH, i), np.float32) for i, _ in LAYERS]

    def products():
        for lo in range(0, N, BATCH):
            x = X[lo:lo + BATCH]
            n = x.shape[0]
            inp = x
            for k, w in enumerate(ws):
                np.matmul(inp, w, out=acts[k][:n])
                inp = acts[k][:n]
            for k in range(len(ws) - 1, -1, -1):
                layer_in = x if k == 0 else acts[k - 1][:n]
                np.matmul(layer_in.T, acts[k][:n], out=grads[k])
                if k:
                    np.matmul(acts[k][:n], ws[k].T, out=dins[k][:n])

    _record(benchmark, f"gemm limit, {threads} BLAS thread{'s' if threads > 1 else ''}")
    with threadpool_limits(threads, user_api="blas"):
        benchmark.pedantic(products, rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("threads", [1, 2])
def bench_ch19_epoch_torch(benchmark, data, threads):
    need_torch()
    X, y = data
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    layers = []
    for w in _weights():
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.zero_()
        layers.append(lin)
    net = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
    opt = torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7)

    def epoch():
        for lo in range(0, N, BATCH):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(Xt[lo:lo + BATCH]), yt[lo:lo + BATCH])
            loss.backward()
            opt.step()

    _record(benchmark, f"torch, {threads} thread{'s' if threads > 1 else ''}")
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        benchmark.pedantic(epoch, rounds=3, iterations=1, warmup_rounds=1)
    finally:
        torch.set_num_threads(saved)
