"""fastnn in the field, in subprocesses: read-only installs, a corrupted or stale
kernel cache, ``NUMBA_DISABLE_JIT=1``, a source checkout shadowing an install."""
import contextlib
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


IGNORE = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.stamp")


def _copy_source(dst):
    """What ``pip install .`` needs of the repository, without caches or build output."""
    os.makedirs(dst)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(REPO, name), dst)
    for name in ("fastnn", "kernels"):
        shutil.copytree(os.path.join(REPO, name), os.path.join(dst, name), ignore=IGNORE)


def _copy_installed_layout(dst):
    """fastnn/ with kernels/ inside it, as an install has them, importable from ``dst``."""
    shutil.copytree(os.path.join(REPO, "fastnn"), os.path.join(dst, "fastnn"), ignore=IGNORE)
    shutil.copytree(os.path.join(REPO, "kernels"), os.path.join(dst, "fastnn", "kernels"),
                    ignore=IGNORE)


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
                s, name = obj.stats, f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"
                for counts, found in ((hits, s.cache_hits), (misses, s.cache_misses)):
                    if found:
                        counts[name] = sum(found.values())
                        paths.add(s.cache_path)
    return {"hits": hits, "misses": misses, "cache_paths": sorted(paths)}
"""

# ------------------------------------------------- read-only install, temp cache

SEED_LOOP = CACHE_STATS + """
import json, numpy as np, fastnn, fastnn.reference as R
from nnfs.datasets import spiral_data

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


