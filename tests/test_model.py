"""fastnn.Model: the book's chapter-18 interface, trained by one compiled loop per print.

What is checked:
  * against the per-op loop on fastnn's own classes (the same kernels in the same
    order): bit for bit, in float64 and float32, epoch by epoch over 50 epochs, for
    the seed notebook's seven optimizer configurations and the book's -- loss,
    accuracy and learning-rate history, weights, biases, optimizer state arrays,
    iteration count and current learning rate;
  * against the NumPy twin (``fastnn.reference``): float64 tightly (rtol 1e-9) over
    50 epochs, both as one ``train(epochs=50)`` and as fifty ``train(epochs=1)`` calls
    compared after each; float32 loosely over 10 epochs (see test_training_parity.py
    for why these tolerances and horizons);
  * state: the layers' own arrays are updated in place, state is created as the
    per-op optimizer creates it, and training continues seamlessly in either API;
  * the book's print line, the chunking of epochs between prints, the history;
  * misuse: clear errors raised before any parameter, state or counter changes.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import fastnn
from fastnn import reference

from _loops import (BOOK_CONFIGS, NOTEBOOK_CONFIGS, STATE_NAMES, Run, initial_weights,
                    spiral)

X64, Y = spiral(samples=100, classes=3, seed=0)
W1, W2 = initial_weights(seed=1)

EPOCHS = 50
F64_RTOL, F64_ATOL = 1e-9, 1e-12
F32_EPOCHS = 10
F32_RTOL, F32_ATOL, F32_ATOL_SCALE = 5e-4, 1e-6, 5e-4

LINE = re.compile(r"^epoch: (\d+), acc: (\d\.\d{3}), loss: (\d+\.\d{3}) "
                  r"\(data_loss: (\d+\.\d{3}), reg_loss: 0\.000\), lr: (\S+)$")

_nb_ids = [c[0] for c in NOTEBOOK_CONFIGS]


# --------------------------------------------------------------------------- helpers

def make_model(cfg, dtype=np.float64, w1=W1, w2=W2, loss="layer", mod=fastnn):
    """(model, dense1, dense2, optimizer) for one configuration, in its spelling.

    ``loss="layer"``: a softmax layer and the cross-entropy loss (the book's
    chapter 18); ``loss="combined"``: no softmax layer, the combined class as loss."""
    _, spelling, opt_name, kwargs, _ = cfg
    book = spelling == "book"
    dense = mod.Layer_Dense if book else mod.DenseLayer
    d1, d2 = dense(*w1.shape), dense(*w2.shape)
    d1.weights, d2.weights = np.array(w1, dtype), np.array(w2, dtype)
    d1.biases = np.zeros((1, w1.shape[1]), dtype)
    d2.biases = np.zeros((1, w2.shape[1]), dtype)
    model = fastnn.Model()
    model.add(d1)
    model.add(fastnn.Activation_ReLU() if book else fastnn.ReLU())
    model.add(d2)
    if loss == "layer":
        model.add(fastnn.Activation_Softmax() if book else fastnn.SoftMax())
        loss_obj = (fastnn.Loss_CategoricalCrossentropy() if book
                    else fastnn.CategoricalCrossEntropy())
    else:
        loss_obj = fastnn.Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = getattr(fastnn, opt_name)(**kwargs)
    model.set(loss=loss_obj, optimizer=opt, accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    return model, d1, d2, opt


def per_op(mod, cfg, dtype, epochs, X=None):
    """The chapter-10 loop on ``mod``'s classes (hooks always called, as Model does):
    (run, one record per epoch)."""
    _, spelling, opt_name, kwargs, _ = cfg
    X = X64.astype(dtype) if X is None else X
    run = Run(mod, spelling, opt_name, kwargs, X, Y, W1, W2, dtype, hooks=True)
    return run, [run.epoch_step() for _ in range(epochs)]


def history_of(records):
    return (np.array([float(r["loss"]) for r in records]),
            np.array([float(r["accuracy"]) for r in records]),
            np.array([r["lr_used"] for r in records], dtype=np.float64))


def params(d1, d2):
    """Every parameter and state array of the two layers, by name."""
    out = {}
    for i, layer in enumerate((d1, d2), 1):
        out[f"dense{i}.weights"] = layer.weights
        out[f"dense{i}.biases"] = layer.biases
        for s in STATE_NAMES:
            if hasattr(layer, s):
                out[f"dense{i}.{s}"] = getattr(layer, s)
    return out


def snapshot(d1, d2, opt):
    state = {k: np.array(v, copy=True) for k, v in params(d1, d2).items()}
    state["iterations"] = opt.iterations
    state["current_learning_rate"] = opt.current_learning_rate
    return state


def assert_unchanged(before, d1, d2, opt):
    after = snapshot(d1, d2, opt)
    assert sorted(after) == sorted(before), "optimizer state was created"
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(after[k], v, err_msg=k)
        else:
            assert after[k] == v, k


def close(got, exp, rtol, atol, atol_scale=0.0, what=""):
    got, exp = np.asarray(got, np.float64), np.asarray(exp, np.float64)
    assert got.shape == exp.shape, f"{what}: shape {got.shape} != {exp.shape}"
    a = atol + atol_scale * float(np.max(np.abs(exp), initial=0.0))
    if not np.allclose(got, exp, rtol=rtol, atol=a):
        i = np.unravel_index(np.argmax(np.abs(got - exp)), got.shape)
        raise AssertionError(f"{what}: max |diff| {np.abs(got - exp).max():.3e} at {i}: "
                             f"{got[i]!r} vs reference {exp[i]!r} (rtol {rtol}, atol {a:.3g})")


# ------------------------------------------------ against per-op fastnn: bit for bit

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cfg", NOTEBOOK_CONFIGS, ids=_nb_ids)
def test_train_equals_per_op_loop_bit_for_bit(cfg, dtype):
    run, records = per_op(fastnn, cfg, dtype, EPOCHS)
    model, d1, d2, opt = make_model(cfg, dtype)
    history = model.train(X64.astype(dtype), Y, epochs=EPOCHS, verbose=False)

    loss, acc, lr = history_of(records)
    np.testing.assert_array_equal(history.loss, loss)
    np.testing.assert_array_equal(history.accuracy, acc)
    np.testing.assert_array_equal(history.lr, lr)
    np.testing.assert_array_equal(history.epoch, np.arange(1, EPOCHS + 1))
    got, exp = params(d1, d2), params(*run.layers)
    assert sorted(got) == sorted(exp), "state arrays differ from the per-op optimizer's"
    for k in exp:
        assert got[k].dtype == exp[k].dtype, k
        np.testing.assert_array_equal(got[k], exp[k], err_msg=k)
    assert opt.iterations == run.optimizer.iteration == EPOCHS
    assert opt.current_learning_rate == run.optimizer.lr_curr
    assert type(opt.current_learning_rate) is type(run.optimizer.lr_curr)
    # what the last epoch leaves on the layers, as the per-op loop leaves it
    last = records[-1]
    np.testing.assert_array_equal(d1.output, last["dense1.output"])
    np.testing.assert_array_equal(d2.output, last["dense2.output"])
    np.testing.assert_array_equal(model.layers[-1].output, last["probabilities"])
    np.testing.assert_array_equal(d2.dweights, last["dense2.dweights"])
    np.testing.assert_array_equal(d1.dbiases, last["dense1.dbiases"])
    np.testing.assert_array_equal(d2.dinputs, last["dense2.dinputs"])


@pytest.mark.parametrize("cfg", BOOK_CONFIGS, ids=[c[0] for c in BOOK_CONFIGS])
def test_book_spelling_equals_per_op_loop(cfg):
    run, records = per_op(fastnn, cfg, np.float64, 20)
    model, d1, d2, opt = make_model(cfg)
    history = model.train(X64, Y, epochs=20, verbose=False)
    for got, exp in zip((history.loss, history.accuracy, history.lr), history_of(records)):
        np.testing.assert_array_equal(got, exp)
    for k, v in params(*run.layers).items():
        np.testing.assert_array_equal(params(d1, d2)[k], v, err_msg=k)
    assert opt.iterations == 20


# ------------------------------------------------------ against the NumPy reference

@pytest.mark.parametrize("cfg", NOTEBOOK_CONFIGS, ids=_nb_ids)
def test_train_matches_reference_float64(cfg):
    """One train(epochs=50) call: history and final state against the reference."""
    run, records = per_op(reference, cfg, np.float64, EPOCHS)
    model, d1, d2, opt = make_model(cfg)
    history = model.train(X64, Y, epochs=EPOCHS, verbose=False)
    loss, acc, lr = history_of(records)
    close(history.loss, loss, F64_RTOL, F64_ATOL, what=f"{cfg[0]} loss")
    np.testing.assert_array_equal(history.accuracy, acc)
    np.testing.assert_array_equal(history.lr, lr)  # the lr column exactly
    got = params(d1, d2)
    exp = params(*run.layers)
    assert sorted(got) == sorted(exp)
    for k in exp:
        close(got[k], exp[k], F64_RTOL, F64_ATOL, what=f"{cfg[0]} {k}")
    assert opt.iterations == run.optimizer.iterations
    assert opt.current_learning_rate == run.optimizer.current_learning_rate


@pytest.mark.parametrize("cfg", NOTEBOOK_CONFIGS, ids=_nb_ids)
def test_epoch_by_epoch_matches_reference_float64(cfg):
    """Fifty train(epochs=1) calls, each compared with the reference's epoch."""
    run = Run(reference, cfg[1], cfg[2], cfg[3], X64, Y, W1, W2, np.float64, hooks=True)
    model, d1, d2, opt = make_model(cfg)
    for epoch in range(EPOCHS):
        exp = run.epoch_step()
        history = model.train(X64, Y, epochs=1, verbose=False)
        where = f"{cfg[0]} epoch {epoch}"
        close(history.loss, [exp["loss"]], F64_RTOL, F64_ATOL, what=f"{where} loss")
        assert history.accuracy[0] == exp["accuracy"], where
        assert history.lr[0] == exp["lr_used"], where
        for k, v in params(d1, d2).items():
            close(v, exp[k], F64_RTOL, F64_ATOL, what=f"{where} {k}")
        assert opt.iterations == exp["iteration"] == epoch + 1
    assert len(model.history) == EPOCHS
    np.testing.assert_array_equal(model.history.epoch, np.arange(1, EPOCHS + 1))


