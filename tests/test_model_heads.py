"""The compiled ``Model`` on chapters 14, 16 and 17: L1/L2 regularization,
sigmoid + binary cross-entropy, linear + squared/absolute error, and their
accuracies.

Each model is built from one seed twice: with fastnn's classes and with the
NumPy twin's (``fastnn.reference``, the book's Ch22 ``Model``).  The twin is
the reference: printed lines equal (float64; float32 within the printed
precision), parameters to float64 rounding (float32: to float32 rounding).
Besides, the compiled run must give the book's loop over fastnn's per-op
classes (the general path, ``book_loop.py``) bit for bit -- parameters,
printed lines and history -- since it calls the same kernels.  Every compiled
run is checked to be one: ``book_loop.train`` is made to raise during it.
"""
import contextlib
import io

import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from fastnn import book_loop
from fastnn.kernels import network as N

from _book_models import assert_lines_close, binary, cast, regression, spiral_classifier

# strengths large enough for the penalty to show in the printed lines
REGULARIZERS = {
    "l1-weights": dict(weight_regularizer_l1=0.02),
    "l2-weights": dict(weight_regularizer_l2=0.5),
    "l1-biases": dict(bias_regularizer_l1=0.05),
    "l2-biases": dict(bias_regularizer_l2=1.0),
    "all-four": dict(weight_regularizer_l1=0.01, weight_regularizer_l2=0.3,
                     bias_regularizer_l1=0.02, bias_regularizer_l2=0.5),
}


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The compiled loop runs products of these sizes with one BLAS thread
    (``_blas_threads.py``), the general path with the user's setting: BLAS
    may sum in another order with two, so both get one here."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def mae(mod, reg=None):
    return regression(mod, reg, loss="Loss_MeanAbsoluteError")


MODELS = {"ch14": spiral_classifier, "binary": binary, "mse": regression, "mae": mae}


def build(mod, name, dtype=np.float64, reg=None, seed=0):
    np.random.seed(seed)
    kwargs = {} if reg is None else dict(reg=reg)
    model, X, y = MODELS[name](mod, **kwargs)
    X, y = cast(model, X, y, dtype)
    model.finalize()
    return model, X, y


@contextlib.contextmanager
def compiled_only(monkeypatch):
    """Fail if the general path's training loop runs."""
    def refuse(*a, **k):
        raise AssertionError("the general path ran: the model was not compiled")
    with monkeypatch.context() as m:
        m.setattr(book_loop, "train", refuse)
        yield


def run(model, X, y, **train):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = model.train(X, y, validation_data=(X, y), **train)
    return out.getvalue().splitlines(), history


def params(model):
    return [a for pair in model.get_parameters() for a in pair]


def assert_lines_track(fast, twin, dtype):
    """Equal lines (float64), or the same numbers within the printed precision."""
    if dtype == np.float64:
        assert fast == twin
        return
    assert len(fast) == len(twin)
    assert_lines_close(fast, twin, rtol=1e-5, atol=1.001e-3)


def assert_params_track(fast, twin, dtype):
    # float32: sums differ in their last bits between fastnn and NumPy, and Adam
    # turns a near-zero gradient's rounding into a step of up to the learning
    # rate (0.005-0.02 here), so a few weights differ by a small part of one step
    rtol, atol = (1e-7, 1e-10) if dtype == np.float64 else (2e-3, 2e-4)
    for a, b in zip(params(fast), params(twin)):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def assert_history_equal(name, dtype, history, general):
    """Bit for bit, but for the cross-entropy heads' loss: their compiled mean
    (and epoch accumulation) sums in another order than np.mean."""
    for column in ("loss", "accuracy", "lr"):
        if column == "loss" and name == "ch14":
            np.testing.assert_allclose(history[column], general[column],
                                       rtol=1e-14 if dtype == np.float64 else 1e-6)
        else:
            np.testing.assert_array_equal(history[column], general[column])


