"""The seed's full training epoch, exactly as the reader's notebook loop.

Spiral data 100 samples x 3 classes (X is 300x2), a 2-64-3 network, softmax +
cross-entropy, and each optimizer of the seed notebook with the notebook's
hyper-parameters.  One benchmark call is one pass of the body of
``for epoch in range(10000):`` from seed/chapter10-optimizers.md, through the
notebook API (``DenseLayer``, ``ReLU``, ``SoftMaxCategoricalCrossEntropy``,
``updateParams``...), including the accuracy computation and the every-100th
epoch progress line (formatted, not printed).

dtypes: float64 is the notebook as written (``np.random.seed(0)``, no
``nnfs.init()``); float32 is the same loop after ``nnfs.init()``, which is how
readers run it (X, weights and results become float32; the reference's
``np.dot`` is then nnfs's float64-computing wrapper, fastnn does not use it).
Training state carries over from call to call, as in the notebook.
"""
import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import group_name, info, need_torch, run_benchmark, torch, torch_dtype
from benchmarks._floor import FLOOR
from fastnn.experiments import SEED, SEED_CONFIGS, spiral

# The seed notebook's optimizer cells (fastnn.experiments): its first, plain SGD(), and
# the last cell of each optimizer (SGD's is its momentum cell): five of the seven.
SEED_OPTIMIZERS = [SEED_CONFIGS[0], *{c.class_name(): c for c in SEED_CONFIGS}.values()]
OPT_IDS = [c.label for c in SEED_OPTIMIZERS]
SIZE = "spiral 300x2, 2-64-3"


def _seed_data(dtype):
    if dtype == "float32":
        import nnfs
        nnfs.init()  # undone after the benchmark by conftest._restore_numpy
    X, y = spiral(seed=SEED)  # (nnfs.init() seeds with 0 too)
    assert X.dtype == np.dtype(dtype), X.dtype
    return X, y


def notebook_epoch(mod, opt_cls, opt_kwargs, X, y):
    """Build the seed's network with the classes of ``mod``; return one-epoch callable."""
    DenseLayer, ReLU = mod.DenseLayer, mod.ReLU
    SoftMaxCategoricalCrossEntropy = mod.SoftMaxCategoricalCrossEntropy

    # --- the notebook cell, verbatim apart from the import ---
    dense1 = DenseLayer(2, 64)
    activation1 = ReLU()
    dense2 = DenseLayer(64, 3)
    activationLoss = SoftMaxCategoricalCrossEntropy()
    optimizer = getattr(mod, opt_cls)(**opt_kwargs)
    log = []
    state = {"epoch": 0, "y": y}

    def one_epoch():
        epoch = state["epoch"]
        y = state["y"]
        # Perform the forward pass, as shown previously
        dense1.forward(X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss = activationLoss.forward(dense2.output, y)

        # Calculate the accuracy
        predictions = np.argmax(activationLoss.output, axis=1)
        if len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        accuracy = np.mean(predictions == y)

        if not epoch % 100:
            # the notebook prints this line; formatted here, not written to stdout
            log.append(f"epoch: {epoch}, accuracy: {accuracy: .3f}, loss: {loss: .3f}, "
                       f"lr: {optimizer.lr_curr}")
            del log[:-1]

        # Perform the backward pass
        activationLoss.backward(activationLoss.output, y)
        dense2.backward(activationLoss.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)

        # Use the optimizer and update the weights and biases
        optimizer.preUpdateParams()
        optimizer.updateParams(dense1)
        optimizer.updateParams(dense2)
        optimizer.postUpdateParams()
        state["epoch"] = epoch + 1
        state["y"] = y

    return one_epoch


def torch_epoch(opt_cls, opt_kwargs, X, y, dtype):
    """The same epoch in PyTorch eager: nn.Linear layers, autograd, torch.optim."""
    tdt = torch_dtype(dtype)
    Xt = torch.from_numpy(np.ascontiguousarray(X)).to(tdt)
    yt = torch.from_numpy(y.astype(np.int64))
    g = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 3)).to(tdt)
    with torch.no_grad():
        for m in (model[0], model[2]):
            m.weight.copy_(0.01 * torch.randn(m.weight.shape, generator=g, dtype=tdt))
            m.bias.zero_()
    kw = dict(opt_kwargs)
    lr = kw.pop("lr", {"SGD": 1.0, "AdaGrad": 1.0, "RMSProp": 1.0, "Adam": 0.001}[opt_cls])
    decay = kw.pop("decay", 0.0)
    params = model.parameters()
    if opt_cls == "SGD":
        opt = torch.optim.SGD(params, lr=lr, momentum=kw.get("momentum", 0.0))
    elif opt_cls == "AdaGrad":
        opt = torch.optim.Adagrad(params, lr=lr, eps=1e-7)
    elif opt_cls == "RMSProp":
        opt = torch.optim.RMSprop(params, lr=lr, alpha=kw.get("rho", 0.9), eps=1e-7)
    else:
        opt = torch.optim.Adam(params, lr=lr, eps=1e-7)
    lossf = torch.nn.functional.cross_entropy
    state = {"epoch": 0}
    log = []

    def one_epoch():
        t = state["epoch"]
        out = model(Xt)
        loss = lossf(out, yt)
        accuracy = (out.detach().argmax(dim=1) == yt).to(tdt).mean()
        if not t % 100:
            log.append(f"epoch: {t}, accuracy: {accuracy.item(): .3f}, "
                       f"loss: {loss.detach().item(): .3f}")
            del log[:-1]
        opt.zero_grad()
        loss.backward()
        if decay:
            for pg in opt.param_groups:
                pg["lr"] = lr * (1.0 / (1.0 + decay * t))
        opt.step()
        state["epoch"] = t + 1

    return one_epoch


@pytest.mark.parametrize("impl", ["fastnn", "reference", "floor", "torch"])
@pytest.mark.parametrize("opt", OPT_IDS)
def bench_seed_epoch(benchmark, opt, dtype, impl):
    """``floor``: the same loop on classes that only allocate their results and
    move the bytes each call must read and write (benchmarks/_floor.py), the
    least any per-op implementation of this API costs here."""
    cfg = SEED_OPTIMIZERS[OPT_IDS.index(opt)]
    opt_cls, opt_kwargs = cfg.class_name(), cfg.kwargs()
    X, y = _seed_data(dtype)
    extra = {"nnfs_init": dtype == "float32"}
    if impl == "torch":
        need_torch()
        fn = torch_epoch(opt_cls, opt_kwargs, X, y, dtype)
        extra["torch_threads"] = torch.get_num_threads()
    else:
        mod = {"fastnn": fastnn, "reference": R, "floor": FLOOR}[impl]
        fn = notebook_epoch(mod, opt_cls, opt_kwargs, X, y)
    run_benchmark(benchmark, fn, group=group_name("epoch", f"seed epoch {opt}", SIZE, dtype),
                  info=info("epoch", f"seed epoch, {opt}", SIZE, dtype, impl, **extra))
