"""Each optimizer's update on 1M and 10M parameters, against the memory roofline.

One call is what a training step does per layer: ``pre_update_params()``,
``update_params(layer)``, ``post_update_params()``, on a layer with weights
(1000, 1000) or (10000, 1000) plus biases (1, 1000) -- 1.001M and 10.001M
parameters.  Optimizer state is created by the (untimed) warm-up call.

Rows: ``fastnn``, ``reference`` (the NumPy twin) and, when torch is importable,
``torch-fused``: ``torch.optim.X(fused=True)`` at torch's default thread count
(RMSprop has no fused CPU kernel; it uses ``foreach=True``).

Roofline: after its timing, each fastnn (and torch) row runs a few more rounds
in which a one-pass copy, an in-place triad (same dtype and thread count,
arrays spanning the same memory as the update's: ``_roofline.py``) and one
update are timed back to back, and records in ``extra_info``: ``bytes`` (what
the update must move), ``bandwidth`` (bytes/s, the better probe's median),
``roofline_s`` = bytes/bandwidth and ``roofline_fraction`` = roofline_s /
median interleaved update time.  The torch row also times fastnn and torch
alternately (``extra_info["head_to_head"]``): the rows themselves run minutes
apart, and this VM's memory bandwidth drifts by up to 2x over minutes.  The terminal summary
prints them beside the groups; ``python -m benchmarks.report`` tabulates them.
"""
import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from benchmarks._common import group_name, head_to_head, info, need_torch, run_benchmark, torch
from benchmarks._roofline import STREAMS, interleaved_roofline, probe_arrays, update_bytes

SIZES = {"1M": (1000, 1000), "10M": (10000, 1000)}
RULES = list(STREAMS)
IMPLS = ["fastnn", "reference", "torch-fused"]

# (book class, kwargs) -- modest rates so repeated updates stay finite
FASTNN_OPTIMIZERS = {
    "sgd": ("Optimizer_SGD", dict(learning_rate=0.01, decay=1e-4)),
    "sgd_momentum": ("Optimizer_SGD", dict(learning_rate=0.01, decay=1e-4, momentum=0.9)),
    "adagrad": ("Optimizer_Adagrad", dict(learning_rate=0.01, decay=1e-4)),
    "rmsprop": ("Optimizer_RMSprop", dict(learning_rate=0.001, decay=1e-4)),
    "adam": ("Optimizer_Adam", dict(learning_rate=0.001, decay=1e-4)),
}
OPERATION = {
    "sgd": "SGD update", "sgd_momentum": "SGD+momentum update", "adagrad": "AdaGrad update",
    "rmsprop": "RMSProp update", "adam": "Adam update",
}


def _torch_optimizer(rule, params):
    o = torch.optim
    if rule == "sgd":
        return o.SGD(params, lr=0.01, fused=True), "fused"
    if rule == "sgd_momentum":
        return o.SGD(params, lr=0.01, momentum=0.9, fused=True), "fused"
    if rule == "adagrad":
        return o.Adagrad(params, lr=0.01, eps=1e-7, fused=True), "fused"
    if rule == "rmsprop":
        return o.RMSprop(params, lr=0.001, alpha=0.9, eps=1e-7, foreach=True), "foreach"
    return o.Adam(params, lr=0.001, eps=1e-7, fused=True), "fused"


def _book_step(mod, rule, w0, dw0, b0, db0):
    """pre/update/post of ``mod``'s optimizer on a fresh copy of the layer."""
    cls, kwargs = FASTNN_OPTIMIZERS[rule]
    opt = getattr(mod, cls)(**kwargs)
    layer = _Layer(w0.copy(), dw0.copy(), b0.copy(), db0.copy())

    def fn():
        opt.pre_update_params()
        opt.update_params(layer)
        opt.post_update_params()
    return fn


def _torch_step(rule, w0, dw0, b0, db0):
    w, b = torch.from_numpy(w0.copy()), torch.from_numpy(b0.copy())
    w.grad, b.grad = torch.from_numpy(dw0.copy()), torch.from_numpy(db0.copy())
    opt, variant = _torch_optimizer(rule, [w, b])
    return opt.step, variant


