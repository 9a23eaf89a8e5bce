"""fastnn in the field: installs, the kernel cache, NUMBA_DISABLE_JIT (all in subprocesses).

* a non-editable install in a read-only place, run by a user whose only
  writable directory is the temporary one: compiles once, then reuses that cache;
* a corrupted cache file (truncated, garbage, one flipped bit; index or data)
  is recompiled, never used, and the cache heals;
* editing a kernel helper in one file recompiles its callers in other files;
* ``NUMBA_DISABLE_JIT=1`` runs the Python kernels, matching the reference;
* a source checkout run from its root (``python -m fastnn``, ``python -m
  pytest``) finds its kernels although it shadows an installed fastnn.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOBODY = 65534


def _env(**extra):
    """This process's environment without anything that steers fastnn or Numba."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NUMBA_") and k not in ("PYTHONPATH", "XDG_CACHE_HOME")}
    env.update(extra)
    return env


def _run(code, env, cwd, prefix=(), python=sys.executable):
    """Run ``code`` in a fresh interpreter; the JSON object its last line prints."""
    p = subprocess.run([*prefix, python, "-c", textwrap.dedent(code)], env=env,
                       cwd=cwd, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"child failed (exit {p.returncode}):\n{p.stderr[-4000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def _copy_source(dst):
    """What ``pip install .`` needs of the repository, without caches or build output."""
    os.makedirs(dst)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), dst)
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.stamp")
    for name in ("fastnn", "kernels"):
        shutil.copytree(os.path.join(REPO, name), os.path.join(dst, name), ignore=ignore)


def _copy_installed_layout(dst):
    """fastnn/ with kernels/ inside it, as an install has them, importable from ``dst``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.stamp")
    shutil.copytree(os.path.join(REPO, "fastnn"), os.path.join(dst, "fastnn"), ignore=ignore)
    shutil.copytree(os.path.join(REPO, "kernels"), os.path.join(dst, "fastnn", "kernels"),
                    ignore=ignore)


# What a child reports about the kernels' on-disk cache: every compiled kernel
# (Numba dispatcher) in fastnn.kernels, with its cache hits and misses.
CACHE_STATS = """
def cache_stats():
    import importlib, pkgutil
    import fastnn.kernels as K
    from numba.core.dispatcher import Dispatcher
    seen, hits, misses, paths = set(), {}, {}, set()
    for m in pkgutil.iter_modules(K.__path__):
        for obj in vars(importlib.import_module(f"fastnn.kernels.{m.name}")).values():
            if isinstance(obj, Dispatcher) and id(obj) not in seen:
                seen.add(id(obj))
                s = obj.stats
                name = f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"
                if s.cache_hits:
                    hits[name] = sum(s.cache_hits.values())
                if s.cache_misses:
                    misses[name] = sum(s.cache_misses.values())
                if s.cache_hits or s.cache_misses:
                    paths.add(s.cache_path)
    return {"hits": hits, "misses": misses, "cache_paths": sorted(paths)}
"""

# ------------------------------------------------- read-only install, temp cache

SEED_LOOP = CACHE_STATS + """
import json
import numpy as np
from nnfs.datasets import spiral_data
import fastnn
import fastnn.reference as R

def losses(M):
    np.random.seed(0)
    X, y = spiral_data(samples=100, classes=3)
    d1, act, d2 = M.Layer_Dense(2, 64), M.Activation_ReLU(), M.Layer_Dense(64, 3)
    head = M.Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = M.Optimizer_Adam(learning_rate=0.05, decay=5e-7)
    out = []
    for epoch in range(3):
        d1.forward(X); act.forward(d1.output); d2.forward(act.output)
        out.append(float(head.forward(d2.output, y)))
        head.backward(head.output, y); d2.backward(head.dinputs)
        act.backward(d2.dinputs); d1.backward(act.dinputs)
        opt.pre_update_params(); opt.update_params(d1); opt.update_params(d2)
        opt.post_update_params()
    return out

