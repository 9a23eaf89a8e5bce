"""Compile cost of ``Model.train``: a measured, budgeted figure.

Each case runs ``_compile_child.py`` in fresh processes sharing one new, empty
``NUMBA_CACHE_DIR``, in this order:

1. ``cold``: the seed network (2-64-3) from the empty cache -- every kernel
   ``Model.train`` reaches is compiled (budget: 45 CPU seconds);
2. ``warm``: the same again, everything loaded from the cache;
3. ``other depth``: a 2-64-64-3 network, warm otherwise -- the compiled loop
   takes tables and flat buffers, so a new depth should compile nothing
   (budget: 2 CPU seconds more than ``warm``).

The timed quantity is the whole sequence; the figures that matter (CPU and
wall seconds of each step) are in ``extra_info`` and in the report.  Slow (a
minute or more per dtype): run it on its own, ``pytest benchmarks/bench_compile.py``.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from benchmarks._common import group_name, info

CHILD = pathlib.Path(__file__).with_name("_compile_child.py")
STEPS = (("cold", "2-64-3"), ("warm", "2-64-3"), ("other depth", "2-64-64-3"))


def _child(arch, dtype, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("NUMBA_DISABLE_JIT", None)
    p = subprocess.run([sys.executable, str(CHILD), arch, dtype], env=env,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"compile child failed ({arch} {dtype}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def bench_compile_model_train(benchmark, dtype):
    results = {}

    def sequence():
        cache = tempfile.mkdtemp(prefix="fastnn-compile-")
        try:
            for name, arch in STEPS:
                results[name] = _child(arch, dtype, cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    benchmark.group = group_name("compile", "Model.train cold compile", "2-64-3, then 2-64-64-3", dtype)
    benchmark.extra_info.update(info("startup", "Model.train compile (cold, warm, other depth)",
                                     "2-64-3 then 2-64-64-3", dtype, "fastnn"))
    benchmark.pedantic(sequence, rounds=1, iterations=1)
    for name, r in results.items():
        key = name.replace(" ", "_")
        benchmark.extra_info[f"{key}_cpu_s"] = round(r["cpu_s"], 2)
        benchmark.extra_info[f"{key}_wall_s"] = round(r["wall_s"], 2)
    extra = results["other depth"]["cpu_s"] - results["warm"]["cpu_s"]
    benchmark.extra_info["other_depth_extra_cpu_s"] = round(extra, 2)
    print(f"\n{dtype}: cold {results['cold']['cpu_s']:.1f} s CPU ({results['cold']['wall_s']:.1f} s "
          f"wall), warm {results['warm']['cpu_s']:.1f} s, other depth "
          f"{results['other depth']['cpu_s']:.1f} s (+{extra:.2f} s CPU over warm)")