@pytest.mark.parametrize("cfg", NOTEBOOK_CONFIGS, ids=_nb_ids)
def test_train_matches_reference_float32(cfg):
    run, records = per_op(reference, cfg, np.float32, F32_EPOCHS)
    model, d1, d2, opt = make_model(cfg, np.float32)
    history = model.train(X64.astype(np.float32), Y, epochs=F32_EPOCHS, verbose=False)
    loss, acc, lr = history_of(records)
    close(history.loss, loss, F32_RTOL, F32_ATOL, F32_ATOL_SCALE, f"{cfg[0]} loss")
    # one near-tie argmax may flip in float32
    assert np.all(np.abs(history.accuracy - acc) <= 1 / 300 + 1e-12)
    np.testing.assert_array_equal(history.lr, lr)
    for k, v in params(*run.layers).items():
        got = params(d1, d2)[k]
        assert got.dtype == np.float32, k
        close(got, v, F32_RTOL, F32_ATOL, F32_ATOL_SCALE, f"{cfg[0]} {k}")


# ------------------------------------------------------------------ state and continuation

def test_state_is_the_layers_own_and_training_continues_in_either_api():
    cfg = NOTEBOOK_CONFIGS[-1]  # Adam(lr=0.05, decay=5e-7)
    expected_run, _ = per_op(fastnn, cfg, np.float64, 30)

    run = Run(fastnn, cfg[1], cfg[2], cfg[3], X64, Y, W1, W2, np.float64, hooks=True)
    for _ in range(5):  # per-op first: the optimizer creates the state arrays
        run.epoch_step()
    d1, d2, opt = run.dense1, run.dense2, run.optimizer
    arrays = {k: v for k, v in params(d1, d2).items()}
    model = fastnn.Model()
    for layer in (d1, fastnn.ReLU(), d2, fastnn.SoftMax()):
        model.add(layer)
    model.set(loss=fastnn.CategoricalCrossEntropy(), optimizer=opt,
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    model.train(X64, Y, epochs=20, verbose=False)
    for k, v in params(d1, d2).items():
        assert v is arrays[k], f"{k} was replaced, not updated in place"
    assert opt.iterations == 25
    for _ in range(5):  # and back to the per-op loop
        run.epoch_step()
    for k, v in params(*expected_run.layers).items():
        np.testing.assert_array_equal(params(d1, d2)[k], v, err_msg=k)
    assert opt.iterations == expected_run.optimizer.iterations == 30
    assert opt.current_learning_rate == expected_run.optimizer.current_learning_rate


@pytest.mark.parametrize("cfg, names", [
    (NOTEBOOK_CONFIGS[0], ()),
    (NOTEBOOK_CONFIGS[2], ("weight_momentums", "bias_momentums")),
    (NOTEBOOK_CONFIGS[4], ("weight_cache", "bias_cache")),
    (NOTEBOOK_CONFIGS[5], ("weight_cache", "bias_cache")),
    (NOTEBOOK_CONFIGS[6], STATE_NAMES),
], ids=lambda v: v[0] if isinstance(v, tuple) and len(v) == 5 else "")
def test_state_created_as_the_per_op_optimizer_creates_it(cfg, names):
    model, d1, d2, opt = make_model(cfg)
    weights = d1.weights
    model.train(X64, Y, epochs=0, verbose=False)
    assert not any(hasattr(d, s) for d in (d1, d2) for s in STATE_NAMES), \
        "epochs=0 must create nothing"
    model.train(X64, Y, epochs=3, verbose=False)
    for d in (d1, d2):
        assert sorted(s for s in STATE_NAMES if hasattr(d, s)) == sorted(names)
        for s in names:
            assert getattr(d, s).dtype == d.weights.dtype
            assert getattr(d, s).shape == (d.weights if s.startswith("weight")
                                           else d.biases).shape
    assert d1.weights is weights


def test_switching_optimizers_resets_state_as_the_per_op_optimizer_does():
    """SGD with momentum leaves weight_momentums; Adam's marker (weight_cache) is
    missing, so Adam starts all its state from zeros, as per-op."""
    sgd = ("SGD(momentum=0.9)", "notebook", "SGD", dict(momentum=0.9), True)
    adam = NOTEBOOK_CONFIGS[-1]
    run = Run(fastnn, "notebook", "SGD", sgd[3], X64, Y, W1, W2, np.float64, hooks=True)
    for _ in range(3):
        run.epoch_step()
    model, d1, d2, _ = make_model(adam)
    for mine, theirs in ((d1, run.dense1), (d2, run.dense2)):
        mine.weights, mine.biases = theirs.weights.copy(), theirs.biases.copy()
        mine.weight_momentums = theirs.weight_momentums.copy()
        mine.bias_momentums = theirs.bias_momentums.copy()
    run.optimizer = fastnn.Adam(**adam[3])
    for _ in range(5):
        run.epoch_step()
    model.train(X64, Y, epochs=5, verbose=False)
    for k, v in params(*run.layers).items():
        np.testing.assert_array_equal(params(d1, d2)[k], v, err_msg=k)


def test_fortran_ordered_parameters_are_updated_in_place():
    cfg = NOTEBOOK_CONFIGS[-1]
    _, c1, c2, _ = ref = make_model(cfg)
    ref[0].train(X64, Y, epochs=10, verbose=False)
    model, d1, d2, _ = make_model(cfg)
    d1.weights = np.asfortranarray(d1.weights)
    w = d1.weights
    model.train(X64, Y, epochs=10, verbose=False)
    assert d1.weights is w and not w.flags.c_contiguous
    np.testing.assert_array_equal(d1.weights, c1.weights)
    np.testing.assert_array_equal(d2.weights, c2.weights)


# --------------------------------------------------------------------- printing, history

def test_prints_the_books_line_every_print_every_epochs(capsys):
    cfg = NOTEBOOK_CONFIGS[-1]
    model, _, _, opt = make_model(cfg)
    calls = []
    history = model.train(X64, Y, epochs=25, print_every=10, callback=calls.append)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines  # epochs 10 and 20, as the book's `if not epoch % print_every`
    for line, epoch in zip(lines, (10, 20)):
        m = LINE.match(line)
        assert m, line
        assert int(m.group(1)) == epoch
        assert m.group(2) == f"{history.accuracy[epoch - 1]:.3f}"
        assert m.group(3) == f"{history.loss[epoch - 1]:.3f}"
        # the rate that epoch's update used, printed as the optimizer's float
        assert m.group(4) == m.group(3)  # no regularization: all data loss
        assert m.group(5) == f"{0.05 * (1. / (1. + 5e-7 * (epoch - 1)))}"
    assert calls == [10, 20, 25]  # one compiled call per print, plus the rest
    assert opt.iterations == 25


def test_printed_lr_without_decay_is_the_optimizers_own_value(capsys):
    cfg = ("Optimizer_SGD(learning_rate=1)", "book", "Optimizer_SGD", dict(learning_rate=1), True)
    model, _, _, opt = make_model(cfg)
    model.train(X64, Y, epochs=2, print_every=1)
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(l).group(5) for l in lines] == ["1", "1"]  # as the book prints it
    assert opt.current_learning_rate == 1 and type(opt.current_learning_rate) is int