@contextlib.contextmanager
def _user_who_cannot_write(site, python):
    """(command prefix, uid, a temporary directory that user owns): the prefix runs a
    child as a user who cannot write to ``site`` (root: ``nobody`` via setpriv; else
    this user, with ``site`` made read-only meanwhile).  Skips where impossible."""
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, and no setpriv to run the install as a user who "
                        "cannot write to it (root writes anywhere: it would not be read-only)")
        prefix, uid = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"), NOBODY
        p = subprocess.run([*prefix, python, "-c", "import numba, nnfs, scipy"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"user {NOBODY} cannot run this interpreter and its packages "
                        f"({python}): {p.stderr.strip()[-300:]}")
    else:
        prefix, uid = (), os.geteuid()
    tmp = tempfile.mkdtemp(prefix="fastnn-user-tmp-")
    dirs = [d for d, _, _ in os.walk(site)]
    try:
        if os.geteuid() == 0:
            os.chown(tmp, uid, uid)
        else:
            for d in dirs:
                os.chmod(d, 0o555)
        yield prefix, uid, tmp
    finally:
        if os.geteuid() != 0:
            for d in dirs:
                os.chmod(d, 0o755)
        shutil.rmtree(tmp, ignore_errors=True)


def test_read_only_install_compiles_into_temp_dir_and_reuses_it(installed):
    src, python, site = installed
    with _user_who_cannot_write(site, python) as (prefix, uid, tmp):
        # no NUMBA_CACHE_DIR, a home that does not exist, the package not writable:
        # the temporary directory is the only place left
        env = _env(HOME=os.path.join(site, "no-home"), TMPDIR=tmp)
        cold = _run(SEED_LOOP, env, cwd=tmp, prefix=prefix, python=python)
        warm = _run(SEED_LOOP, env, cwd=tmp, prefix=prefix, python=python)
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
import json, warnings, numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import fastnn
relu = fastnn.Activation_ReLU(); relu.forward(np.array([[-1.0, 2.0]]))
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
    with _user_who_cannot_write(site, python) as (prefix, uid, tmp):
        os.mkdir(os.path.join(tmp, f"fastnn-{uid}"), 0o755)  # root's, not the user's
        env = _env(HOME=os.path.join(site, "no-home"), TMPDIR=tmp)
        result = _run(NO_CACHE, env, cwd=tmp, prefix=prefix, python=python)
        planted = os.listdir(os.path.join(tmp, f"fastnn-{uid}"))
    assert result["out"] == [[0.0, 2.0]] and result["dir"] is None and planted == []
    assert any("no writable directory for the compiled kernels' cache" in w
               for w in result["warnings"]), result["warnings"]


# ------------------------------------------------------------- source checkout

PROBE_TEST = """
import os, numpy as np, fastnn, fastnn.kernels

def test_checkout_uses_its_own_kernels():
    root = os.environ["CHECKOUT"]
    assert fastnn.__file__ == os.path.join(root, "fastnn", "__init__.py")
    assert fastnn.kernels.__file__ == os.path.join(root, "kernels", "__init__.py")
    relu = fastnn.Activation_ReLU(); relu.forward(np.array([[-1.0, 2.0]]))
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
import json, numpy as np, fastnn, fastnn.reference as R
x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
got, want = fastnn.Activation_ReLU(), R.Activation_ReLU()
got.forward(x); want.forward(x)
print(json.dumps(dict(cache_stats(), same=got.output.tolist() == want.output.tolist())))
"""
RELU_KERNEL = "fastnn.kernels.activations.relu_forward"


CORRUPTIONS = {  # of a cache file's bytes
    "truncated": lambda data: data[:len(data) // 2],
    "garbage": lambda data: random.Random(0).randbytes(len(data)),
    "bit-flipped": lambda data: (data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x08])
                                 + data[len(data) // 2 + 1:]),
}


@pytest.fixture(scope="module")
def clean_cache(tmp_path_factory):
    """A cache directory holding the ReLU kernel, filled by one process."""
    path = str(tmp_path_factory.mktemp("clean_cache"))
    first = _run(RELU, _env(NUMBA_CACHE_DIR=path), cwd=path)
    assert first["same"] and first["misses"].get(RELU_KERNEL) == 1
    return path


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corrupted_cache_file_is_recompiled_and_replaced(clean_cache, tmp_path, corruption,
                                                         suffix):
    cache = str(tmp_path / "cache")
    shutil.copytree(clean_cache, cache)
    victims = [os.path.join(d, n) for d, _, names in os.walk(cache) for n in names
               if n.startswith("activations.relu_forward-") and n.endswith(suffix)]
    assert len(victims) == 1, victims
    with open(victims[0], "rb") as f:
        data = f.read()
    with open(victims[0], "wb") as f:
        f.write(CORRUPTIONS[corruption](data))
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
import json, numpy as np, fastnn
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


RUNNING = """
import json, sys, numpy as np, fastnn
from fastnn.kernels import activations as A
print("imported", flush=True)
sys.stdin.readline()  # meanwhile the kernels are edited and another process imports them
relu = fastnn.Activation_ReLU(); relu.forward(np.array([[-1.0, 2.0]]))
print(json.dumps({"out": relu.output.tolist(),
                  "misses": sum(A.relu_forward.stats.cache_misses.values())}))
"""


def test_process_started_before_an_edit_stays_out_of_the_cache(tmp_path):
    """Its machine code is of the old sources: it must not be saved for the new ones."""
    pkg = str(tmp_path / "pkg")
    _copy_installed_layout(pkg)
    env = _env(PYTHONPATH=pkg)
    old = subprocess.Popen([sys.executable, "-c", RUNNING], env=env, cwd=pkg, text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert old.stdout.readline().strip() == "imported"
        with open(os.path.join(pkg, "fastnn", "kernels", "vmath.py"), "a") as f:
            f.write("# edited\n")
        _run("import fastnn; print('{}')", env, cwd=pkg)  # restamps the cache
        out, _ = old.communicate("go\n", timeout=600)
    finally:
        old.kill()
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"out": [[0.0, 2.0]], "misses": 1}
    cache = os.path.join(pkg, "fastnn", "kernels", "__pycache__")
    assert not [n for n in os.listdir(cache) if n.startswith("activations.relu_forward")]


# ------------------------------------------------------------ NUMBA_DISABLE_JIT

NO_JIT = """
import json, numpy as np, fastnn, fastnn.reference as R
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
f16 = np.zeros((2, 2), np.float16)
try: sealed.relu_forward(f16, f16); refused = False
except TypeError: refused = True
print(json.dumps({"worst": worst, "refused": refused}))
"""


def test_numba_disable_jit_runs_the_python_kernels(tmp_path):
    result = _run(NO_JIT, _env(NUMBA_DISABLE_JIT="1"), cwd=str(tmp_path))
    assert result["worst"] < 1e-12, result
    assert result["refused"], "a sealed kernel accepted float16 under NUMBA_DISABLE_JIT"
