"""The readers' own loops, unchanged except for the import line.

* the seed notebook's seven chapter-10 training cells (notebook spelling), and
* the book's chapter-10 training code (book spelling, ``optimizer.pre_update_params()``
  etc.) with each of the book's optimizers,

are kept as text (``_loops.NOTEBOOK_CELL_*``, ``_loops.BOOK_SCRIPT``) and executed
twice, once after ``from fastnn import ...`` and once after
``from fastnn.reference import ...``, from the same NumPy seed.  Besides the
import line only the epoch count is changed (the notebook runs 10000 epochs,
the book 10001; here a few hundred, to keep the suite fast).

``nnfs.init()`` is deliberately not called in this process (it monkey-patches
NumPy for everything after it); see test_nnfs_init.py for the loops under it.
"""
from __future__ import annotations

import contextlib
import io
import math
import pathlib
import re

import numpy as np
import pytest

from _loops import (BOOK_OPTIMIZERS, NOTEBOOK_OPTIMIZERS, STATE_NAMES, book_script,
                    expected_lr_str, notebook_cell, parse_printed, program)

RTOL, ATOL = 1e-9, 1e-12          # float64, short horizon: see test_training_parity.py
SHORT_HORIZONS = (1, 2, 5, 20)    # epochs after which the two namespaces are compared
LONG_EPOCHS = 301                 # prints at 0, 100, 200, 300


def run_loop(spelling, module, loop_text, seed=0):
    """exec the preamble (with the import line for ``module``) and the loop."""
    src = program(spelling, module, loop_text)
    ns = {"__name__": "__reader_loop__"}
    np.random.seed(seed)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(src, f"<{spelling} loop, {module}>", "exec"), ns)
    return ns, buf.getvalue()


def _loop(spelling, opt_src, epochs):
    if spelling == "notebook":
        return notebook_cell(opt_src, epochs)
    return book_script(opt_src, epochs)


def _names(spelling):
    if spelling == "notebook":
        return "activationLoss", "lr_curr", "iteration"
    return "loss_activation", "current_learning_rate", "iterations"


def _compare_namespaces(g, e, spelling, where):
    la, lr_name, it_name = _names(spelling)
    assert math.isclose(float(g["loss"]), float(e["loss"]), rel_tol=RTOL, abs_tol=ATOL), \
        f"{where}: loss {g['loss']!r} vs reference {e['loss']!r}"
    assert float(g["accuracy"]) == float(e["accuracy"]), \
        f"{where}: accuracy {g['accuracy']!r} vs reference {e['accuracy']!r}"
    go, eo = g["optimizer"], e["optimizer"]
    assert getattr(go, lr_name) == getattr(eo, lr_name), f"{where}: {lr_name}"
    assert getattr(go, it_name) == getattr(eo, it_name), f"{where}: {it_name}"
    np.testing.assert_array_equal(g["predictions"], e["predictions"], err_msg=where)
    pairs = [("dense1", ("weights", "biases", "output", "dweights", "dbiases", "dinputs")),
             ("dense2", ("weights", "biases", "output", "dweights", "dbiases", "dinputs")),
             ("activation1", ("output", "dinputs")),
             (la, ("output", "dinputs"))]
    for obj, attrs in pairs:
        for a in attrs:
            ga, ea = getattr(g[obj], a), getattr(e[obj], a)
            assert np.shape(ga) == np.shape(ea), f"{where}: {obj}.{a} shape"
            assert np.asarray(ga).dtype == np.asarray(ea).dtype, f"{where}: {obj}.{a} dtype"
            np.testing.assert_allclose(ga, ea, rtol=RTOL, atol=ATOL, err_msg=f"{where}: {obj}.{a}")
    for obj in ("dense1", "dense2"):
        for s in STATE_NAMES:
            assert hasattr(g[obj], s) == hasattr(e[obj], s), f"{where}: {obj}.{s} presence"
            if hasattr(e[obj], s):
                np.testing.assert_allclose(getattr(g[obj], s), getattr(e[obj], s),
                                           rtol=RTOL, atol=ATOL, err_msg=f"{where}: {obj}.{s}")


_cases = ([("notebook", o) for o in NOTEBOOK_OPTIMIZERS]
          + [("book", o) for o in BOOK_OPTIMIZERS])
_ids = [o for _, o in _cases]


