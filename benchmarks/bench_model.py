"""``fastnn.Model.train`` against the seed notebook's per-op loop on the NumPy twin.

The seed workload: spiral data 100 samples x 3 classes (X is 300x2), a 2-64-3
network, softmax + cross-entropy, Adam(lr=0.05, decay=5e-7).  One benchmark call
is ``EPOCHS_PER_CALL`` epochs:

* ``Model.train``: ``model.train(X, y, epochs=EPOCHS_PER_CALL, print_every=None)``,
  i.e. one call of the compiled loop (as with the seed's print every 10000 epochs);
* ``reference loop``: the notebook's loop body on ``fastnn.reference``, including
  its accuracy and the every-100th-epoch progress line (formatted, not printed).

Both are in one pytest-benchmark group per dtype, so the table shows the ratio;
``extra_info`` holds microseconds per epoch and, for ``Model.train``, the share
of the machine's peak FLOP rate the epoch reaches: the epoch's matrix-product
FLOPs over the rate of a large single-threaded matmul (NumPy's BLAS, 1024^2,
measured in a subprocess limited to one thread, in the same run).

float64 is the notebook as written (``np.random.seed(0)``, no ``nnfs.init()``);
float32 is the loop after ``nnfs.init()``, as readers run it.  Self-contained:
this file does not rely on ``benchmarks/conftest.py``.

    pytest benchmarks/bench_model.py              # the benchmark tables
    python benchmarks/bench_model.py              # side-by-side 10000-epoch speed check
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import fastnn.reference as R

if not __package__:  # run as a script: python benchmarks/bench_model.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.bench_epoch import _seed_data, notebook_epoch  # noqa: E402
from fastnn.experiments import (CLASSES, HIDDEN, INPUTS, SAMPLES, config, seed_model,  # noqa: E402
                                spiral)

EPOCHS_PER_CALL = 200
OPTIMIZER = config("Adam(lr=0.05, decay=5e-7)")
_PATCHED = [(np, "dot"), (np, "zeros"), (np, "eye"), (np.random, "randn")]


# ------------------------------------------------------------------------ workload

def seed_data(dtype):
    """The seed's data: float64 as the notebook is written, float32 via nnfs.init()."""
    return _seed_data(dtype)


def build_model(opt=OPTIMIZER):
    """The seed's network as a fastnn.Model (layers drawn from NumPy's global generator)."""
    return seed_model(opt)


def reference_loop(X, y, opt=OPTIMIZER):
    """The seed notebook's loop on the NumPy twin: ``run(epochs)`` runs that many epochs."""
    one_epoch = notebook_epoch(R, opt.class_name(), opt.kwargs(), X, y)

    def run(epochs):
        for _ in range(epochs):
            one_epoch()

    return run


def epoch_flops(n=SAMPLES * CLASSES, sizes=(INPUTS, HIDDEN, CLASSES)):
    """Matrix-product FLOPs of one epoch: forward, weight gradients, and the input
    gradient of every layer but the first (2 FLOPs per multiply-add)."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    madds = sum(n * k * m for k, m in layers) * 2 + sum(n * k * m for k, m in layers[1:])
    return 2 * madds


_PEAK = {}
_PEAK_CODE = """
import json, sys, time
import numpy as np
dt = np.dtype(sys.argv[1]); n = 1024
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n)).astype(dt); b = rng.standard_normal((n, n)).astype(dt)
a @ b
best = float("inf")
for _ in range(7):
    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
