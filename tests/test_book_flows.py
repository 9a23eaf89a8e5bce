"""The book's chapter 18-22 ``Model`` flows, fastnn against the twin's ``Model``.

Each flow is built twice from the same seed, once from ``fastnn`` and once from
``fastnn.reference`` (the book's ``Ch22_Final.py`` classes), with the same
code: only the module differs, as when a reader changes the import line.  The
printed lines must be identical (every step, training and validation line:
loss, accuracy and learning rate to the book's printed precision), and so must
the parameters to float64 rounding.  Dropout masks come from NumPy's global
generator in the same order on both sides.
"""
import contextlib
import io
import pickle

import numpy as np
import pytest

import fastnn
import fastnn.reference as R

from _book_models import binary, chapter18_classifier, fashion_like, regression

FLOWS = {"ch18-l2-dropout": chapter18_classifier, "binary": binary, "regression": regression,
         "ch19-fashion-shaped": fashion_like}


def _run(mod, flow, **train):
    np.random.seed(0)
    model, X, y = FLOWS[flow](mod)
    model.finalize()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.train(X, y, validation_data=(X, y), **train)
    return model, out.getvalue().splitlines(), X, y


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_flow_prints_the_twins_lines_and_ends_with_its_parameters(flow):
    train = dict(epochs=2, batch_size=128, print_every=2) if flow.startswith("ch19") else \
        dict(epochs=20, batch_size=64, print_every=3)
    fast, fast_lines, X, _ = _run(fastnn, flow, **train)
    twin, twin_lines, _, _ = _run(R, flow, **train)
    assert fast_lines == twin_lines
    assert len(fast_lines) > 10
    for (fw, fb), (tw, tb) in zip(fast.get_parameters(), twin.get_parameters()):
        np.testing.assert_allclose(fw, tw, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(fb, tb, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(fast.predict(X, batch_size=50), twin.predict(X, batch_size=50),
                               rtol=1e-6, atol=1e-9)


# every flow: the compiled loop runs each of their parts (L2, dropout, the heads)
COMPILED = tuple(sorted(FLOWS))


@pytest.mark.parametrize("flow", COMPILED)
def test_flow_runs_on_the_compiled_loop(monkeypatch, flow):
    """These flows are planned and train without the general path's loop."""
    from fastnn import book_loop

    def refuse(*a, **k):
        raise AssertionError("the general path ran")
    monkeypatch.setattr(book_loop, "train", refuse)
    np.random.seed(0)
    model, X, y = FLOWS[flow](fastnn)
    model.finalize()
    assert model._plan is not None
    with contextlib.redirect_stdout(io.StringIO()):
        model.train(X, y, epochs=1, batch_size=128, print_every=1, validation_data=(X, y))
    assert model.optimizer.iterations > 0


@pytest.mark.parametrize("writer, reader", [(fastnn, R), (R, fastnn)], ids=["fastnn-to-twin",
                                                                           "twin-to-fastnn"])
def test_parameters_saved_by_one_load_into_the_other(tmp_path, writer, reader):
    """Chapters 21-22: a parameters file moves between the book's code and fastnn;
    the reading model is set up without an optimizer, for evaluation."""
    trained, _, X, y = _run(writer, "ch19-fashion-shaped", epochs=1, batch_size=128,
                            print_every=100)
    path = tmp_path / "fashion.parms"
    trained.save_parameters(path)
    np.random.seed(1)
    model, _, _ = fashion_like(reader)
    model.set(optimizer=None)
    model.optimizer = None
    model.finalize()
    model.load_parameters(path)
    with contextlib.redirect_stdout(io.StringIO()) as a:
        model.evaluate(X, y, batch_size=128)
    with contextlib.redirect_stdout(io.StringIO()) as b:
        trained.evaluate(X, y, batch_size=128)
    assert a.getvalue() == b.getvalue()
    with open(path, "rb") as f:
        assert [tuple(type(a) for a in pair) for pair in pickle.load(f)] == \
            [(np.ndarray, np.ndarray)] * 3


def test_saved_fastnn_model_loads_and_predicts_in_a_fresh_model(tmp_path):
    trained, _, X, _ = _run(fastnn, "ch18-l2-dropout", epochs=5, batch_size=100,
                            print_every=100)
    path = tmp_path / "spiral.model"
    trained.save(path)
    loaded = fastnn.Model.load(path)
    np.testing.assert_array_equal(loaded.predict(X), trained.predict(X))