def test_print_every_none_and_verbose_false_print_nothing(capsys):
    model = make_model(NOTEBOOK_CONFIGS[1])[0]
    calls = []
    model.train(X64, Y, epochs=30, print_every=None, callback=calls.append)
    model.train(X64, Y, epochs=30, print_every=7, verbose=False, callback=calls.append)
    assert capsys.readouterr().out == ""
    assert calls == [30, 7, 14, 21, 28, 30]


def test_history_accumulates_across_calls():
    model = make_model(NOTEBOOK_CONFIGS[-1])[0]
    h1 = model.train(X64, Y, epochs=4, verbose=False)
    h2 = model.train(X64, Y, epochs=3, verbose=False)
    np.testing.assert_array_equal(h2.epoch, [1, 2, 3])
    np.testing.assert_array_equal(model.history.epoch, np.arange(1, 8))
    np.testing.assert_array_equal(model.history.loss, np.concatenate([h1.loss, h2.loss]))
    np.testing.assert_array_equal(model.history["lr"], np.concatenate([h1.lr, h2.lr]))
    assert model.history.as_dict().keys() == {"epoch", "loss", "accuracy", "lr"}
    assert "7 epochs" in repr(model.history)


def test_seed_known_values_under_nnfs_init(nnfs_init, capsys):
    """The spec's deterministic numbers of the seed run (nnfs.init(), float32):
    the first epoch's line and the printed lr at epoch 10000."""
    from nnfs.datasets import spiral_data

    for opt, lr_10000 in ((fastnn.Adam(lr=0.05, decay=5e-7), "0.04975126853296942"),
                          (fastnn.SGD(decay=1e-3), "0.09091735612328393")):
        np.random.seed(0)
        X, y = spiral_data(samples=100, classes=3)
        model = fastnn.Model()
        for layer in (fastnn.DenseLayer(2, 64), fastnn.ReLU(), fastnn.DenseLayer(64, 3),
                      fastnn.SoftMax()):
            model.add(layer)
        model.set(loss=fastnn.CategoricalCrossEntropy(), optimizer=opt,
                  accuracy=fastnn.Accuracy_Categorical())
        model.finalize()
        assert model.layers[0].weights.dtype == np.float32
        model.train(X, y, epochs=1)
        model.train(X, y, epochs=9999, print_every=9999)
        first, last = capsys.readouterr().out.splitlines()
        assert first == (f"epoch: 1, acc: 0.360, loss: 1.099 (data_loss: 1.099, "
                         f"reg_loss: 0.000), lr: {opt.lr}")
        assert LINE.match(last).group(5) == lr_10000
        assert opt.iterations == 10000


