"""Dropout in the compiled ``Model`` (chapter 15's layer in chapter 18-19's model).

The model is the book's chapter-18 spiral classifier without L2: dense 2-64,
ReLU, dropout 0.1, dense 64-3, softmax, cross-entropy, Adam.  Built twice from
the same seed, once from ``fastnn`` and once from the NumPy twin
(``fastnn.reference``: the book's code), it must print the twin's lines, end
with the twin's parameters (to float64 rounding: fastnn's products round in
another order than ``np.dot``, so parameters drift by ~1e-15 a step), and leave
NumPy's global generator exactly where the twin leaves it (the next draw is
the same number).  The compiled loop must be the one that ran: the general
path (``book_loop``) is made to fail.
"""
import contextlib
import io
import os
import sys
import textwrap

import numpy as np
import pytest
from nnfs.datasets import spiral_data

import fastnn
import fastnn.reference as R
from fastnn import book_loop

from _child import interrupt, start


def dropout_model(mod, rate=0.1, samples=100):
    X, y = spiral_data(samples=samples, classes=3)
    model = mod.Model()
    model.add(mod.Layer_Dense(2, 64))
    model.add(mod.Activation_ReLU())
    model.add(mod.Layer_Dropout(rate))
    model.add(mod.Layer_Dense(64, 3))
    model.add(mod.Activation_Softmax())
    model.set(loss=mod.Loss_CategoricalCrossentropy(),
              optimizer=mod.Optimizer_Adam(learning_rate=0.05, decay=5e-5),
              accuracy=mod.Accuracy_Categorical())
    model.finalize()
    return model, X, y


@pytest.fixture
def compiled_only(monkeypatch):
    """Fail if ``Model.train`` takes the general path (the per-op loop)."""
    def refuse(*args, **kwargs):
        raise AssertionError("the general path ran; the compiled loop should have")
    monkeypatch.setattr(book_loop, "train", refuse)


def _train(mod, seed=0, rate=0.1, **train):
    np.random.seed(seed)
    model, X, y = dropout_model(mod, rate)
    if mod is fastnn:
        plan = model._plan
        assert plan is not None and plan.dropout == (model.layers[2],)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.train(X, y, validation_data=(X, y), **train)
    after = np.random.get_state(legacy=False)
    return model, out.getvalue().splitlines(), after, np.random.random()


def _same_parameters(fast, twin, rtol=1e-7, atol=1e-10):
    for (fw, fb), (tw, tb) in zip(fast.get_parameters(), twin.get_parameters()):
        assert fw.dtype == tw.dtype
        np.testing.assert_allclose(fw, tw, rtol=rtol, atol=atol)
        np.testing.assert_allclose(fb, tb, rtol=rtol, atol=atol)


def _same_generator(a, b):
    """Two ``np.random.get_state(legacy=False)`` dicts are equal."""
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict):
            _same_generator(a[k], b[k])
        else:
            assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("train", [
    dict(epochs=6, batch_size=64, print_every=2),      # short last batch (300 = 4*64 + 44)
    dict(epochs=4, batch_size=100, print_every=1),
    dict(epochs=25, batch_size=300, print_every=5),    # full batch, the chapter-19 lines
], ids=["batch64", "batch100", "full-batch-lines"])
def test_compiled_dropout_prints_the_twins_lines(compiled_only, train):
    fast, fast_lines, fast_state, fast_next = _train(fastnn, **train)
    twin, twin_lines, twin_state, twin_next = _train(R, **train)
    assert len(fast_lines) > 5
    assert fast_lines == twin_lines
    _same_parameters(fast, twin)
    _same_generator(fast_state, twin_state)
    assert fast_next == twin_next


@pytest.mark.parametrize("seed, rate", [(0, 0.1), (3, 0.5), (7, 0.02)])
def test_compiled_full_batch_epochs_match_the_twin(compiled_only, seed, rate):
    """Chapter 18's full-batch ``train`` (no batch size): fastnn prints the
    chapter-18 line, the twin its chapter-19 lines, so the parameters, the
    final validation line, the masks left on the layer and the generator
    are compared."""
    fast, fast_lines, fast_state, fast_next = _train(fastnn, seed, rate, epochs=30,
                                                     print_every=10)
    twin, twin_lines, twin_state, twin_next = _train(R, seed, rate, epochs=30)
    assert fast_lines[-1] == twin_lines[-1] and fast_lines[-1].startswith("validation")
    assert [l for l in fast_lines if l.startswith("epoch")][-1].startswith("epoch: 30,")
    _same_parameters(fast, twin)
    _same_generator(fast_state, twin_state)
    assert fast_next == twin_next
    # the layer holds the last step's mask, as the book's layer does
    fd, td = fast.layers[2], twin.layers[2]
    assert fd.binary_mask.dtype == np.float64
    assert np.array_equal(fd.binary_mask, td.binary_mask)
    assert fd.rate == td.rate


