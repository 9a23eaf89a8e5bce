"""fastnn under ``nnfs.init()``, in fresh subprocesses.

``nnfs.init()`` seeds NumPy with 0 and monkey-patches NumPy globally (np.dot
computes in float64 and returns float32; np.zeros, np.eye, np.random.randn
return float32).  Every reader of the book calls it, so fastnn must keep
working after it: its kernels must compile and run once the patching is in
place, results must be float32, and the deterministic numbers of the seed's
chapter-10 run must come out exactly.

Each test runs a script with ``sys.executable`` in which ``nnfs.init()`` is
called before any fastnn kernel has run.  Numba's on-disk cache is pointed at a
fresh directory in these processes, so every kernel is really compiled after
``init()`` (a kernel loaded from a cache compiled earlier would hide a kernel
that names np.dot / np.zeros / np.eye).
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from _loops import (ALL_CONFIGS, BOOK_OPTIMIZERS, NOTEBOOK_OPTIMIZERS, PREAMBLE_BOOK,
                    PREAMBLE_NOTEBOOK, book_script, expected_lr_str, import_line,
                    notebook_cell, parse_printed)

TESTS_DIR = pathlib.Path(__file__).resolve().parent

# Known values of the seed's chapter-10 run (spec, "The nnfs package").
EPOCH0_NOTEBOOK = "epoch: 0, accuracy:  0.360, loss:  1.099"
EPOCH0_BOOK = "epoch: 0, acc: 0.360, loss: 1.099"
LR_AT_10000 = {
    "SGD(decay=1e-3)": "0.09091735612328393",
    "Adam(lr=0.05, decay=5e-7)": "0.04975126853296942",
    "Optimizer_SGD(decay=1e-3)": "0.09091735612328393",
    "Optimizer_Adam(learning_rate=0.05, decay=5e-7)": "0.04975126853296942",
}
# How the spec's lr values arise: the loop prints optimizer.lr_curr at the top of
# epoch 10000 of ``range(10001)`` (the book's loop), i.e. the rate set by the
# pre-update hook of epoch 9999 with t = 9999:
#   1.0  * (1. / (1. + 1e-3 * 9999)) == 0.09091735612328393
#   0.05 * (1. / (1. + 5e-7 * 9999)) == 0.04975126853296942
# (t = 10000 would give 0.09090909090909091 and 0.04975124378109454.)

# Appended to a reader's script: the dtypes of everything the loop produced.
DTYPE_REPORT = """
import json as _json
_report = {"X": str(X.dtype), "loss": type(loss).__name__ + ":" + str(np.asarray(loss).dtype)}
for _obj in ("dense1", "dense2", "activation1", "activationLoss", "loss_activation"):
    if _obj in globals():
        for _a in ("weights", "biases", "inputs", "output", "dweights", "dbiases", "dinputs",
                   "weight_momentums", "bias_momentums", "weight_cache", "bias_cache"):
            if hasattr(globals()[_obj], _a):
                _report[_obj + "." + _a] = str(np.asarray(getattr(globals()[_obj], _a)).dtype)
