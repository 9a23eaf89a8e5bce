"""A Ch19-shaped training step: 784-128-128-10, batch 128, Adam.

The book's chapter-19 Fashion-MNIST network (two ReLU hidden layers of 128,
softmax + cross-entropy head, ``Optimizer_Adam(decay=5e-5)``), driven one step
per call through the book API: forward, loss, backward, then
``pre_update_params`` / ``update_params`` x3 / ``post_update_params``.  Input
batches are slices of a fixed 1024-sample set scaled to [-1, 1] as chapter 19
does, labels uint8; the step walks through the 8 batches in turn.  Plain
float32/float64 (no ``nnfs.init()``).

Rows: ``fastnn``, ``reference``, and when torch is importable ``torch``
(eager: nn.Linear/ReLU, ``F.cross_entropy``, autograd, default
``torch.optim.Adam``) and ``torch-fused`` (same with ``Adam(fused=True)``), at
the same thread count as Numba's (set in conftest).  The torch row also times
all four alternately (``extra_info["head_to_head"]``), since rows run minutes
apart on a machine whose speed drifts, and with them the two pairs at equal
thread counts: fastnn's default (its policy runs products of these sizes on one
BLAS thread) against ``torch, 1 thread``, and ``fastnn, BLAS's own threads``
(``set_blas_thread_policy(0)``) against torch's default.
"""
import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import (blas_own_threads, group_name, head_to_head, info, need_torch,
                                run_benchmark, torch, torch_dtype)

SIZE = "784-128-128-10, batch 128"
BATCH = 128
N_SAMPLES = 1024
LAYERS = [(784, 128), (128, 128), (128, 10)]
# matrix-product FLOPs of one step: forward, dweights and dinputs, 2*B*in*out each
FLOPS = 3 * sum(2 * BATCH * i * o for i, o in LAYERS)


def _data(dtype):
    rng = np.random.default_rng(19)
    X = ((rng.integers(0, 256, (N_SAMPLES, 784)).astype(dtype) - 127.5) / 127.5).astype(dtype)
    y = rng.integers(0, 10, N_SAMPLES).astype(np.uint8)
    return X, y


def _weights(dtype):
    rng = np.random.default_rng(1)
    return [(0.01 * rng.standard_normal(s)).astype(dtype) for s in LAYERS]


def book_step(mod, dtype):
    X, y = _data(dtype)
    ws = _weights(dtype)
    dense1 = mod.Layer_Dense(784, 128)
    activation1 = mod.Activation_ReLU()
    dense2 = mod.Layer_Dense(128, 128)
    activation2 = mod.Activation_ReLU()
    dense3 = mod.Layer_Dense(128, 10)
    loss_activation = mod.Activation_Softmax_Loss_CategoricalCrossentropy()
    optimizer = mod.Optimizer_Adam(decay=5e-5)
    for layer, w in zip((dense1, dense2, dense3), ws):
        layer.weights = w.copy()
        layer.biases = np.zeros((1, w.shape[1]), dtype)
    state = {"step": 0}
    n_batches = N_SAMPLES // BATCH

    def step():
        s = state["step"] % n_batches
        batch_X = X[s * BATCH:(s + 1) * BATCH]
        batch_y = y[s * BATCH:(s + 1) * BATCH]
        dense1.forward(batch_X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        activation2.forward(dense2.output)
        dense3.forward(activation2.output)
        loss = loss_activation.forward(dense3.output, batch_y)  # noqa: F841
        loss_activation.backward(loss_activation.output, batch_y)
        dense3.backward(loss_activation.dinputs)
        activation2.backward(dense3.dinputs)
        dense2.backward(activation2.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.update_params(dense3)
        optimizer.post_update_params()
        state["step"] += 1

    return step


def torch_step(dtype, fused):
    X, y = _data(dtype)
    ws = _weights(dtype)
    tdt = torch_dtype(dtype)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                          nn.Linear(128, 10)).to(tdt)
    with torch.no_grad():
        for lin, w in zip((model[0], model[2], model[4]), ws):
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.zero_()
    lr, decay = 0.001, 5e-5
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7, fused=True if fused else None)
    state = {"step": 0}
    n_batches = N_SAMPLES // BATCH

    def step():
        t = state["step"]
        s = t % n_batches
        out = model(Xt[s * BATCH:(s + 1) * BATCH])
        loss = torch.nn.functional.cross_entropy(out, yt[s * BATCH:(s + 1) * BATCH])
        opt.zero_grad()
        loss.backward()
        for pg in opt.param_groups:
            pg["lr"] = lr * (1.0 / (1.0 + decay * t))
        opt.step()
        state["step"] = t + 1

    return step


def _torch_one_thread(fn):
    def run():
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            fn()
        finally:
            torch.set_num_threads(n)
    return run


@pytest.mark.parametrize("impl", ["fastnn", "reference", "torch", "torch-fused"])
def bench_ch19_step(benchmark, dtype, impl):
    extra = {}
    if impl.startswith("torch"):
        need_torch()
        fn = torch_step(dtype, fused=impl == "torch-fused")
        extra["torch_threads"] = torch.get_num_threads()
    else:
        fn = book_step(fastnn if impl == "fastnn" else R, dtype)
    import numba
    extra["numba_threads"] = numba.get_num_threads()
    extra["flops"] = FLOPS
    run_benchmark(benchmark, fn, group=group_name("ch19", "training step (Adam)", SIZE, dtype),
                  info=info("ch19", "Ch19 training step, Adam", SIZE, dtype, impl,
                            **extra), warmup=3)
    if impl == "torch" and not benchmark.disabled:
        # all four alternated in blocks of 40 steps (after 0.3 s idle, so the other
        # library's spinning threads are asleep, and 5 untimed steps), so the ratios
        # do not depend on when each row ran
        fns = {"fastnn": book_step(fastnn, dtype), "reference": book_step(R, dtype),
               "torch": fn, "torch-fused": torch_step(dtype, fused=True),
               # each at the other's thread count: fastnn's policy runs products of
               # these sizes on one BLAS thread; set_blas_thread_policy(0) leaves
               # BLAS its own threads, as torch's default uses its own
               "torch, 1 thread": _torch_one_thread(torch_step(dtype, fused=False)),
               "fastnn, BLAS's own threads": blas_own_threads(book_step(fastnn, dtype))}
        benchmark.extra_info["head_to_head"] = head_to_head(fns, rounds=7, calls=40, gap=0.3,
                                                            warm=5)