def test_training_in_several_calls_continues_the_stream(compiled_only):
    """Two ``train`` calls draw on from where the first left the generator."""
    np.random.seed(5)
    fast, X, y = dropout_model(fastnn)
    np.random.seed(5)
    twin, _, _ = dropout_model(R)
    np.random.seed(6)
    for _ in range(2):
        fast.train(X, y, epochs=3, batch_size=128, verbose=False)
    fast_next = np.random.random()
    np.random.seed(6)
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(2):
            twin.train(X, y, epochs=3, batch_size=128)
    assert fast_next == np.random.random()
    _same_parameters(fast, twin)


def test_evaluate_and_predict_do_not_draw():
    np.random.seed(0)
    model, X, y = dropout_model(fastnn)
    model.train(X, y, epochs=3, batch_size=100, verbose=False)
    before = np.random.get_state(legacy=False)
    with contextlib.redirect_stdout(io.StringIO()):
        loss, acc = model.evaluate(X, y, batch_size=64)
    probs = model.predict(X)
    _same_generator(np.random.get_state(legacy=False), before)
    # and dropout passes its inputs through there, as the twin's (same parameters)
    np.random.seed(0)
    twin, _, _ = dropout_model(R)
    twin.set_parameters(model.get_parameters())
    np.testing.assert_allclose(probs, twin.predict(X), rtol=1e-12, atol=1e-15)


def test_a_generator_the_kernels_cannot_reach_runs_the_general_path():
    """A global bit generator other than MT19937: the per-op loop runs (NumPy
    draws the masks), and still gives the twin's numbers."""
    saved = np.random.get_bit_generator()
    try:
        np.random.set_bit_generator(np.random.PCG64(11))
        fast, fast_lines, _, fast_next = _train(fastnn, epochs=2, batch_size=100)
        np.random.set_bit_generator(np.random.PCG64(11))
        twin, twin_lines, _, twin_next = _train(R, epochs=2, batch_size=100)
    finally:
        np.random.set_bit_generator(saved)
    assert fast_lines == twin_lines and fast_next == twin_next
    _same_parameters(fast, twin)


def test_a_dropout_layer_added_twice_is_left_to_the_general_path():
    """The book's linking (``prev``/``next``) breaks on a layer added twice, in
    the twin as in the per-op loop; the compiled loop does not take it either."""
    def build(mod):
        np.random.seed(0)
        X, y = spiral_data(samples=50, classes=3)
        drop = mod.Layer_Dropout(0.2)
        model = mod.Model()
        for layer in (mod.Layer_Dense(2, 16), drop, mod.Activation_ReLU(), drop,
                      mod.Layer_Dense(16, 3), mod.Activation_Softmax()):
            model.add(layer)
        model.set(loss=mod.Loss_CategoricalCrossentropy(), optimizer=mod.Optimizer_Adam(),
                  accuracy=mod.Accuracy_Categorical())
        model.finalize()
        return model, X, y

    fast, X, y = build(fastnn)
    assert fast._plan is None
    twin, _, _ = build(R)
    for model in (fast, twin):
        with pytest.raises(AttributeError), contextlib.redirect_stdout(io.StringIO()):
            model.train(X, y, epochs=1, batch_size=50)


@pytest.mark.parametrize("kept", [0.75, np.float32(0.6)])
def test_a_rate_changed_after_finalize_is_the_one_drawn_with(compiled_only, kept):
    """The kept fraction is read from the layer when training starts, as the
    per-op layer reads ``self.rate`` at each forward."""
    runs = []
    for mod in (fastnn, R):
        np.random.seed(4)
        model, X, y = dropout_model(mod)
        model.layers[2].rate = kept
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            model.train(X, y, epochs=3, batch_size=100)
        runs.append((model, out.getvalue().splitlines(), np.random.random()))
    (fast, fast_lines, fast_next), (twin, twin_lines, twin_next) = runs
    assert fast_lines == twin_lines and fast_next == twin_next
    _same_parameters(fast, twin)