class _Layer:
    """Just the attributes an optimizer reads and writes."""

    def __init__(self, w, dw, b, db):
        self.weights, self.dweights, self.biases, self.dbiases = w, dw, b, db


_BASE = {}


def _base(size, dtype):
    """Parameters and gradients for one size/dtype, drawn once per session."""
    key = (size, dtype)
    if key not in _BASE:
        shape = SIZES[size]
        rng = np.random.default_rng(10)
        w = rng.standard_normal(shape, np.float32).astype(dtype)
        dw = (1e-2 * rng.standard_normal(shape, np.float32)).astype(dtype)
        b = rng.standard_normal((1, shape[1])).astype(dtype)
        db = (1e-2 * rng.standard_normal((1, shape[1]))).astype(dtype)
        _BASE[key] = (w, dw, b, db)
    return _BASE[key]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("rule", RULES)
def bench_optimizer_update(benchmark, rule, size, dtype, impl):
    w0, dw0, b0, db0 = _base(size, dtype)
    n_params = w0.size + b0.size
    nbytes = update_bytes(rule, n_params, dtype)
    extra = dict(params=n_params, bytes=nbytes, streams=STREAMS[rule])
    if impl == "torch-fused":
        need_torch()
        fn, variant = _torch_step(rule, w0, dw0, b0, db0)
        extra.update(torch_variant=variant, torch_threads=torch.get_num_threads())
    else:
        fn = _book_step(fastnn if impl == "fastnn" else R, rule, w0, dw0, b0, db0)

    group = group_name("optimizer", OPERATION[rule], f"{size} params", dtype)
    inf = info("optimizer", OPERATION[rule], f"{size} params", dtype, impl, **extra)
    if benchmark.disabled:
        run_benchmark(benchmark, fn, group=group, info=inf)
        return
    run_benchmark(benchmark, fn, group=group, info=inf, warmup=1, rounds="auto",
                  budget=1.0 if size == "10M" else 0.5, min_rounds=5, max_rounds=200)
    if impl != "reference":
        roof = interleaved_roofline(fn, rule, n_params, dtype,
                                    rounds=15 if size == "10M" else 41)
        benchmark.extra_info.update(roof)
    if impl == "torch-fused":
        # fastnn and torch alternated, so the ratio does not depend on when each
        # row ran (the rows above are minutes apart)
        fast = _book_step(fastnn, rule, w0, dw0, b0, db0)
        h2h = head_to_head({"fastnn": fast, "torch": fn}, rounds=15 if size == "10M" else 31,
                           calls=1 if size == "10M" else 5, gap=0.02, warm=1)
        benchmark.extra_info["head_to_head"] = h2h


@pytest.mark.parametrize("probe", ["copy", "triad"])
@pytest.mark.parametrize("size", list(SIZES))
def bench_bandwidth(benchmark, size, dtype, probe):
    """The probes themselves, as rows (pytest-benchmark timed)."""
    from benchmarks._roofline import copy_kernel, triad_kernel
    n = int(np.prod(SIZES[size]))
    a, b = probe_arrays(n, dtype)
    if probe == "copy":
        fn, streams = (lambda: copy_kernel(a, b)), 2
    else:
        s = np.dtype(dtype).type(1e-3)
        fn, streams = (lambda: triad_kernel(a, b, s)), 3
    nbytes = streams * n * np.dtype(dtype).itemsize
    run_benchmark(benchmark, fn, group=group_name("bandwidth", "memory probe", size, dtype),
                  info=info("bandwidth", f"{probe} probe", size, dtype, "probe", bytes=nbytes),
                  warmup=1, rounds="auto", budget=0.3, min_rounds=5)
    if not benchmark.disabled:
        benchmark.extra_info["bandwidth"] = nbytes / benchmark.stats.stats.median


# ---------------------------------------------------------------- the seed's size