# ----------------------------------------------------------- other model layouts and labels

def test_combined_loss_class_equals_softmax_layer_with_cross_entropy():
    cfg = NOTEBOOK_CONFIGS[3]
    a, a1, a2, _ = make_model(cfg)
    b, b1, b2, _ = make_model(cfg, loss="combined")
    ha = a.train(X64, Y, epochs=30, verbose=False)
    hb = b.train(X64, Y, epochs=30, verbose=False)
    for col in ("loss", "accuracy", "lr"):
        np.testing.assert_array_equal(ha[col], hb[col])
    np.testing.assert_array_equal(a2.weights, b2.weights)
    np.testing.assert_array_equal(a.predict(X64), b.predict(X64))


def test_one_hot_labels_train_as_class_indices():
    cfg = NOTEBOOK_CONFIGS[-1]
    a, a1, a2, _ = make_model(cfg)
    b, b1, b2, _ = make_model(cfg)
    ha = a.train(X64, Y, epochs=30, verbose=False)
    hb = b.train(X64, np.eye(3)[Y], epochs=30, verbose=False)
    np.testing.assert_array_equal(ha.accuracy, hb.accuracy)
    close(hb.loss, ha.loss, 1e-14, 0, what="one-hot loss")
    np.testing.assert_array_equal(a1.weights, b1.weights)
    np.testing.assert_array_equal(a2.biases, b2.biases)


