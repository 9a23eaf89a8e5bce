"""Fixtures and pytest-benchmark hooks for fastnn's benchmark suite.

Collection: ``benchmarks/pytest.ini`` makes ``pytest benchmarks/`` collect
``bench_*.py`` (and ``test_*.py``) files and ``bench_*``/``test_*`` functions.
"""
import os
import platform
import sys

import numpy as np
import pytest

from benchmarks._common import HAVE_TORCH, PATCHED, loadavg, numba_threads, set_torch_threads

_LOAD_AT_START = loadavg()


def pytest_configure(config):
    # Same thread count for torch as for Numba's parallel kernels.
    set_torch_threads()


def _order(item):
    """Run order: everything in-process first, then the torch rows, then start-up.

    Torch's OpenMP pool is then created only after the fastnn and reference
    rows have run, so it cannot disturb them; start-up runs in child processes
    and compiles on both cores, so it goes last.  Order within each part is
    kept (stable sort).
    """
    if item.fspath.basename == "bench_startup.py":
        return 2
    callspec = getattr(item, "callspec", None)
    impl = callspec.params.get("impl", "") if callspec else ""
    return 1 if str(impl).startswith("torch") else 0


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_order)


@pytest.fixture(scope="session", autouse=True)
def _warm_machine(request):
    """Keep both cores busy for a second before the first benchmark.

    On this VM the first benchmark of a session measured 20-40% slower than the
    same code minutes later (idle vCPUs come back slowly); a short busy period
    puts the session's first rows on the same footing as the rest.
    """
    if request.config.getoption("benchmark_disable", False):
        return
    import time
    from benchmarks._roofline import probe_arrays, triad_kernel
    a, b = probe_arrays(1 << 20, "float64")
    end = time.perf_counter() + float(os.environ.get("FASTNN_BENCH_WARM_S", "1.5"))
    while time.perf_counter() < end:
        triad_kernel(a, b, 1e-9)


@pytest.fixture(autouse=True)
def _restore_numpy():
    """Undo ``nnfs.init()``'s global monkey-patching of NumPy after every benchmark."""
    saved = [(mod, name, getattr(mod, name)) for mod, name in PATCHED]
    yield
    for mod, name, fn in saved:
        setattr(mod, name, fn)


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param


def _blas():
    try:
        cfg = np.show_config(mode="dicts")
        return cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        return "unknown"


def pytest_benchmark_update_machine_info(config, machine_info):
    import numba
    machine_info["fastnn"] = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numpy_blas": _blas(),
        "numba": numba.__version__,
        "numba_threads": numba_threads(),
        "numba_threading_layer": _threading_layer(),
        "torch": (__import__("torch").__version__ if HAVE_TORCH else None),
        "torch_threads": (__import__("torch").get_num_threads() if HAVE_TORCH else None),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_start": _LOAD_AT_START,
        "loadavg_end": loadavg(),
    }


def _threading_layer():
    import numba
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After the groups' tables: ratios, roofline fractions and targets, as Markdown."""
    bs = getattr(config, "_benchmarksession", None)
    if bs is None or bs.disabled:
        return
    benches = [b.as_dict(include_data=False) for b in bs.benchmarks if b]
    if not benches:
        return
    from benchmarks.report import markdown
    info = {}
    pytest_benchmark_update_machine_info(config, info)
    terminalreporter.write_sep("=", "fastnn: ratios, roofline and targets "
                                    "(python -m benchmarks.report formats a saved JSON)")
    terminalreporter.write_line(markdown({"benchmarks": benches, "machine_info": info}))
