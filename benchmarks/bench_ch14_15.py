"""Chapters 14 and 15: L1/L2 regularization and dropout, fastnn against the twin.

Operations (plain float32/float64 arrays, no ``nnfs.init()``):

* ``regularized dense backward``: ``Layer_Dense.backward`` with the chapter's
  strengths (L2 5e-4 on weights and biases, the scripts' first layer, at
  chapter 14's batch of 300 and chapter 15's 3000; L1 and L2 on the 64->3
  layer);
* ``regularization loss``: ``Loss.regularization_loss(layer)`` of that layer;
* ``dropout forward`` / ``dropout backward``: ``Layer_Dropout(0.1)`` on the
  hidden layer's 300x64 and 3000x64 activations.  Every forward row advances
  NumPy's global generator (as the book's does); none reseeds it.

Rows: ``fastnn`` (the class API), ``kernel`` (the bare kernel on
preallocated outputs; the dropout kernel on a private copy of the generator
state), ``reference`` (the twin's class API).

Epochs: one pass of the body of the chapter script's ``for epoch in
range(10001):`` -- forward, regularization loss, accuracy, the progress line
every 100th epoch (formatted, not printed), backward, Adam -- with the
classes of fastnn or of the twin, the body as the book writes it
(chapter 14: spiral 100x3, 2-64-3, L2 5e-4 on the first layer,
``Optimizer_Adam(learning_rate=0.02, decay=5e-7)``; chapter 15: spiral
1000x3, dropout 0.1, ``Optimizer_Adam(learning_rate=0.05, decay=5e-5)``).
float32 runs after ``nnfs.init()``, as the book's scripts do; float64 seeds
NumPy with 0 instead.  Training state carries over from call to call.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fastnn
import fastnn.reference as R
from benchmarks._common import group_name, info, run_benchmark
from fastnn.kernels import sealed
from fastnn.kernels.dropout import dropout_backward, dropout_forward

IMPLS = ["fastnn", "kernel", "reference"]

REG_SIZES = {  # id: (batch, n_in, n_out, (l1_w, l2_w, l1_b, l2_b))
    "ch14 300x2->64 L2": (300, 2, 64, (0, 5e-4, 0, 5e-4)),
    "ch15 3000x2->64 L2": (3000, 2, 64, (0, 5e-4, 0, 5e-4)),
    "300x64->3 L1+L2": (300, 64, 3, (1e-4, 5e-4, 1e-4, 5e-4)),
}
DROP_SIZES = {"ch14-size 300x64": (300, 64), "ch15 3000x64": (3000, 64)}
RATE = 0.1


def _reg_layer(mod, size, dtype):
    m, k, n, coefs = REG_SIZES[size]
    rng = np.random.default_rng(14)
    layer = mod.Layer_Dense(k, n, *coefs)
    layer.weights = (0.1 * rng.standard_normal((k, n))).astype(dtype)
    layer.biases = (0.1 * rng.standard_normal((1, n))).astype(dtype)
    x = rng.standard_normal((m, k)).astype(dtype)
    d = rng.standard_normal((m, n)).astype(dtype)
    return layer, x, d, coefs


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(REG_SIZES))
def bench_regularized_dense_backward(benchmark, size, dtype, impl):
    layer, x, d, (l1w, l2w, l1b, l2b) = _reg_layer(fastnn if impl == "fastnn" else R, size, dtype)
    if impl == "kernel":
        w, b = layer.weights, layer.biases
        dw, db, di = np.empty_like(w), np.empty_like(b), np.empty_like(x)
        k = sealed.dense_backward_reg
        fn = lambda: k(x, w, b, d, dw, db, di, l1w, 2 * l2w, l1b, 2 * l2b)  # noqa: E731
    else:
        layer.forward(x)
        fn = lambda: layer.backward(d)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "regularized dense backward", size, dtype),
                  info=info("op", "regularized dense backward", size, dtype, impl))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(REG_SIZES))
def bench_regularization_loss(benchmark, size, dtype, impl):
    layer, _, _, coefs = _reg_layer(fastnn if impl == "fastnn" else R, size, dtype)
    if impl == "kernel":
        sums = np.empty((1, 4), dtype)
        flags = [float(c > 0) for c in coefs]
        k = sealed.regularization_sums
        fn = lambda: k(layer.weights, layer.biases, sums, *flags)  # noqa: E731
    else:
        loss = (fastnn if impl == "fastnn" else R).Loss_CategoricalCrossentropy()
        fn = lambda: loss.regularization_loss(layer)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "regularization loss", size, dtype),
                  info=info("op", "regularization loss", size, dtype, impl))


def _drop_data(size, dtype):
    rng = np.random.default_rng(15)
    shape = DROP_SIZES[size]
    x = np.maximum(0, rng.standard_normal(shape)).astype(dtype)   # a ReLU's output
    return x, rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(DROP_SIZES))
def bench_dropout_forward(benchmark, size, dtype, impl):
    x, _ = _drop_data(size, dtype)
    np.random.seed(0)
    if impl == "kernel":
        key = np.random.get_state()[1].copy()
        pos = np.zeros(1, np.int64)
        mask, out = np.empty(x.shape), np.empty(x.shape)

        def fn():
            pos[0] = dropout_forward(key, pos[0], 1 - RATE, x, mask, out)
    else:
        layer = (fastnn if impl == "fastnn" else R).Layer_Dropout(RATE)
        fn = lambda: layer.forward(x)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "dropout forward", size, dtype),
                  info=info("op", "dropout forward", size, dtype, impl))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(DROP_SIZES))
def bench_dropout_backward(benchmark, size, dtype, impl):
    x, d = _drop_data(size, dtype)
    np.random.seed(0)
    layer = (fastnn if impl == "fastnn" else R).Layer_Dropout(RATE)
    layer.forward(x)
    if impl == "kernel":
        mask, di = layer.binary_mask, np.empty(x.shape)
        fn = lambda: dropout_backward(d, mask, di)  # noqa: E731
    else:
        fn = lambda: layer.backward(d)  # noqa: E731
    run_benchmark(benchmark, fn, group=group_name("op", "dropout backward", size, dtype),
                  info=info("op", "dropout backward", size, dtype, impl))


# ---------------------------------------------------------------------------
# The chapters' per-op epochs
# ---------------------------------------------------------------------------

CHAPTERS = {
    14: dict(samples=100, dropout=None, lr=0.02, decay=5e-7),
    15: dict(samples=1000, dropout=0.1, lr=0.05, decay=5e-5),
}
SIZES = {14: "spiral 300x2, 2-64-3, L2 5e-4", 15: "spiral 3000x2, 2-64-3, L2 5e-4, dropout 0.1"}


def chapter_epoch(mod, chapter, dtype):
    """The chapter script's set-up with the classes of ``mod``; returns one epoch."""
    import nnfs
    from nnfs.datasets import spiral_data
    if dtype == "float32":
        nnfs.init()   # as the book's scripts (undone after the benchmark by conftest)
    else:
        np.random.seed(0)
    cfg = CHAPTERS[chapter]
    X, y = spiral_data(samples=cfg["samples"], classes=3)
    assert X.dtype == np.dtype(dtype)
    dense1 = mod.Layer_Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4)
    activation1 = mod.Activation_ReLU()
    dropout1 = mod.Layer_Dropout(cfg["dropout"]) if cfg["dropout"] else None
    dense2 = mod.Layer_Dense(64, 3)
    loss_activation = mod.Activation_Softmax_Loss_CategoricalCrossentropy()
    optimizer = mod.Optimizer_Adam(learning_rate=cfg["lr"], decay=cfg["decay"])
    log = []
    state = {"epoch": 0, "y": y}

    def one_epoch():
        epoch, y = state["epoch"], state["y"]
        # --- the body of the chapter's loop, as the book writes it ---
        dense1.forward(X)
        activation1.forward(dense1.output)
        if dropout1 is not None:
            dropout1.forward(activation1.output)
            dense2.forward(dropout1.output)
        else:
            dense2.forward(activation1.output)
        data_loss = loss_activation.forward(dense2.output, y)
        regularization_loss = \
            loss_activation.loss.regularization_loss(dense1) + \
            loss_activation.loss.regularization_loss(dense2)
        loss = data_loss + regularization_loss
        predictions = np.argmax(loss_activation.output, axis=1)
        if len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        accuracy = np.mean(predictions == y)
        if not epoch % 100:
            log.append(f'epoch: {epoch}, ' + f'acc: {accuracy:.3f}, ' + f'loss: {loss:.3f} (' +
                       f'data_loss: {data_loss:.3f}, ' + f'reg_loss: {regularization_loss:.3f}), ' +
                       f'lr: {optimizer.current_learning_rate}')
            del log[:-1]
        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        if dropout1 is not None:
            dropout1.backward(dense2.dinputs)
            activation1.backward(dropout1.dinputs)
        else:
            activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
        state["epoch"], state["y"] = epoch + 1, y

    return one_epoch


@pytest.mark.parametrize("impl", ["fastnn", "reference"])
@pytest.mark.parametrize("blas", ["default", "1 thread"])
@pytest.mark.parametrize("chapter", list(CHAPTERS))
def bench_chapter_epoch(benchmark, chapter, blas, dtype, impl):
    """``blas="1 thread"``: the same, with BLAS limited to one thread for the
    whole benchmark (threadpoolctl).  fastnn calls no BLAS at these shapes;
    the twin's np.dot does, and on a busy two-core machine its default
    threads were measured to make its chapter-15 epoch several times slower
    and very noisy: this group is the twin at its best."""
    fn = chapter_epoch(fastnn if impl == "fastnn" else R, chapter, dtype)
    operation = f"chapter {chapter} epoch" + (", BLAS 1 thread" if blas != "default" else "")
    limits = threadpool_limits(1) if blas != "default" else None
    try:
        # section "chapter", not "epoch": the report's seed-epoch target reads "epoch"
        run_benchmark(benchmark, fn, group=group_name("chapter", operation, SIZES[chapter], dtype),
                      info=info("chapter", operation, SIZES[chapter], dtype, impl,
                                nnfs_init=dtype == "float32"))
    finally:
        if limits is not None:
            limits.restore_original_limits()