@pytest.mark.parametrize("spelling,opt_src", _cases, ids=_ids)
def test_loop_agrees_with_reference_over_first_epochs(spelling, opt_src):
    for epochs in SHORT_HORIZONS:
        g, gout = run_loop(spelling, "fastnn", _loop(spelling, opt_src, epochs))
        e, eout = run_loop(spelling, "fastnn.reference", _loop(spelling, opt_src, epochs))
        # the printed epoch-0 line is identical, character for character
        assert gout == eout, f"{opt_src}: printed\n{gout}\nreference printed\n{eout}"
        _compare_namespaces(g, e, spelling, f"{opt_src} after {epochs} epoch(s)")


@pytest.mark.parametrize("spelling,opt_src", _cases, ids=_ids)
def test_loop_few_hundred_epochs(spelling, opt_src):
    g, gout = run_loop(spelling, "fastnn", _loop(spelling, opt_src, LONG_EPOCHS))
    e, eout = run_loop(spelling, "fastnn.reference", _loop(spelling, opt_src, LONG_EPOCHS))
    grows, erows = parse_printed(gout), parse_printed(eout)
    assert sorted(grows) == sorted(erows) == [0, 100, 200, 300], gout
    # what is stable: the epoch-0 line and the lr column, exactly as printed
    assert grows[0]["line"] == erows[0]["line"]
    for epoch in grows:
        assert grows[epoch]["lr"] == erows[epoch]["lr"], \
            f"{opt_src} epoch {epoch}: lr printed {grows[epoch]['lr']} vs reference {erows[epoch]['lr']}"
    opt = e["optimizer"]
    lr0 = getattr(opt, "learning_rate")
    for epoch in grows:
        if grows[epoch]["lr"] is not None:     # the plain SGD() cell prints no lr
            assert grows[epoch]["lr"] == expected_lr_str(lr0, opt.decay, epoch), opt_src
    # a sane end: it learned (3 balanced classes: chance is 1/3, initial loss ln 3)
    loss_f, acc_f = float(g["loss"]), float(g["accuracy"])
    loss_r, acc_r = float(e["loss"]), float(e["accuracy"])
    assert np.isfinite(loss_f)
    assert loss_f < float(grows[0]["loss"]) and loss_f < 1.09, f"{opt_src}: final loss {loss_f}"
    assert acc_f >= 0.38, f"{opt_src}: final accuracy {acc_f}"
    # and near the reference's (band: see test_training_parity.py)
    assert abs(loss_f - loss_r) <= 0.15, f"{opt_src}: loss {loss_f} vs reference {loss_r}"
    assert abs(acc_f - acc_r) <= 0.10, f"{opt_src}: accuracy {acc_f} vs reference {acc_r}"
    _la, _lr_name, it_name = _names(spelling)
    assert getattr(g["optimizer"], it_name) == getattr(e["optimizer"], it_name)


def test_loop_accepts_one_hot_targets():
    """The loops' ``if len(y.shape) == 2`` branch: one-hot y for the first forward."""
    text = notebook_cell("Adam(lr=0.05, decay=5e-7)", 5).replace(
        "X, y = spiral_data(samples=100, classes=3)\n",
        "X, y = spiral_data(samples=100, classes=3)\ny = np.eye(3)[y]\n")
    g, gout = run_loop("notebook", "fastnn", text)
    e, eout = run_loop("notebook", "fastnn.reference", text)
    assert gout == eout
    _compare_namespaces(g, e, "notebook", "one-hot targets")


# ---------------------------------------------------------------------------
# The loop texts kept here are the seed's, verbatim
# ---------------------------------------------------------------------------

def _seed_file():
    here = pathlib.Path(__file__).resolve()
    for base in (here.parents[1], here.parents[2], pathlib.Path("/work")):
        p = base / "shared" / "seed" / "chapter10-optimizers.md"
        if p.is_file():
            return p
    return None


def test_kept_cells_are_the_seeds_cells():
    path = _seed_file()
    if path is None:
        pytest.skip("shared/seed/chapter10-optimizers.md not found beside the repository")
    text = path.read_text()
    cells = []
    for block in re.split(r"\nIn \[[^\]]*\]:\n", text):
        if "for epoch in range(10000)" in block:
            lines = block.split("\n")
            last = max(i for i, l in enumerate(lines) if l.startswith("    optimizer."))
            cells.append("\n".join(lines[:last + 1]))
    assert len(cells) == len(NOTEBOOK_OPTIMIZERS)

    def strip_comments(cell):
        return "\n".join(l for l in cell.split("\n") if not l.startswith("# Initialize optimizer"))

    for cell, opt_src in zip(cells, NOTEBOOK_OPTIMIZERS):
        assert strip_comments(cell) == strip_comments(notebook_cell(opt_src, 10000)), opt_src