print("REPORT " + _json.dumps(_report))
"""


@pytest.fixture(scope="module")
def numba_cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("numba_cache"))


def run_script(code, cache_dir, timeout=540):
    """Run ``code`` in a fresh interpreter that imports what this process imports."""
    env = os.environ.copy()
    paths = [str(TESTS_DIR), os.getcwd()] + [p for p in sys.path if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["NUMBA_CACHE_DIR"] = cache_dir
    env.pop("NUMBA_DISABLE_JIT", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=os.getcwd())
    assert proc.returncode == 0, (
        f"script failed (exit {proc.returncode})\n--- stdout (tail) ---\n{proc.stdout[-3000:]}"
        f"\n--- stderr (tail) ---\n{proc.stderr[-6000:]}")
    return proc.stdout


def _report(stdout):
    for line in stdout.splitlines():
        if line.startswith("REPORT "):
            return json.loads(line[len("REPORT "):])
    raise AssertionError(f"no REPORT line in\n{stdout[-2000:]}")


def _assert_all_float32(report, what):
    bad = {k: v for k, v in report.items() if k != "loss" and v != "float32"}
    assert not bad, f"{what}: not float32 under nnfs.init(): {bad}"
    assert report["loss"] == "float32:float32", f"{what}: loss is {report['loss']}"


# ---------------------------------------------------------------------------
# Whole 10001-epoch runs: the exact printed numbers of the spec
# ---------------------------------------------------------------------------

def _reader_program(spelling, opt_src, order, epochs=10001):
    """A reader's script.  ``order``: where nnfs.init() goes relative to the import
    of fastnn: 'init_then_import' (the book: init right after importing nnfs) or
    'import_then_init' (the seed notebook's preface imports everything first)."""
    pre = (PREAMBLE_NOTEBOOK if spelling == "notebook" else PREAMBLE_BOOK)
    loop = notebook_cell(opt_src, epochs) if spelling == "notebook" else book_script(opt_src, epochs)
    if order == "init_then_import":
        head = "import nnfs\nnnfs.init()\n" + pre.format(import_line=import_line(spelling, "fastnn"))
    else:
        head = pre.format(import_line=import_line(spelling, "fastnn")) + "nnfs.init()\n"
    return head + "\n" + loop + DTYPE_REPORT


_long_runs = [
    ("notebook", "SGD(decay=1e-3)", "init_then_import", 1.0, 1e-3),
    ("notebook", "Adam(lr=0.05, decay=5e-7)", "import_then_init", 0.05, 5e-7),
    ("book", "Optimizer_Adam(learning_rate=0.05, decay=5e-7)", "init_then_import", 0.05, 5e-7),
]


@pytest.mark.parametrize("spelling,opt_src,order,lr,decay", _long_runs,
                         ids=[f"{r[1]}-{r[2]}" for r in _long_runs])
def test_seed_run_10001_epochs_prints_spec_values(spelling, opt_src, order, lr, decay,
                                                  numba_cache_dir):
    out = run_script(_reader_program(spelling, opt_src, order), numba_cache_dir)
    rows = parse_printed(out)
    assert sorted(rows) == list(range(0, 10001, 100)), out[-2000:]
    epoch0 = EPOCH0_NOTEBOOK if spelling == "notebook" else EPOCH0_BOOK
    assert rows[0]["line"] == f"{epoch0}, lr: {lr}", rows[0]["line"]
    assert rows[10000]["lr"] == LR_AT_10000[opt_src], rows[10000]["line"]
    # the whole printed lr column, exactly
    for epoch, row in rows.items():
        assert row["lr"] == expected_lr_str(lr, decay, epoch), row["line"]
    # it trained: the spiral is learned well past chance by then
    assert float(rows[10000]["loss"]) < 1.0, rows[10000]["line"]
    assert float(rows[10000]["accuracy"]) > 0.5, rows[10000]["line"]
    _assert_all_float32(_report(out), opt_src)


# ---------------------------------------------------------------------------
# Every seed cell and every book run: the epoch-0 line and the lr column
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def all_cells_output(numba_cache_dir):
    """All seven seed cells and all book runs, 201 epochs each, in one process
    after nnfs.init(); NumPy is reseeded with 0 before each (as init() does)."""
    parts = ["import nnfs\nnnfs.init()\n",
             PREAMBLE_NOTEBOOK.format(import_line=import_line("notebook", "fastnn")),
             PREAMBLE_BOOK.format(import_line=import_line("book", "fastnn"))]
    for opt_src in NOTEBOOK_OPTIMIZERS:
        parts.append(f"np.random.seed(0)\nprint('CELL {opt_src}')\n")
        parts.append(notebook_cell(opt_src, 201) + "\n" + DTYPE_REPORT)
    for opt_src in BOOK_OPTIMIZERS:
        parts.append(f"np.random.seed(0)\nprint('CELL {opt_src}')\n")
        parts.append(book_script(opt_src, 201) + "\n" + DTYPE_REPORT)
    out = run_script("\n".join(parts), numba_cache_dir)
    cells = {}
    current = None
    for line in out.splitlines():
        if line.startswith("CELL "):
            current = line[5:]
            cells[current] = []
        elif current is not None:
            cells[current].append(line)
    return {k: "\n".join(v) for k, v in cells.items()}


_all_cells = [("notebook", o) for o in NOTEBOOK_OPTIMIZERS] + [("book", o) for o in BOOK_OPTIMIZERS]


@pytest.mark.parametrize("spelling,opt_src", _all_cells, ids=[c[1] for c in _all_cells])
def test_every_run_epoch0_line_lr_column_float32(spelling, opt_src, all_cells_output):
    out = all_cells_output.get(opt_src)
    assert out is not None, f"no output for {opt_src}"
    rows = parse_printed(out)
    assert sorted(rows) == [0, 100, 200], out
    epoch0 = EPOCH0_NOTEBOOK if spelling == "notebook" else EPOCH0_BOOK
    assert rows[0]["line"].startswith(epoch0), rows[0]["line"]
    # lr column: the optimizer's own lr/decay, from the reference class's defaults
    from fastnn import reference
    opt = eval(opt_src, {k: getattr(reference, k) for k in dir(reference)})
    for epoch, row in rows.items():
        if row["lr"] is not None:       # the plain SGD() cell prints no lr
            assert row["lr"] == expected_lr_str(opt.learning_rate, opt.decay, epoch), row["line"]
    _assert_all_float32(_report(out), opt_src)


# ---------------------------------------------------------------------------
# Step-by-step parity with the reference, both under init()
# ---------------------------------------------------------------------------

PARITY_SCRIPT = """
import nnfs
nnfs.init()
import json
import numpy as np
from nnfs.datasets import spiral_data
import fastnn
from fastnn import reference
from _loops import ALL_CONFIGS, Run, lockstep, resync_steps

out = {}
for cid, spelling, name, kwargs, hooks in ALL_CONFIGS:
    try:
        np.random.seed(0)
        X, y = spiral_data(samples=100, classes=3)
        fast = Run(fastnn, spelling, name, kwargs, X, y, None, None, np.float32, hooks)
        np.random.seed(0)
        X2, y2 = spiral_data(samples=100, classes=3)
        ref = Run(reference, spelling, name, kwargs, X2, y2, None, None, np.float32, hooks)
        assert X.dtype == np.float32, X.dtype
        for lf, lr_ in zip(fast.layers, ref.layers):
            assert lf.weights.dtype == lr_.weights.dtype == np.float32, (lf.weights.dtype, lr_.weights.dtype)
            assert lf.biases.dtype == lr_.biases.dtype == np.float32, (lf.biases.dtype, lr_.biases.dtype)
            np.testing.assert_array_equal(lf.weights, lr_.weights, err_msg="initial weights")
            np.testing.assert_array_equal(lf.biases, lr_.biases, err_msg="initial biases")
        n = lockstep(fast, ref, EPOCHS, RTOL, ATOL, cid + " under nnfs.init()",
                     acc_slack=1, atol_scale=ATOL_SCALE, stop_at_gate_flip=True)
        assert n >= MIN_EPOCHS, "ReLU gate flip already at epoch %d" % n
        # and every step of 50 epochs from the reference's own state
        np.random.seed(0)
        fast = Run(fastnn, spelling, name, kwargs, X, y, None, None, np.float32, hooks)
        np.random.seed(0)
        ref = Run(reference, spelling, name, kwargs, X2, y2, None, None, np.float32, hooks)
        skipped = resync_steps(fast, ref, 50, RTOL, ATOL, cid + " under nnfs.init()",
                               acc_slack=1, atol_scale=ATOL_SCALE)
        assert skipped <= 3, "ReLU gates differed in %d of 50 steps" % skipped
        out[cid] = "ok"
    except Exception as e:
        out[cid] = type(e).__name__ + ": " + str(e)[:1500]
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def parity_under_init(numba_cache_dir):
    # float32 tolerance and horizon: see test_training_parity.py (float32 part)
    code = "EPOCHS, MIN_EPOCHS, RTOL, ATOL, ATOL_SCALE = 12, 4, 5e-4, 1e-6, 5e-4\n" + PARITY_SCRIPT
    out = run_script(code, numba_cache_dir)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(out[-3000:])


@pytest.mark.parametrize("cfg", ALL_CONFIGS, ids=[c[0] for c in ALL_CONFIGS])
def test_parity_with_reference_under_init(cfg, parity_under_init):
    assert parity_under_init.get(cfg[0]) == "ok", parity_under_init.get(cfg[0])


# ---------------------------------------------------------------------------
# Kernels first used before init() keep working after it; every class after it
# ---------------------------------------------------------------------------

BEFORE_AFTER_SCRIPT = """
import json
import traceback
import numpy as np
import fastnn
from fastnn import reference
from nnfs.datasets import spiral_data
from _loops import Run, lockstep

results = {}

def stage(name, fn):
    try:
        fn()
        results[name] = "ok"
    except Exception as e:
        results[name] = type(e).__name__ + ": " + str(e)[:1500]

# 1. a reader runs cells without init(): float64 kernels compile now
np.random.seed(0)
X64, y64 = spiral_data(samples=100, classes=3)
def before(name, kw):
    run = Run(fastnn, "notebook", name, kw, X64, y64, None, None)
    for _ in range(3):
        run.epoch_step()
for name, kw in OPTS:
    stage("before init: " + name, lambda: before(name, kw))
def before_other():
    sm = fastnn.SoftMax(); sm.forward(X64); sm.backward(np.ones_like(X64))
    cce = fastnn.CategoricalCrossEntropy()
    p = np.full((len(y64), 3), 1 / 3)
    cce.calculate(p, y64); cce.backward(p, y64)
    cce.calculate(p, np.eye(3)[y64]); cce.backward(p, np.eye(3)[y64])
stage("before init: softmax, cross-entropy", before_other)

# 2. ... then calls init(), and runs everything again (float32 now)
import nnfs
nnfs.init()
np.random.seed(0)
X, y = spiral_data(samples=100, classes=3)
assert X.dtype == np.float32
def after(name, kw):
    np.random.seed(0)
    fast = Run(fastnn, "notebook", name, kw, X, y, None, None, np.float32)
    np.random.seed(0)
    ref = Run(reference, "notebook", name, kw, X, y, None, None, np.float32)
    lockstep(fast, ref, 5, 5e-4, 1e-6, name + " after init", acc_slack=1, atol_scale=5e-4,
             stop_at_gate_flip=True)
for name, kw in OPTS:
    stage("after init: " + name, lambda: after(name, kw))

def after_other():
    # the classes the loop does not use: softmax and cross-entropy on their own
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 50)
    onehot = np.eye(3)[labels]            # float32 under init
    dv = rng.standard_normal((50, 3)).astype(np.float32)
    res = {}
    for mod in (fastnn, reference):
        s = mod.Activation_Softmax(); s.forward(logits); s.backward(dv)
        c = mod.Loss_CategoricalCrossentropy()
        l1 = c.calculate(s.output, labels); c.backward(s.output, labels); d1 = c.dinputs
        l2 = c.calculate(s.output, onehot); c.backward(s.output, onehot); d2 = c.dinputs
        comb = mod.Activation_Softmax_Loss_CategoricalCrossentropy()
        l3 = comb.forward(logits, onehot); comb.backward(comb.output, onehot)
        res[mod] = [s.output, s.dinputs, l1, d1, l2, d2, l3, comb.dinputs]
    names = ["softmax.output", "softmax.dinputs", "cce loss (labels)", "cce.dinputs (labels)",
             "cce loss (one-hot)", "cce.dinputs (one-hot)", "combined loss", "combined.dinputs"]
    for n, g, e in zip(names, res[fastnn], res[reference]):
        g, e = np.asarray(g), np.asarray(e)
        assert g.dtype == e.dtype == np.float32, (n, g.dtype, e.dtype)
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=n)
stage("after init: softmax, cross-entropy", after_other)
print("RESULT " + json.dumps(results))
"""

_BA_OPTS = [("SGD", dict(decay=1e-3, momentum=0.9)), ("AdaGrad", dict(decay=1e-4)),
            ("RMSProp", dict(lr=0.02, decay=1e-5, rho=0.999)), ("Adam", dict(lr=0.05, decay=5e-7))]
_BA_STAGES = ([f"before init: {n}" for n, _ in _BA_OPTS] + ["before init: softmax, cross-entropy"]
              + [f"after init: {n}" for n, _ in _BA_OPTS] + ["after init: softmax, cross-entropy"])


@pytest.fixture(scope="module")
def before_after_results(tmp_path_factory):
    # a Numba cache of its own: the float32 specialisations must be compiled in this
    # process, after init(), by dispatchers that already compiled float64 before it
    # (a reader who runs a cell, then adds nnfs.init() and runs again)
    code = f"OPTS = {_BA_OPTS!r}\n" + BEFORE_AFTER_SCRIPT
    out = run_script(code, str(tmp_path_factory.mktemp("numba_cache_before_after")))
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(out[-3000:])


@pytest.mark.parametrize("stage", _BA_STAGES)
def test_kernels_used_before_init_keep_working_after(stage, before_after_results):
    assert before_after_results.get(stage) == "ok", before_after_results.get(stage)
