"""``Model.train(..., batch_size=...)``: the book's chapter-19 loop, compiled.

The twin side is the book's chapter-19 training loop written out here over
the NumPy twin's per-op classes (``fastnn.reference``): batches as row slices
with a short last batch, accumulated per-epoch loss and accuracy, and the
book's printed lines.  fastnn's ``Model`` must print the same lines and end
with the same parameters (to float64 rounding).
"""
import numpy as np
import pytest

import fastnn
from fastnn import reference

from test_model_robust import make_layers, make_model, seed_data


def _line(head, acc, loss, lr):
    return (f"{head}, acc: {acc:.3f}, loss: {loss:.3f} (data_loss: {loss:.3f}, "
            f"reg_loss: {0.0:.3f}), lr: {lr}")


def book_loop(make_opt, X, y, epochs, batch_size, print_every, validation=None):
    """The book's Ch19 ``Model.train`` over the twin's classes: (lines, dense layers)."""
    layers = make_layers(reference)
    dense = [l for l in layers if isinstance(l, reference.Layer_Dense)]
    head = reference.Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = make_opt(reference)
    lines = []
    steps = len(X) // batch_size + (1 if len(X) % batch_size else 0)
    for epoch in range(1, epochs + 1):
        lines.append(f"epoch: {epoch}")
        loss_sum = count = hits = 0
        for step in range(steps):
            bx, by = (a[step * batch_size:(step + 1) * batch_size] for a in (X, y))
            out = bx
            for layer in layers:
                layer.forward(out)
                out = layer.output
            head.activation.forward(out)
            sample_losses = head.loss.forward(head.activation.output, by)
            loss = np.mean(sample_losses)
            loss_sum += np.sum(sample_losses)
            count += len(sample_losses)
            comparisons = np.argmax(head.activation.output, axis=1) == by
            acc = np.mean(comparisons)
            hits += np.sum(comparisons)
            head.backward(head.activation.output, by)
            d = head.dinputs
            for layer in reversed(layers):
                layer.backward(d)
                d = layer.dinputs
            opt.pre_update_params()
            for layer in dense:
                opt.update_params(layer)
            opt.post_update_params()
            if not step % print_every or step == steps - 1:
                lines.append(_line(f"step: {step}", acc, loss, opt.current_learning_rate))
        lines.append(_line("training", hits / count, loss_sum / count,
                           opt.current_learning_rate))
    return lines, dense


OPTIMIZERS = {
    "adam": lambda m: m.Optimizer_Adam(learning_rate=0.05, decay=5e-5),
    "sgd-momentum": lambda m: m.Optimizer_SGD(learning_rate=0.5, decay=1e-3, momentum=0.9),
    "rmsprop": lambda m: m.Optimizer_RMSprop(learning_rate=0.01, rho=0.99),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("batch_size, print_every", [(64, 2), (100, 1), (300, 1), (512, 3)])
def test_chapter19_lines_and_parameters_match_the_books_loop(capsys, name, batch_size,
                                                             print_every):
    X, y = seed_data()
    expected, ref_dense = book_loop(OPTIMIZERS[name], X, y, 3, batch_size, print_every)
    model, dense = make_model(OPTIMIZERS[name](fastnn))
    assert model._plan is not None  # the compiled loop runs it
    history = model.train(X, y, epochs=3, batch_size=batch_size, print_every=print_every)
    assert capsys.readouterr().out.splitlines() == expected
    for a, b in zip(dense, ref_dense):
        np.testing.assert_allclose(a.weights, b.weights, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a.biases, b.biases, rtol=1e-9, atol=1e-12)
    steps = -(-len(X) // batch_size)
    assert model.optimizer.iterations == 3 * steps
    assert len(history) == 3


def test_validation_line_follows_each_epoch(capsys):
    X, y = seed_data()
    model, _ = make_model(OPTIMIZERS["adam"](fastnn))
    model.train(X, y, epochs=2, batch_size=128, print_every=100, validation_data=(X, y))
    lines = capsys.readouterr().out.splitlines()
    heads = [line.split(",")[0].split(":")[0] for line in lines]
    assert heads == ["epoch", "step", "step", "training", "validation"] * 2
    loss, acc = model.evaluate(X, y, batch_size=128, verbose=False)
    assert lines[-1] == f"validation, acc: {acc:.3f}, loss: {loss:.3f}"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "64", True])
def test_bad_batch_size_is_refused_before_any_change(bad):
    X, y = seed_data()
    model, dense = make_model(OPTIMIZERS["adam"](fastnn))
    before = [l.weights.copy() for l in dense]
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.train(X, y, epochs=1, batch_size=bad)
    for layer, w in zip(dense, before):
        np.testing.assert_array_equal(layer.weights, w)
    assert model.optimizer.iterations == 0
    assert not hasattr(dense[0], "weight_cache")


def test_validation_data_of_the_wrong_shape_is_refused_before_any_change():
    X, y = seed_data()
    model, dense = make_model(OPTIMIZERS["adam"](fastnn))
    before = dense[0].weights.copy()
    with pytest.raises(ValueError, match="X_val has 3 features"):
        model.train(X, y, epochs=1, batch_size=64, validation_data=(np.ones((10, 3)), y[:10]))
    with pytest.raises(ValueError, match="X_val has 10 samples but y_val has 9"):
        model.train(X, y, epochs=1, batch_size=64, validation_data=(X[:10], y[:9]))
    np.testing.assert_array_equal(dense[0].weights, before)