def test_cross_entropy_without_the_combined_backward():
    """A model whose last layer is not a softmax (here softmax then ReLU) runs the
    separate cross-entropy backward and an inner softmax backward; it must equal the
    per-op loop through the same layers."""
    def layers(mod):
        d1, d2 = mod.Layer_Dense(2, 16), mod.Layer_Dense(16, 3)
        d1.weights, d2.weights = W1[:, :16].copy(), W2[:16].copy()
        return d1, mod.Activation_ReLU(), d2, mod.Activation_Softmax(), mod.Activation_ReLU()

    ops = layers(fastnn)
    loss = fastnn.Loss_CategoricalCrossentropy()
    opt = fastnn.Optimizer_Adam(learning_rate=0.05)
    losses, accs = [], []
    for _ in range(15):
        out = X64
        for layer in ops:
            layer.forward(out)
            out = layer.output
        losses.append(loss.calculate(out, Y))
        accs.append(np.mean(np.argmax(out, axis=1) == Y))
        loss.backward(out, Y)
        d = loss.dinputs
        for layer in reversed(ops):
            layer.backward(d)
            d = layer.dinputs
        opt.pre_update_params()
        opt.update_params(ops[0])
        opt.update_params(ops[2])
        opt.post_update_params()

    mlayers = layers(fastnn)
    model = fastnn.Model()
    for layer in mlayers:
        model.add(layer)
    model.set(loss=fastnn.Loss_CategoricalCrossentropy(),
              optimizer=fastnn.Optimizer_Adam(learning_rate=0.05),
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    assert model.softmax_classifier_output is None
    history = model.train(X64, Y, epochs=15, verbose=False)
    close(history.loss, losses, 1e-13, 0, what="loss")  # np.mean sums pairwise
    np.testing.assert_array_equal(history.accuracy, accs)
    for a, b in ((mlayers[0], ops[0]), (mlayers[2], ops[2])):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.weight_cache, b.weight_cache)
    np.testing.assert_array_equal(mlayers[3].dinputs, ops[3].dinputs)


