"""Helpers shared by the benchmark modules (no pytest fixtures here).

Every benchmark runs the fastnn path and its NumPy twin (``fastnn.reference``)
on identical inputs, in one pytest-benchmark group, so a group's table shows
the ratio directly.  PyTorch (CPU) joins as a further row when it is
importable; it is not a dependency of fastnn.

Each benchmark records in ``extra_info`` what the report needs:

* ``section``   -- epoch | op | optimizer | ch19 | startup | bandwidth
* ``operation`` -- e.g. "dense forward", "adam update", "seed epoch: Adam(...)"
* ``size``      -- human-readable problem size
* ``dtype``     -- float32 | float64
* ``impl``      -- fastnn | kernel | reference | torch | torch-fused | probe
"""
from __future__ import annotations

import os
import time

import numpy as np

try:  # torch is optional: its rows are skipped when it is missing
    import torch
except Exception:  # pragma: no cover - depends on the environment
    torch = None

HAVE_TORCH = torch is not None

DTYPES = ("float32", "float64")

# The patches nnfs.init() makes to NumPy (undone after every benchmark).
PATCHED = [(np, "dot"), (np, "zeros"), (np, "eye"), (np.random, "randn")]


def numba_threads():
    import numba
    return numba.get_num_threads()


def set_torch_threads():
    """Give torch the thread count Numba's parallel kernels use (same-thread comparison)."""
    if HAVE_TORCH:
        n = numba_threads()
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        return torch.get_num_threads()
    return None


def need_torch():
    import pytest
    if not HAVE_TORCH:
        pytest.skip("torch is not importable (optional)")


def torch_dtype(dtype):
    return {"float32": torch.float32, "float64": torch.float64}[dtype]


def median_time(fn, repeats, warmup=1):
    """Median wall time of ``fn()`` over ``repeats`` calls (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


# Seconds to sleep before each benchmark's warm-up.  Thread pools that
# busy-wait after a parallel region (OpenBLAS workers spin ~0.1 s, OpenMP
# workers briefly) would otherwise steal one of the two cores from the next
# benchmark -- possibly another library's -- and inflate its times many-fold.
SETTLE_S = float(os.environ.get("FASTNN_BENCH_SETTLE", "0.25"))
# Up to this many seconds more, wait for other processes to leave the CPUs
# (less than QUIET_CORES cores busy with them); 0 = never wait.
QUIET_WAIT_S = float(os.environ.get("FASTNN_BENCH_QUIET_WAIT", "0"))
QUIET_CORES = 0.15


def _busy_jiffies():
    try:
        with open("/proc/stat") as fh:
            f = [int(v) for v in fh.readline().split()[1:]]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...
    return f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] if len(f) > 7 else 0)


def cpu_snapshot():
    return _busy_jiffies(), os.times(), time.perf_counter()


def other_cpu_since(snap):
    """Cores other processes kept busy, on average, since ``cpu_snapshot()`` (None if unknown)."""
    b0, t0, w0 = snap
    b1, t1, w1 = _busy_jiffies(), os.times(), time.perf_counter()
    if b0 is None or b1 is None or w1 <= w0:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    # this process's threads and its waited-for children (start-up benchmarks)
    own = sum(t1[i] - t0[i] for i in range(4))
    return max(0.0, ((b1 - b0) / hz - own) / (w1 - w0))


def other_cpu(window):
    """Cores kept busy by *other* processes during the next ``window`` seconds."""
    snap = cpu_snapshot()
    time.sleep(window)
    return other_cpu_since(snap)


def settle():
    """Sleep ``SETTLE_S`` (and wait for quiet, if asked); return other processes' CPU load."""
    if SETTLE_S <= 0:
        return None
    load = other_cpu(SETTLE_S)
    deadline = time.perf_counter() + QUIET_WAIT_S
    while load is not None and load > QUIET_CORES and time.perf_counter() < deadline:
        load = other_cpu(0.5)
    return load