def general_run(name, dtype, reg, **train):
    """The same model on the general path (the book's loop over fastnn's classes)."""
    model, X, y = build(fastnn, name, dtype, reg)
    model._plan = None
    lines, history = run(model, X, y, **train)
    return model, lines, history


# ------------------------------------------------------------------ parity


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_batches_with_validation_track_the_twin_and_equal_the_general_path(
        monkeypatch, name, dtype):
    train = dict(epochs=4, batch_size=64, print_every=2)
    fast, X, y = build(fastnn, name, dtype)
    assert fast._plan is not None
    with compiled_only(monkeypatch):
        fast_lines, history = run(fast, X, y, **train)
    twin, Xt, yt = build(R, name, dtype)
    twin_lines, _ = run(twin, Xt, yt, **train)
    assert len(fast_lines) > 10
    assert_lines_track(fast_lines, twin_lines, dtype)
    assert_params_track(fast, twin, dtype)

    general, general_lines, general_history = general_run(name, dtype, None, **train)
    assert fast_lines == general_lines
    for a, b in zip(params(fast), params(general)):
        np.testing.assert_array_equal(a, b)
    assert_history_equal(name, dtype, history, general_history)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_full_batch_tracks_the_twin_and_equals_the_general_path(monkeypatch, name, dtype):
    """Chapter 18's full-batch loop: fastnn prints the chapter-18 line per epoch;
    the twin's Ch22 ``Model`` prints ``step: 0`` with the same numbers."""
    fast, X, y = build(fastnn, name, dtype)
    with compiled_only(monkeypatch):
        fast_lines, history = run(fast, X, y, epochs=12, print_every=1)
    twin, Xt, yt = build(R, name, dtype)
    twin_lines, _ = run(twin, Xt, yt, epochs=12, print_every=1)
    fast_steps = [l.split(", ", 1)[1] for l in fast_lines if l.startswith("epoch: ")]
    twin_steps = [l.split(", ", 1)[1] for l in twin_lines if l.startswith("step: ")]
    assert len(fast_steps) == 12
    assert_lines_track(fast_steps, twin_steps, dtype)
    assert_lines_track(fast_lines[-1:], twin_lines[-1:], dtype)  # the validation line
    assert_params_track(fast, twin, dtype)

    general, general_lines, general_history = general_run(name, dtype, None, epochs=12,
                                                          print_every=1)
    assert fast_lines == general_lines
    for a, b in zip(params(fast), params(general)):
        np.testing.assert_array_equal(a, b)
    assert_history_equal(name, dtype, history, general_history)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reg", sorted(REGULARIZERS))
@pytest.mark.parametrize("name", ["ch14", "binary", "mse"])
def test_each_regularizer_tracks_the_twin_and_equals_the_general_path(
        monkeypatch, name, reg, dtype):
    train = dict(epochs=3, batch_size=100, print_every=1)
    fast, X, y = build(fastnn, name, dtype, REGULARIZERS[reg])
    with compiled_only(monkeypatch):
        fast_lines, _ = run(fast, X, y, **train)
    twin, Xt, yt = build(R, name, dtype, REGULARIZERS[reg])
    twin_lines, _ = run(twin, Xt, yt, **train)
    assert_lines_track(fast_lines, twin_lines, dtype)
    assert_params_track(fast, twin, dtype)
    if "weights" in reg or reg == "all-four":  # (the biases' penalty stays < 0.0005)
        assert any("reg_loss: 0.000" not in l for l in fast_lines if "reg_loss" in l)
    general, general_lines, _ = general_run(name, dtype, REGULARIZERS[reg], **train)
    assert fast_lines == general_lines
    for a, b in zip(params(fast), params(general)):
        np.testing.assert_array_equal(a, b)