print(json.dumps({"flops": 2 * n ** 3 / best}))
"""


def peak_flops(dtype):
    """FLOP/s of a large single-threaded matmul (NumPy's BLAS, 1 thread), measured once
    per run in a subprocess (the thread count of a loaded BLAS cannot be changed
    portably).  OPENBLAS_CORETYPE is dropped there so OpenBLAS picks the CPU's own
    kernels: this is the machine's peak, not the throttled one."""
    if dtype not in _PEAK:
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        out = subprocess.run([sys.executable, "-c", _PEAK_CODE, dtype], env=env,
                             capture_output=True, text=True, check=True, timeout=300).stdout
        _PEAK[dtype] = json.loads(out)["flops"]
    return _PEAK[dtype]


# ----------------------------------------------------------------------- benchmarks

@pytest.fixture(autouse=True)
def _restore_numpy():
    """Undo nnfs.init()'s patching of NumPy after each benchmark."""
    saved = [(mod, name, getattr(mod, name)) for mod, name in _PATCHED]
    yield
    for mod, name, fn in saved:
        setattr(mod, name, fn)


def _info(benchmark, dtype, impl):
    benchmark.group = f"model epoch {dtype}: Model.train vs the notebook's per-op loop"
    benchmark.extra_info.update(
        section="model", operation=f"seed epoch x{EPOCHS_PER_CALL}: {OPTIMIZER.label}",
        size="spiral 300x2, 2-64-3", dtype=dtype, impl=impl, epochs_per_call=EPOCHS_PER_CALL,
        openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"))


def _per_epoch(benchmark):
    """Median and best seconds per epoch, or None under --benchmark-disable (no stats)."""
    if benchmark.disabled or benchmark.stats is None:
        return None
    stats = benchmark.stats.stats
    return stats.median / EPOCHS_PER_CALL, stats.min / EPOCHS_PER_CALL


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def bench_model_train(benchmark, dtype):
    peak = peak_flops(dtype)
    X, y = seed_data(dtype)
    model = build_model()
    model.train(X, y, epochs=2, verbose=False)  # compile (or load from the cache)
    _info(benchmark, dtype, "fastnn Model.train")
    benchmark.pedantic(model.train, args=(X, y),
                       kwargs=dict(epochs=EPOCHS_PER_CALL, print_every=None, verbose=False),
                       rounds=30, iterations=1, warmup_rounds=2)
    timing = _per_epoch(benchmark)
    if timing is None:
        return
    median, best = timing
    flops = epoch_flops()
    benchmark.extra_info.update(
        us_per_epoch_median=median * 1e6, us_per_epoch_min=best * 1e6,
        flops_per_epoch=flops, peak_flops_single_thread=peak,
        peak_fraction_median=flops / median / peak, peak_fraction_best=flops / best / peak)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def bench_reference_loop(benchmark, dtype):
    X, y = seed_data(dtype)
    run = reference_loop(X, y)
    _info(benchmark, dtype, "reference per-op loop")
    benchmark.pedantic(run, args=(EPOCHS_PER_CALL,), rounds=10, iterations=1, warmup_rounds=1)
    timing = _per_epoch(benchmark)
    if timing is None:
        return
    median, best = timing
    benchmark.extra_info.update(us_per_epoch_median=median * 1e6, us_per_epoch_min=best * 1e6)


# ------------------------------------------------------------- the side-by-side check

def speed_check(epochs=10000, repeats=5, variants=("float64", "float32", "float32-plain")):
    """The seed workload, 10000 epochs, Model.train (printing every 10000) against the
    seed's loop on the twin (printing every 100), alternated in one process; median
    microseconds per epoch of each and their ratio.  ``float32`` runs under
    nnfs.init() as readers do; ``float32-plain`` casts the float64 data and weights
    instead (the twin's np.dot then is NumPy's own)."""
    results = {}
    for variant in variants:
        saved = [(mod, name, getattr(mod, name)) for mod, name in _PATCHED]
        try:
            if variant == "float32-plain":
                X, y = spiral(dtype=np.float32)
            else:
                X, y = seed_data(variant)
            times = {"model": [], "reference": []}
            for rep in range(repeats + 1):
                state = np.random.get_state()
                model = build_model()
                if variant == "float32-plain":
                    for layer in model.trainable_layers:
                        layer.weights = layer.weights.astype(np.float32)
                        layer.biases = layer.biases.astype(np.float32)
                sink = io.StringIO()
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(sink):
                    model.train(X, y, epochs=epochs, print_every=10000)
                t_model = time.perf_counter() - t0
                np.random.set_state(state)
                run = reference_loop(X.astype(model.trainable_layers[0].weights.dtype), y)
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(sink):
                    run(epochs)
                t_ref = time.perf_counter() - t0
                if rep:  # the first repeat warms up (compilation, caches)
                    times["model"].append(t_model / epochs * 1e6)
                    times["reference"].append(t_ref / epochs * 1e6)
            m, r = np.median(times["model"]), np.median(times["reference"])
            results[variant] = dict(model_us=m, reference_us=r, ratio=r / m,
                                    model_all=times["model"], reference_all=times["reference"])
            print(f"{variant:14s} Model.train {m:7.1f} us/epoch   reference loop {r:7.1f} "
                  f"us/epoch   ratio {r / m:5.1f}x   (model runs {np.round(times['model'], 1)}, "
                  f"reference runs {np.round(times['reference'], 1)})", flush=True)
        finally:
            for mod, name, fn in saved:
                setattr(mod, name, fn)
    return results


if __name__ == "__main__":
    print(f"load average {os.getloadavg()}; seed workload 2-64-3, 300 samples, "
          f"{OPTIMIZER.call()}, 10000 epochs per run", flush=True)
    speed_check()