def test_a_kept_fraction_of_zero_runs_the_general_path(monkeypatch):
    """``rate = 0`` (set by hand: the constructor refuses dropping everything)
    is the book's 0 / 0 mask; the per-op loop draws it through NumPy."""
    ran = []
    general = book_loop.train
    monkeypatch.setattr(book_loop, "train", lambda *a, **k: ran.append(1) or general(*a, **k))
    runs = []
    for mod in (fastnn, R):
        np.random.seed(4)
        model, X, y = dropout_model(mod)
        model.layers[2].rate = 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out), np.errstate(all="ignore"):
            model.train(X, y, epochs=1, batch_size=100)
        runs.append((out.getvalue().splitlines(), np.random.random()))
    assert ran and runs[0] == runs[1] and "nan" in runs[0][0][-1]


@pytest.mark.parametrize("rate", [0.0, 0.9])
def test_extreme_rates_match_the_twin(compiled_only, rate):
    fast, fast_lines, _, fast_next = _train(fastnn, rate=rate, epochs=3, batch_size=100)
    twin, twin_lines, _, twin_next = _train(R, rate=rate, epochs=3, batch_size=100)
    assert fast_lines == twin_lines and fast_next == twin_next
    _same_parameters(fast, twin)


def test_dropout_first_and_two_dropout_layers(compiled_only):
    """Dropout on the data itself (no input gradient stored) and two masks
    drawn per step, in forward order."""
    def build(mod):
        np.random.seed(2)
        X, y = spiral_data(samples=80, classes=3)
        model = mod.Model()
        for layer in (mod.Layer_Dropout(0.3), mod.Layer_Dense(2, 32), mod.Activation_ReLU(),
                      mod.Layer_Dropout(0.2), mod.Layer_Dense(32, 32), mod.Activation_ReLU(),
                      mod.Layer_Dense(32, 3), mod.Activation_Softmax()):
            model.add(layer)
        model.set(loss=mod.Loss_CategoricalCrossentropy(),
                  optimizer=mod.Optimizer_SGD(learning_rate=0.5, decay=1e-3, momentum=0.9),
                  accuracy=mod.Accuracy_Categorical())
        model.finalize()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            model.train(X, y, epochs=4, batch_size=64, print_every=1, validation_data=(X, y))
        return model, out.getvalue().splitlines(), np.random.random()

    fast, fast_lines, fast_next = build(fastnn)
    assert len(fast._plan.dropout) == 2
    twin, twin_lines, twin_next = build(R)
    assert fast_lines == twin_lines and fast_next == twin_next
    _same_parameters(fast, twin)


# ------------------------------------------------------------------------ Ctrl-C

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    import fastnn, fastnn.reference as R
    from test_model_dropout import dropout_model
    np.random.seed(0)
    model, X, y = dropout_model(fastnn)
    model.train(X, y, epochs=3, verbose=False)          # compile (or load) first
    print("ready", flush=True)
    try:
        model.train(X, y, epochs=3_000_000, print_every=None, verbose=False)
        print("finished", flush=True)
    except KeyboardInterrupt:
        steps = model.optimizer.iterations
        print("interrupted", steps, len(model.history), flush=True)
        state = np.random.get_state(legacy=False)["state"]
        # the generator after exactly that many of the book's masks
        np.random.seed(0)
        dropout_model(R)
        for lo in range(0, steps, 500):
            np.random.binomial(1, 0.9, size=(min(500, steps - lo),) + X.shape[:1] + (64,))
        expected = np.random.get_state(legacy=False)["state"]
        same_generator = (state["pos"] == expected["pos"]
                          and bool(np.array_equal(state["key"], expected["key"])))
        # and the same model trained for exactly that many epochs without interruption
        np.random.seed(0)
        again, _, _ = dropout_model(fastnn)
        again.train(X, y, epochs=3, verbose=False)
        again.train(X, y, epochs=steps - 3, print_every=None, verbose=False)
        same = all(np.array_equal(a, b) for pa, pb in
                   zip(model.get_parameters(), again.get_parameters()) for a, b in zip(pa, pb))
        print("consistent", same_generator, same,
              np.array_equal(model.history.loss, again.history.loss), flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_leaves_the_generator_where_the_steps_done_leave_it():
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = start(CHILD.format(tests=tests))
    try:
        line, _ = interrupt(proc, after=0.5)
        steps, history = int(line[1]), int(line[2])
        assert 3 < steps < 3_000_000
        assert history == steps  # one history row per update
        out, err = proc.communicate(timeout=600)
        assert out.split() == ["consistent", "True", "True", "True"], (out, err)
    finally:
        proc.kill()