got, want = losses(fastnn), losses(R)
np.testing.assert_allclose(got, want, rtol=1e-9)
print(json.dumps(dict(cache_stats(), fastnn=fastnn.__file__, losses=got)))
"""


@pytest.fixture(scope="module")
def installed():
    """A copy of the repository ``pip install``-ed (not editable) into a new virtual
    environment that sees this one's dependencies but not its editable fastnn:
    (source copy, the environment's python, its site-packages)."""
    root = tempfile.mkdtemp(prefix="fastnn-install-")
    os.chmod(root, 0o755)  # readable by the unprivileged user below, writable by no one else
    src, venv = os.path.join(root, "src"), os.path.join(root, "venv")
    _copy_source(src)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # a path line in a .pth adds the directory but runs none of its own .pth files,
    # so this environment's editable-install finder is not installed there
    deps = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    with open(os.path.join(site, "deps.pth"), "w") as f:
        f.write("\n".join(sorted(deps)) + "\n")
    p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                        site, src], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"pip install --target failed:\n{p.stderr[-3000:]}"
    assert os.path.isfile(os.path.join(site, "fastnn", "kernels", "_jit.py"))
    yield src, python, site
    shutil.rmtree(root, ignore_errors=True)


def _unprivileged(site, python):
    """(command prefix, uid) running a child that cannot write to ``site``, or skip."""
    if os.geteuid() != 0:
        for d, _, _ in os.walk(site):  # made writable again after the test
            os.chmod(d, 0o555)
        return (), os.geteuid()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and no setpriv to run the install as a user who "
                    "cannot write to it (root writes anywhere, so it would not be read-only)")
    prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    p = subprocess.run([*prefix, python, "-c", "import numba, nnfs, scipy"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"user {NOBODY} cannot run this interpreter and its packages "
                    f"({python}): {p.stderr.strip()[-300:]}")
    return prefix, NOBODY


def test_read_only_install_compiles_into_temp_dir_and_reuses_it(installed):
    src, python, site = installed
    prefix, uid = _unprivileged(site, python)
    tmp = tempfile.mkdtemp(prefix="fastnn-user-tmp-")
    try:
        if os.geteuid() == 0:
            os.chown(tmp, uid, uid)
        # no NUMBA_CACHE_DIR, a home that does not exist, the package not writable:
        # the temporary directory is the only place left
        env = _env(HOME=os.path.join(site, "no-home"), TMPDIR=tmp)
        cold = _run(SEED_LOOP, env, cwd=tmp, prefix=prefix, python=python)
        warm = _run(SEED_LOOP, env, cwd=tmp, prefix=prefix, python=python)
    finally:
        if os.geteuid() != 0:
            for d, _, _ in os.walk(site):
                os.chmod(d, 0o755)
        shutil.rmtree(tmp, ignore_errors=True)
    assert cold["fastnn"].startswith(site), f"imported {cold['fastnn']}, not the install"
    expected_dir = os.path.join(tmp, f"fastnn-{uid}")
    assert cold["cache_paths"] and all(p.startswith(expected_dir) for p in cold["cache_paths"]), \
        cold["cache_paths"]
    assert cold["misses"] and not cold["hits"], "the first process should compile everything"
    # the second process loads every kernel it calls from that cache
    assert warm["misses"] == {}, f"recompiled in the second process: {warm['misses']}"
    assert warm["hits"] and set(warm["hits"]) <= set(cold["misses"])
    assert warm["losses"] == cold["losses"]


NO_CACHE = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import fastnn
import numpy as np
relu = fastnn.Activation_ReLU()
relu.forward(np.array([[-1.0, 2.0]]))
from fastnn.kernels import _cache
print(json.dumps({"out": relu.output.tolist(), "dir": _cache.cache_dir(),
                  "warnings": [str(w.message) for w in caught]}))
"""


def test_no_usable_cache_dir_warns_and_runs_uncached(installed):
    """Read-only package, no home, and a temporary fastnn-<uid> that someone else
    owns (it could hold planted machine code): no cache, a warning, correct results."""
    src, python, site = installed
    if os.geteuid() != 0:
        pytest.skip("needs root, to plant a directory owned by another user")
    prefix, uid = _unprivileged(site, python)
    tmp = tempfile.mkdtemp(prefix="fastnn-user-tmp-")
    try:
        os.chown(tmp, uid, uid)
        os.mkdir(os.path.join(tmp, f"fastnn-{uid}"), 0o755)  # root's, not the user's
        env = _env(HOME=os.path.join(site, "no-home"), TMPDIR=tmp)
        result = _run(NO_CACHE, env, cwd=tmp, prefix=prefix, python=python)
        planted = os.listdir(os.path.join(tmp, f"fastnn-{uid}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert result["out"] == [[0.0, 2.0]]
    assert result["dir"] is None and planted == []
    assert any("no writable directory for the compiled kernels' cache" in w
               for w in result["warnings"]), result["warnings"]


# ------------------------------------------------------------- source checkout

PROBE_TEST = """
import os
import numpy as np
import fastnn, fastnn.kernels

def test_checkout_uses_its_own_kernels():
    root = os.environ["CHECKOUT"]
    assert fastnn.__file__ == os.path.join(root, "fastnn", "__init__.py")
    assert fastnn.kernels.__file__ == os.path.join(root, "kernels", "__init__.py")
    relu = fastnn.Activation_ReLU()
    relu.forward(np.array([[-1.0, 2.0]]))
    assert relu.output.tolist() == [[0.0, 2.0]]
"""


def test_source_checkout_shadowing_an_install_finds_its_kernels(installed, tmp_path):
    src, python, site = installed
    checkout = str(tmp_path / "checkout")
    _copy_source(checkout)
    os.makedirs(os.path.join(checkout, "tests"))
    with open(os.path.join(checkout, "tests", "test_probe.py"), "w") as f:
        f.write(PROBE_TEST)
    env = _env(CHECKOUT=checkout, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    for cmd in (["-m", "fastnn", "--help"], ["-m", "pytest", "-q", "-p", "no:cacheprovider"]):
        p = subprocess.run([python, *cmd], cwd=checkout, env=env, capture_output=True,
                           text=True, timeout=900)
        assert p.returncode == 0, f"python {' '.join(cmd)} in a checkout:\n{p.stdout[-2000:]}" \
                                  f"\n{p.stderr[-2000:]}"
    assert "1 passed" in p.stdout


# ----------------------------------------------------------------- corruption

RELU = CACHE_STATS + """
import json
import numpy as np
import fastnn
import fastnn.reference as R
x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
got, want = fastnn.Activation_ReLU(), R.Activation_ReLU()
got.forward(x)
want.forward(x)
print(json.dumps(dict(cache_stats(), same=got.output.tolist() == want.output.tolist())))
"""
RELU_KERNEL = "fastnn.kernels.activations.relu_forward"


def _truncate(data):
    return data[:len(data) // 2]


def _garbage(data):
    return random.Random(0).randbytes(len(data))


def _flip_one_bit(data):
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0x08]) + data[i + 1:]


@pytest.fixture(scope="module")
def clean_cache(tmp_path_factory):
    """A cache directory holding the ReLU kernel, filled by one process."""
    path = str(tmp_path_factory.mktemp("clean_cache"))
    first = _run(RELU, _env(NUMBA_CACHE_DIR=path), cwd=path)
    assert first["same"] and first["misses"].get(RELU_KERNEL) == 1
    return path


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
@pytest.mark.parametrize("corrupt", [_truncate, _garbage, _flip_one_bit],
                         ids=["truncated", "garbage", "bit-flipped"])
def test_corrupted_cache_file_is_recompiled_and_replaced(clean_cache, tmp_path, corrupt, suffix):
    cache = str(tmp_path / "cache")
    shutil.copytree(clean_cache, cache)
    victims = [os.path.join(d, n) for d, _, names in os.walk(cache) for n in names
               if n.startswith("activations.relu_forward-") and n.endswith(suffix)]
    assert len(victims) == 1, victims
    with open(victims[0], "rb") as f:
        data = f.read()
    with open(victims[0], "wb") as f:
        f.write(corrupt(data))
    env = _env(NUMBA_CACHE_DIR=cache)
    healed = _run(RELU, env, cwd=cache)
    assert healed["same"]
    # the damaged entry was not used: compiled again (a flipped bit in machine
    # code could otherwise load and run)
    assert healed["misses"].get(RELU_KERNEL) == 1 and RELU_KERNEL not in healed["hits"]
    again = _run(RELU, env, cwd=cache)
    assert again["same"] and again["hits"].get(RELU_KERNEL) == 1 and not again["misses"]


# ------------------------------------------------------------------ stale code

SOFTMAX_CE = CACHE_STATS + """
import json
import numpy as np
import fastnn
x = np.random.default_rng(0).standard_normal((30, 3))
y = np.arange(30) % 3
loss = float(fastnn.Activation_Softmax_Loss_CategoricalCrossentropy().forward(x, y))
print(json.dumps(dict(cache_stats(), loss=loss)))
"""
SOFTMAX_CE_KERNEL = "fastnn.kernels.losses.softmax_cce_sparse_forward"


def test_editing_a_helper_in_another_file_recompiles_its_callers(tmp_path):
    """vmath.log_for is inlined into the loss kernels in losses.py; Numba alone
    checks losses.py only and would keep running the old code."""
    pkg = str(tmp_path / "pkg")
    _copy_installed_layout(pkg)
    env = _env(PYTHONPATH=pkg)  # the cache: the copy's own kernels/__pycache__
    before = _run(SOFTMAX_CE, env, cwd=pkg)
    assert before["misses"].get(SOFTMAX_CE_KERNEL) == 1
    assert all(p.startswith(pkg) for p in before["cache_paths"]), before["cache_paths"]

    vmath = os.path.join(pkg, "fastnn", "kernels", "vmath.py")
    with open(vmath) as f:
        source = f.read()
    old = "    return x if x != x else y\n"
    assert source.count(old) == 1, "log_for's last line changed; update this test"
    with open(vmath, "w") as f:
        f.write(source.replace(old, "    return x if x != x else y + 1.0\n"))

    after = _run(SOFTMAX_CE, env, cwd=pkg)  # loss = -log p: one less
    assert after["misses"].get(SOFTMAX_CE_KERNEL) == 1, "stale machine code was loaded"
    assert after["loss"] == pytest.approx(before["loss"] - 1.0, rel=1e-12)
    # and nothing is dropped while the sources stay the same
    again = _run(SOFTMAX_CE, env, cwd=pkg)
    assert again["hits"].get(SOFTMAX_CE_KERNEL) == 1 and not again["misses"]
    assert again["loss"] == after["loss"]


# ------------------------------------------------------------ NUMBA_DISABLE_JIT

NO_JIT = """
import json
import numpy as np
import fastnn
import fastnn.reference as R
from fastnn.kernels import dense, sealed
assert not hasattr(dense.dense_forward, "py_func"), "JIT is not disabled"

def run(M):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 64))          # 64*64*64 multiply-adds: the BLAS path
    y = rng.integers(0, 3, 64)
    np.random.seed(2)
    d1, act, d2 = M.Layer_Dense(64, 64), M.Activation_ReLU(), M.Layer_Dense(64, 3)
    head = M.Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = M.Optimizer_Adam(learning_rate=0.05)
    d1.forward(x); act.forward(d1.output); d2.forward(act.output)
    loss = head.forward(d2.output, y)
    head.backward(head.output, y); d2.backward(head.dinputs)
    act.backward(d2.dinputs); d1.backward(act.dinputs)
    opt.pre_update_params(); opt.update_params(d1); opt.update_params(d2)
    opt.post_update_params()
    return [np.asarray(loss), d2.output, head.dinputs, d1.dinputs, d1.weights, d2.biases,
            d1.weight_cache]

worst = max(float(np.max(np.abs(g - w) / (1e-300 + np.abs(w).max())))
            for g, w in zip(run(fastnn), run(R)))
try:
    sealed.relu_forward(np.zeros((2, 2), np.float16), np.zeros((2, 2), np.float16))
    refused = False
except TypeError:
    refused = True
print(json.dumps({"worst": worst, "refused": refused}))
"""


def test_numba_disable_jit_runs_the_python_kernels(tmp_path):
    result = _run(NO_JIT, _env(NUMBA_DISABLE_JIT="1"), cwd=str(tmp_path))
    assert result["worst"] < 1e-12, result
    assert result["refused"], "a sealed kernel accepted float16 under NUMBA_DISABLE_JIT"