# ---------------------------------------------------------------------- evaluate, predict

def test_predict_and_evaluate_equal_the_per_op_forward(capsys):
    cfg = NOTEBOOK_CONFIGS[-1]
    model, d1, d2, _ = make_model(cfg)
    model.train(X64, Y, epochs=20, verbose=False)
    dense1, dense2 = fastnn.DenseLayer(2, 64), fastnn.DenseLayer(64, 3)
    dense1.weights, dense1.biases = d1.weights.copy(), d1.biases.copy()
    dense2.weights, dense2.biases = d2.weights.copy(), d2.biases.copy()
    relu, la = fastnn.ReLU(), fastnn.SoftMaxCategoricalCrossEntropy()
    dense1.forward(X64)
    relu.forward(dense1.output)
    dense2.forward(relu.output)
    loss = la.forward(dense2.output, Y)
    acc = np.mean(np.argmax(la.output, axis=1) == Y)

    np.testing.assert_array_equal(model.predict(X64), la.output)
    np.testing.assert_allclose(model.predict(X64, batch_size=64), la.output, rtol=1e-14)
    got_loss, got_acc = model.evaluate(X64, Y)
    assert (got_loss, got_acc) == (float(loss), float(acc))
    assert capsys.readouterr().out == f"validation, acc: {acc:.3f}, loss: {loss:.3f}\n"
    b_loss, b_acc = model.evaluate(X64, Y, batch_size=64, verbose=False)
    assert b_loss == pytest.approx(float(loss), rel=1e-13) and b_acc == pytest.approx(acc)
    # evaluate and predict change nothing
    np.testing.assert_array_equal(d1.weights, dense1.weights)


def test_train_with_validation_data_prints_validation_last(capsys):
    model = make_model(NOTEBOOK_CONFIGS[-1])[0]
    model.train(X64, Y, epochs=10, print_every=5, validation_data=(X64[::2], Y[::2]))
    lines = capsys.readouterr().out.splitlines()
    assert [l.split(",")[0] for l in lines] == ["epoch: 5", "epoch: 10", "validation"]
    assert re.match(r"^validation, acc: \d\.\d{3}, loss: \d\.\d{3}$", lines[-1])


