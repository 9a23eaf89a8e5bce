"""Start-up: a fresh Python process importing the package and training one step.

The timed quantity is the whole process (``subprocess.run`` of
``_startup_child.py``: interpreter start, imports, data, one step, exit); the
child's own breakdown (import_s, step_s, in_process_s) goes to ``extra_info``.

* ``warm``: Numba's on-disk cache where a user has it (``__pycache__`` beside
  the kernels, or ``$NUMBA_CACHE_DIR`` if set), filled by one untimed run
  first -- what a reader sees on every start after the first.
* ``cold``: ``NUMBA_CACHE_DIR`` points at a new empty directory each round, so
  every kernel the step reaches is compiled: this is the JIT compilation time
  the other benchmarks exclude.

Scenarios: ``first step`` (the seed's network, one epoch with Adam) and
``seed, all optimizers`` (one epoch with each optimizer cell of the seed
notebook: everything the seed's loop uses).  float32 is after ``nnfs.init()``.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from benchmarks._common import (HAVE_TORCH, cpu_snapshot, group_name, info, other_cpu_since,
                                settle)
from benchmarks.bench_epoch import SEED_OPTIMIZERS
from fastnn.experiments import CLASSES, SAMPLES, SEED

CHILD = pathlib.Path(__file__).with_name("_startup_child.py")
WHAT = {"first-step": "import + first step (Adam)",
        "seed-all": "import + one epoch of each seed optimizer"}


def _experiment(what):
    """The child's workload as JSON: the seed's data and the optimizers of ``what``
    (the child cannot import fastnn.experiments without timing fastnn's import)."""
    configs = SEED_OPTIMIZERS if what == "seed-all" else SEED_OPTIMIZERS[-1:]
    return json.dumps({"samples": SAMPLES, "classes": CLASSES, "seed": SEED,
                       "optimizers": [[c.class_name(), c.kwargs()] for c in configs]})


def _run_child(impl, what, dtype, cache_dir, out):
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    env.pop("NUMBA_DISABLE_JIT", None)
    p = subprocess.run([sys.executable, str(CHILD), impl, dtype, _experiment(what)], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"startup child failed ({impl} {what} {dtype}):\n{p.stderr[-3000:]}")
    out.append(json.loads(p.stdout.strip().splitlines()[-1]))


def _bench(benchmark, impl, what, dtype, cache, rounds):
    if impl == "torch" and not HAVE_TORCH:
        pytest.skip("torch is not importable (optional)")
    results = []
    tmp_root = tempfile.mkdtemp(prefix="fastnn-bench-cache-")
    try:
        if cache == "warm":
            # the user's own cache location; one untimed run makes sure it is filled
            _run_child(impl, what, dtype, None, [])

            def setup():
                return (impl, what, dtype, None, results), {}
        else:
            counter = iter(range(1000))

            def setup():
                d = os.path.join(tmp_root, f"cold{next(counter)}")
                os.makedirs(d)
                return (impl, what, dtype, d, results), {}

        benchmark.group = group_name("startup", WHAT[what], f"{cache} cache", dtype)
        benchmark.extra_info.update(info("startup", WHAT[what], f"{cache} cache", dtype, impl,
                                         cache=cache, scenario=what))
        if benchmark.disabled:
            benchmark(lambda: _run_child(*setup()[0]))
        else:
            busy = settle()
            if busy is not None:
                benchmark.extra_info["other_cpu_cores"] = round(busy, 3)
            snap = cpu_snapshot()
            benchmark.pedantic(_run_child, setup=setup, rounds=rounds, iterations=1)
            during = other_cpu_since(snap)
            if during is not None:  # the children's CPU time counts as this process's
                benchmark.extra_info["other_cpu_cores_during"] = round(during, 3)
        if results:
            last = sorted(results, key=lambda r: r["in_process_s"])[len(results) // 2]
            benchmark.extra_info.update(import_s=last["import_s"], step_s=last["step_s"],
                                        in_process_s=last["in_process_s"])
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


@pytest.mark.parametrize("impl", ["fastnn", "reference", "torch"])
def bench_startup_warm_first_step(benchmark, dtype, impl):
    _bench(benchmark, impl, "first-step", dtype, "warm", rounds=5)


@pytest.mark.parametrize("impl", ["fastnn", "reference"])
def bench_startup_warm_seed_all(benchmark, dtype, impl):
    _bench(benchmark, impl, "seed-all", dtype, "warm", rounds=3)


@pytest.mark.parametrize("impl", ["fastnn", "reference"])
def bench_startup_cold_seed_all(benchmark, dtype, impl):
    _bench(benchmark, impl, "seed-all", dtype, "cold", rounds=1 if impl == "fastnn" else 3)