def run_benchmark(benchmark, fn, *, group, info, warmup=2, rounds=None, budget=1.0,
                  max_rounds=200, min_rounds=3):
    """Time ``fn`` under pytest-benchmark, after ``warmup`` untimed calls.

    First it sleeps ``SETTLE_S`` so that the previous benchmark's spinning
    worker threads go idle, measuring meanwhile how many cores other processes
    keep busy (``extra_info["other_cpu_cores"]``; ``other_cpu_cores_during``
    is the same during the timing: CPU time of this process subtracted from
    the machine's).  The warm-up calls compile (or load from the on-disk cache)
    every kernel the call reaches and allocate the layers' optimizer state, so
    JIT compilation never lands in a timing; the ``startup`` benchmarks measure
    it instead.

    ``rounds=None`` lets pytest-benchmark calibrate (many short rounds, for
    microsecond calls); ``rounds="auto"`` runs ``pedantic`` with one call per
    round and as many rounds as fit in ``budget`` seconds (for the large
    optimizer updates, where each call is milliseconds to a second).
    """
    benchmark.group = group
    benchmark.extra_info.update(info)
    la = loadavg()
    if la:
        benchmark.extra_info["loadavg_1m"] = la[0]
    if benchmark.disabled:  # smoke mode (--benchmark-disable): one call, no warm-up
        return benchmark(fn)
    busy = settle()
    if busy is not None:
        benchmark.extra_info["other_cpu_cores"] = round(busy, 3)
    for _ in range(warmup):
        fn()
    if rounds == "auto":
        t0 = time.perf_counter()
        fn()
        t = max(time.perf_counter() - t0, 1e-6)
        rounds = int(min(max_rounds, max(min_rounds, budget / t)))
    snap = cpu_snapshot()
    if rounds is None:
        result = benchmark(fn)
    else:
        result = benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
    during = other_cpu_since(snap)
    if during is not None:
        benchmark.extra_info["other_cpu_cores_during"] = round(during, 3)
    return result


def head_to_head(fns, rounds, calls=1, gap=0.0, warm=0):
    """Per-call median times of several callables measured in alternation.

    Each round times ``calls`` calls of each function in turn (sleeping
    ``gap`` seconds before each block, so one library's spinning worker
    threads are idle before the next one starts, then making ``warm`` untimed
    calls, so its own threads and caches are awake again).  Alternating makes the ratio
    immune to slow drifts of the machine -- this VM's memory bandwidth and
    free CPU change by up to 2x over minutes -- that separate timings minutes
    apart are not.  ``other_cpu_cores_during`` in the result says how busy
    other processes kept the machine meanwhile.
    """
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    snap = cpu_snapshot()
    for _ in range(rounds):
        for k, fn in fns.items():
            if gap:
                time.sleep(gap)
            for _ in range(warm):
                fn()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            times[k].append((time.perf_counter() - t0) / calls)
    result = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    during = other_cpu_since(snap)
    if during is not None:
        result["other_cpu_cores_during"] = round(during, 3)
    return result


def group_name(section, operation, size, dtype):
    return f"{section}: {operation} | {size} | {dtype}"


def info(section, operation, size, dtype, impl, **extra):
    d = dict(section=section, operation=operation, size=size, dtype=dtype, impl=impl)
    d.update(extra)
    return d


def loadavg():
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return None


def tests_module(name):
    """A helper module of ``tests/`` (the book's scripts and models), loaded by file
    path: the benchmarks run what the tests check, without ``tests/`` on sys.path."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blas_own_threads(fn):
    """``fn`` with fastnn's BLAS thread policy off (``set_blas_thread_policy(0)``):
    its products then use BLAS's own thread count, as NumPy's and torch's do."""
    import fastnn

    def run():
        previous = fastnn.set_blas_thread_policy(0)
        try:
            fn()
        finally:
            fastnn.set_blas_thread_policy(previous)
    return run