def test_book_helpers():
    acc = fastnn.Accuracy_Categorical()
    acc.init(Y)
    pred = np.array([0, 1, 2, 2])
    assert acc.calculate(pred, np.array([0, 1, 1, 2])) == 0.75
    assert acc.calculate(pred, np.eye(3)[[0, 1, 1, 2]]) == 0.75
    inp = fastnn.Layer_Input()
    inp.forward(X64, training=True)
    assert inp.output is X64
    model = make_model(NOTEBOOK_CONFIGS[0])[0]
    assert isinstance(model.input_layer, fastnn.Layer_Input)
    assert model.trainable_layers == [model.layers[0], model.layers[2]]
    assert model.layers[0].prev is model.input_layer and model.layers[0].next is model.layers[1]
    assert model.layers[-1].next is model.loss
    assert model.output_layer_activation is model.layers[-1]
    assert isinstance(model.softmax_classifier_output,
                      fastnn.Activation_Softmax_Loss_CategoricalCrossentropy)


# ---------------------------------------------------------------------------- misuse

def _fresh(cfg=NOTEBOOK_CONFIGS[-1]):
    model, d1, d2, opt = make_model(cfg)
    return model, d1, d2, opt, snapshot(d1, d2, opt)


def test_train_before_finalize():
    model, d1, d2, opt, before = _fresh()
    model.add(fastnn.ReLU())  # any add() or set() asks for finalize() again
    with pytest.raises(RuntimeError, match=r"before Model.finalize\(\)"):
        model.train(X64, Y, epochs=5)
    assert_unchanged(before, d1, d2, opt)
    bare = fastnn.Model()
    bare.add(fastnn.DenseLayer(2, 3))
    with pytest.raises(RuntimeError, match="finalize"):
        bare.train(X64, Y)
    with pytest.raises(RuntimeError, match="finalize"):
        bare.predict(X64)


def test_finalize_without_loss_or_optimizer():
    model = fastnn.Model()
    for layer in (fastnn.DenseLayer(2, 64), fastnn.ReLU(), fastnn.DenseLayer(64, 3),
                  fastnn.SoftMax()):
        model.add(layer)
    model.set(optimizer=fastnn.Adam())
    with pytest.raises(ValueError, match="no loss"):
        model.finalize()
    # chapter 21: a model without an optimizer finalizes and evaluates, but cannot train
    model = fastnn.Model()
    model.add(fastnn.DenseLayer(2, 3))
    model.set(loss=fastnn.CategoricalCrossEntropy())
    model.finalize()
    with pytest.raises(ValueError, match="no optimizer"):
        model.train(X64, Y, epochs=1)
    empty = fastnn.Model()
    empty.set(loss=fastnn.CategoricalCrossEntropy(), optimizer=fastnn.SGD())
    with pytest.raises(ValueError, match="no layers"):
        empty.finalize()


def test_x_and_y_lengths_differ():
    model, d1, d2, opt, before = _fresh()
    with pytest.raises(ValueError, match="X has 300 samples but y has 299 labels"):
        model.train(X64, Y[:-1], epochs=5)
    with pytest.raises(ValueError, match="300 samples but y has 301"):
        model.train(X64, np.eye(3)[np.r_[Y, 0]], epochs=5)
    assert_unchanged(before, d1, d2, opt)


def test_layer_widths_that_do_not_chain():
    model = fastnn.Model()
    for layer in (fastnn.DenseLayer(2, 64), fastnn.ReLU(), fastnn.DenseLayer(32, 3),
                  fastnn.SoftMax()):
        model.add(layer)
    model.set(loss=fastnn.CategoricalCrossEntropy(), optimizer=fastnn.Adam())
    with pytest.raises(ValueError, match=r"do not chain.*outputs 64.*takes 32"):
        model.finalize()
    # the same found at train() when weights were replaced after finalize()
    model, d1, d2, opt, before = _fresh()
    d2.weights = np.zeros((32, 3))
    before["dense2.weights"] = d2.weights.copy()
    with pytest.raises(ValueError, match="do not chain"):
        model.train(X64, Y, epochs=5)
    assert_unchanged(before, d1, d2, opt)