SEED_LAYERS = {"seed 2x64+64x3": ((2, 64), (64, 3))}
SEED_KERNELS = {  # rule: (kernel name, state attribute names per layer)
    "sgd": ("sgd_update", ()),
    "sgd_momentum": ("sgd_momentum_update", ("momentums",)),
    "adagrad": ("adagrad_update", ("cache",)),
    "rmsprop": ("rmsprop_update", ("cache",)),
    "adam": ("adam_update", ("momentums", "cache")),
}


def _seed_layers(dtype):
    rng = np.random.default_rng(2)
    layers = []
    for shape in SEED_LAYERS["seed 2x64+64x3"]:
        w = (0.01 * rng.standard_normal(shape)).astype(dtype)
        dw = (0.01 * rng.standard_normal(shape)).astype(dtype)
        b = np.zeros((1, shape[1]), dtype)
        db = (0.01 * rng.standard_normal((1, shape[1]))).astype(dtype)
        layers.append(_Layer(w, dw, b, db))
    return layers


def _seed_kernel_step(rule, layers):
    """The bare kernel calls an optimizer step makes on the seed's two layers."""
    from fastnn.kernels import optimizers as K
    name, states = SEED_KERNELS[rule]
    kern = getattr(K, name, None)
    if kern is None:
        pytest.skip(f"fastnn.kernels.optimizers.{name} not found")
    args = []
    for L in layers:
        ws = [np.zeros_like(L.weights) for _ in states]
        bs = [np.zeros_like(L.biases) for _ in states]
        args.append((L.weights, L.dweights, *ws, L.biases, L.dbiases, *bs))
    if rule == "sgd":
        hyper = (0.01,)
    elif rule == "sgd_momentum":
        hyper = (0.01, 0.9)
    elif rule == "adagrad":
        hyper = (0.01, 1e-7)
    elif rule == "rmsprop":
        hyper = (0.001, 1e-7, 0.9)
    else:
        hyper = (0.001, 0.9, 0.999, 1e-7, 0.1, 0.001)
    a0, a1 = args

    def fn():
        kern(*a0, *hyper)
        kern(*a1, *hyper)
    return fn


@pytest.mark.parametrize("impl", ["fastnn", "kernel", "reference", "torch"])
@pytest.mark.parametrize("rule", RULES)
def bench_optimizer_step_seed(benchmark, rule, dtype, impl):
    """One optimizer step of the seed's 2-64-3 network: pre, update x2, post.

    At this size the update is pure call overhead; ``kernel`` is the two bare
    kernel calls, ``torch`` the default (for-loop) torch optimizer's step."""
    size = "seed 2x64+64x3"
    layers = _seed_layers(dtype)
    if impl == "torch":
        need_torch()
        params = []
        for L in layers:
            for p, g in ((L.weights, L.dweights), (L.biases, L.dbiases)):
                t = torch.from_numpy(p.copy())
                t.grad = torch.from_numpy(g.copy())
                params.append(t)
        o = torch.optim
        opt = {"sgd": lambda: o.SGD(params, lr=0.01),
               "sgd_momentum": lambda: o.SGD(params, lr=0.01, momentum=0.9),
               "adagrad": lambda: o.Adagrad(params, lr=0.01, eps=1e-7),
               "rmsprop": lambda: o.RMSprop(params, lr=0.001, alpha=0.9, eps=1e-7),
               "adam": lambda: o.Adam(params, lr=0.001, eps=1e-7)}[rule]()
        fn = opt.step
    elif impl == "kernel":
        fn = _seed_kernel_step(rule, layers)
    else:
        mod = fastnn if impl == "fastnn" else R
        cls, kwargs = FASTNN_OPTIMIZERS[rule]
        opt = getattr(mod, cls)(**kwargs)
        l1, l2 = layers

        def fn():
            opt.pre_update_params()
            opt.update_params(l1)
            opt.update_params(l2)
            opt.post_update_params()
    op = OPERATION[rule].replace("update", "step")
    run_benchmark(benchmark, fn, group=group_name("optimizer", op, size, dtype),
                  info=info("optimizer", op, size, dtype, impl))