def test_regularizers_changed_after_finalize_are_used(monkeypatch):
    """Strengths set (or switched off) on the layers after ``finalize()`` take
    effect in the compiled loop, as the per-op backward reads them each step."""
    train = dict(epochs=3, batch_size=100, print_every=1)
    runs = {}
    for mod in (fastnn, R):
        model, X, y = build(mod, "ch14", reg={})
        model.layers[2].weight_regularizer_l1 = 1e-3
        model.layers[0].bias_regularizer_l2 = 2e-3
        with compiled_only(monkeypatch) if mod is fastnn else contextlib.nullcontext():
            first, _ = run(model, X, y, **train)
        model.layers[2].weight_regularizer_l1 = 0
        with compiled_only(monkeypatch) if mod is fastnn else contextlib.nullcontext():
            second, _ = run(model, X, y, **train)
        runs[mod] = model, first, second
    (fast, f1, f2), (twin, t1, t2) = runs[fastnn], runs[R]
    assert f1 == t1 and f2 == t2
    assert_params_track(fast, twin, np.float64)
    assert any("reg_loss: 0.000" not in l for l in f1 if "reg_loss" in l)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_evaluate_and_predict_with_batch_size(name, dtype):
    fast, X, y = build(fastnn, name, dtype)
    twin, Xt, yt = build(R, name, dtype)
    for model, a, b in ((fast, X, y), (twin, Xt, yt)):
        run(model, a, b, epochs=3, batch_size=64, print_every=5)
    for batch_size in (None, 50, 64, 1000):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            loss, acc = fast.evaluate(X, y, batch_size=batch_size)
            twin.evaluate(Xt, yt, batch_size=batch_size)
        fast_line, twin_line = out.getvalue().splitlines()
        assert_lines_track([fast_line], [twin_line], dtype)
        assert fast_line == f"validation, acc: {acc:.3f}, loss: {loss:.3f}"
        # the general path (the book's evaluate over the per-op classes), bit for bit
        plan, fast._plan = fast._plan, None
        try:
            general = fast.evaluate(X, y, batch_size=batch_size, verbose=False)
            general_out = fast.predict(X, batch_size=batch_size)
        finally:
            fast._plan = plan
        assert acc == general[1]
        np.testing.assert_allclose(loss, general[0], rtol=1e-12 if dtype == np.float64
                                   else 1e-6)
        predicted = fast.predict(X, batch_size=batch_size)
        assert predicted.dtype == dtype and predicted.shape == (len(X), y.max() + 1 if
                                                                name == "ch14" else 1)
        np.testing.assert_array_equal(predicted, general_out)
        tol = dict(rtol=1e-7, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(predicted, twin.predict(Xt, batch_size=batch_size), **tol)


def test_binary_accuracy_and_accumulation_over_several_outputs():
    """Two sigmoid outputs: the accuracy is the mean over all outputs, the
    book's accumulated one divides the matches by the rows (``len``)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 3))
    y = (rng.random((90, 2)) > 0.5).astype(np.uint8)
    runs = {}
    for mod in (fastnn, R):
        np.random.seed(1)
        model = mod.Model()
        model.add(mod.Layer_Dense(3, 8))
        model.add(mod.Activation_ReLU())
        model.add(mod.Layer_Dense(8, 2))
        model.add(mod.Activation_Sigmoid())
        model.set(loss=mod.Loss_BinaryCrossentropy(), optimizer=mod.Optimizer_SGD(),
                  accuracy=mod.Accuracy_Categorical(binary=True))
        model.finalize()
        runs[mod] = model, run(model, X, y, epochs=2, batch_size=32, print_every=1)[0]
    assert runs[fastnn][0]._plan is not None
    assert runs[fastnn][1] == runs[R][1]


# ------------------------------------------------------------------ accuracy state


def test_regression_precision_is_set_on_the_first_train_only():
    fast, X, y = build(fastnn, "mse")
    assert fast.accuracy.precision is None
    with pytest.raises(TypeError, match="precision"):
        fast.evaluate(X, y, verbose=False)
    run(fast, X, y, epochs=1, print_every=1)
    precision = fast.accuracy.precision
    assert precision == np.std(y) / 250
    run(fast, X, 2 * y, epochs=1, print_every=1)
    assert fast.accuracy.precision == precision          # init(y) without reinit
    fast.accuracy.init(2 * y, reinit=True)
    _, acc_wide = fast.evaluate(X, y, verbose=False)
    twin, Xt, yt = build(R, "mse")
    twin.accuracy.precision = fast.accuracy.precision
    twin.set_parameters(fast.get_parameters())
    twin.finalize()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        twin.evaluate(Xt, yt)
    assert out.getvalue().strip() == f"validation, acc: {acc_wide:.3f}, loss: " \
        f"{fast.evaluate(X, y, verbose=False)[0]:.3f}"


# ------------------------------------------------------------------ which path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_book_models_are_planned(name):
    model, _, _ = build(fastnn, name)
    plan = model._plan
    assert plan is not None
    kinds = {"ch14": N.LOSS_SOFTMAX_CCE, "binary": N.LOSS_BCE, "mse": N.LOSS_MSE,
             "mae": N.LOSS_MAE}
    assert int(plan.head[N.H_KIND]) == kinds[name]
    assert all(row[N.C_REG] >= 0 for row in plan.plain if row[N.C_CODE] == N.OP_DENSE)


def test_targets_that_would_promote_run_on_the_general_path(monkeypatch):
    """float64 targets for float32 layers: NumPy computes the loss in float64,
    so the general path runs it (and gives the twin's numbers)."""
    calls = []
    original = book_loop.train
    monkeypatch.setattr(book_loop, "train", lambda *a, **k: (calls.append(1), original(*a, **k)))
    fast, X, y = build(fastnn, "mse", np.float32)
    lines, _ = run(fast, X, y.astype(np.float64), epochs=2, batch_size=500, print_every=1)
    assert calls
    twin, Xt, yt = build(R, "mse", np.float32)
    twin_lines, _ = run(twin, Xt, yt.astype(np.float64), epochs=2, batch_size=500,
                        print_every=1)
    assert_lines_track(lines, twin_lines, np.float32)


def test_mismatched_accuracy_runs_on_the_general_path():
    model, X, y = build(fastnn, "mse")
    model.set(accuracy=fastnn.Accuracy_Categorical(binary=True))
    model.finalize()
    assert model._plan is None


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name, bad, error, words", [
    ("binary", lambda y: y.reshape(-1), ValueError, "reshape(-1, 1)"),
    ("binary", lambda y: y.astype(bool), TypeError, "bool"),
    ("binary", lambda y: np.where(np.arange(len(y))[:, None] == 7, 2, y), ValueError,
     "must be 0 or 1"),
    ("mse", lambda y: np.hstack([y, y]), ValueError, "(1000, 2)"),
    ("mse", lambda y: y[:-1], ValueError, "999"),
    ("mae", lambda y: y.astype(str), TypeError, "dtype"),
])
def test_bad_targets_are_refused_before_anything_changes(name, bad, error, words):
    model, X, y = build(fastnn, name)
    before = [a.copy() for a in params(model)]
    with pytest.raises(error) as info:
        model.train(X, bad(y), epochs=2, batch_size=64, verbose=False)
    assert words in str(info.value)
    for a, b in zip(params(model), before):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0 and len(model.history) == 0
    assert not hasattr(model.layers[0], "weight_momentums")
    if name != "binary":
        assert model.accuracy.precision is None


def test_bad_validation_targets_are_refused_before_anything_changes():
    model, X, y = build(fastnn, "binary")
    before = [a.copy() for a in params(model)]
    with pytest.raises(ValueError, match="y_val"):
        model.train(X, y, epochs=2, validation_data=(X, y.reshape(-1)), verbose=False)
    for a, b in zip(params(model), before):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


# ------------------------------------------------------------------ compile once


def test_heads_and_regularization_share_the_one_compiled_loop_per_dtype():
    from fastnn.kernels import train as K
    for name in sorted(MODELS):
        for dtype in (np.float64, np.float32):
            model, X, y = build(fastnn, name, dtype)
            run(model, X, y, epochs=2, batch_size=128, print_every=5)
            run(model, X, y, epochs=2, print_every=5)
    signatures = {str(sig) for sig in K.train_steps.signatures}
    assert len(signatures) == 2, signatures