@pytest.mark.parametrize("bad, error, match", [
    (lambda: dict(X=X64[:, :1]), ValueError, "X has 1 features.*takes 2"),
    (lambda: dict(X=X64[0]), ValueError, "2-D"),
    (lambda: dict(y=np.r_[Y[:-1], 3]), ValueError, r"out of range \[0, 3\).*y\[299\] = 3"),
    (lambda: dict(y=-np.ones(300, int)), ValueError, "out of range"),
    (lambda: dict(y=Y.astype(float)), TypeError, "integer class indices"),
    (lambda: dict(y=np.eye(4)[Y]), ValueError, r"one-hot labels have shape \(300, 4\)"),
    (lambda: dict(epochs=-1), ValueError, "epochs"),
    (lambda: dict(epochs=2.5), ValueError, "epochs"),
    (lambda: dict(print_every=0), ValueError, "print_every"),
    (lambda: dict(validation_data=(X64, Y[:10])), ValueError, "X_val has 300 samples"),
    (lambda: dict(validation_data=X64), ValueError, "pair"),
], ids=["X-width", "X-1d", "label-high", "label-negative", "float-labels", "one-hot-width",
        "negative-epochs", "float-epochs", "print-every-0", "validation-lengths",
        "validation-not-pair"])
def test_bad_data_is_refused_before_any_change(bad, error, match):
    model, d1, d2, opt, before = _fresh()
    kwargs = dict(X=X64, y=Y, epochs=5, verbose=False)
    kwargs.update(bad())
    with pytest.raises(error, match=match):
        model.train(kwargs.pop("X"), kwargs.pop("y"), **kwargs)
    assert_unchanged(before, d1, d2, opt)


def test_bad_parameters_are_refused_before_any_change():
    # read-only weights on the second layer: the first must not have been touched
    model, d1, d2, opt, before = _fresh()
    d2.weights.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        model.train(X64, Y, epochs=5)
    assert_unchanged(before, d1, d2, opt)
    # mixed dtypes
    model, d1, d2, opt, before = _fresh()
    d2.biases = d2.biases.astype(np.float32)
    before["dense2.biases"] = d2.biases.copy()
    with pytest.raises(TypeError, match="dtype float32.*float64"):
        model.train(X64, Y, epochs=5)
    assert_unchanged(before, d1, d2, opt)
    for call in (model.predict, lambda X: model.evaluate(X, Y)):
        with pytest.raises(TypeError, match="dtype float32"):
            call(X64)
    # existing optimizer state of the wrong shape
    model, d1, d2, opt, before = _fresh()
    d2.weight_cache = np.zeros((3, 64))
    with pytest.raises(ValueError, match=r"weight_cache has shape \(3, 64\)"):
        model.train(X64, Y, epochs=5)
    assert d1.weights.tobytes() == before["dense1.weights"].tobytes()
    assert not hasattr(d1, "weight_cache") and opt.iterations == 0


@pytest.mark.parametrize("what", ["reference-layer", "reference-loss", "reference-optimizer",
                                  "overridden-optimizer", "binary-accuracy", "twice-added"])
def test_unsupported_parts_are_named(what):
    model = fastnn.Model()
    d1 = fastnn.DenseLayer(2, 64)
    layers = [d1, fastnn.ReLU(), fastnn.DenseLayer(64, 3), fastnn.SoftMax()]
    loss, opt, acc = fastnn.CategoricalCrossEntropy(), fastnn.Adam(), None

    class MyAdam(fastnn.Adam):
        def update_params(self, layer):
            pass

    if what == "reference-layer":
        layers[2] = reference.DenseLayer(64, 3)
    elif what == "reference-loss":
        loss = reference.CategoricalCrossEntropy()
    elif what == "reference-optimizer":
        opt = reference.Adam()
    elif what == "overridden-optimizer":
        opt = MyAdam()
    elif what == "binary-accuracy":
        acc = fastnn.Accuracy_Categorical(binary=True)
    else:
        layers.insert(2, d1)
    for layer in layers:
        model.add(layer)
    model.set(loss=loss, optimizer=opt, accuracy=acc)
    with pytest.raises((TypeError, ValueError)) as info:
        model.finalize()
    assert {"reference-layer": "layer 2 (DenseLayer) is not supported",
            "reference-loss": "Loss_CategoricalCrossentropy",
            "reference-optimizer": "fastnn's optimizers",
            "overridden-optimizer": "overrides update_params",
            "binary-accuracy": "binary=False",
            "twice-added": "added twice"}[what] in str(info.value)
