"""The general path of ``Model``: the book's loop in Python over the per-op classes.

``Model`` runs the compiled loop (``kernels/train.py``) for the models its plan
covers (``registry.OPS``/``HEADS`` with their accuracies).  Every other model
the book's ``Model`` can run -- layers the compiled plan does not take yet, a
user's own layer class, targets whose dtype would promote the loss -- runs here: the book's chapter 18-22 ``train``,
``evaluate`` and ``predict`` loops, step by step, calling each layer's
``forward``/``backward`` and the loss's and accuracy's methods as the book
does, so the numbers are the per-op classes' (each a fused kernel) and the
printed lines are the book's.

With ``batch_size=None`` training prints the chapter-18 line every
``print_every`` epochs; with a batch size it prints the chapter-19 lines
(``epoch: N``, ``step: S, ...`` every ``print_every`` steps and at the last
step, ``training, ...``), as the book's final ``Model`` does.
"""
import numpy as np

__all__ = ["train", "evaluate", "predict", "forward", "backward", "steps"]


def steps(n, batch_size):
    """The book's step count: ``n // batch_size``, plus one for a short last batch."""
    if batch_size is None:
        return 1
    count = n // batch_size
    return count + 1 if count * batch_size < n else count


def _batch(a, step, batch_size):
    return a if batch_size is None else a[step * batch_size:(step + 1) * batch_size]


def forward(model, X, training):
    model.input_layer.forward(X, training)
    layer = model.input_layer
    for layer in model.layers:
        layer.forward(layer.prev.output, training)
    return layer.output


def backward(model, output, y):
    combined = model.softmax_classifier_output
    if combined is not None:
        combined.backward(output, y)
        model.layers[-1].dinputs = combined.dinputs
        for layer in reversed(model.layers[:-1]):
            layer.backward(layer.next.dinputs)
        return
    model.loss.backward(output, y)
    for layer in reversed(model.layers):
        layer.backward(layer.next.dinputs)


def _step(model, X, y):
    """One training step: ``(loss, data_loss, regularization_loss, accuracy)``."""
    output = forward(model, X, training=True)
    data_loss, reg_loss = model.loss.calculate(output, y, include_regularization=True)
    predictions = model.output_layer_activation.predictions(output)
    accuracy = model.accuracy.calculate(predictions, y)
    backward(model, output, y)
    opt = model.optimizer
    opt.pre_update_params()
    for layer in model.trainable_layers:
        opt.update_params(layer)
    opt.post_update_params()
    return data_loss + reg_loss, data_loss, reg_loss, accuracy


def _line(head, accuracy, loss, data_loss, reg_loss, lr):
    return (f"{head}, acc: {accuracy:.3f}, loss: {loss:.3f} (data_loss: {data_loss:.3f}, "
            f"reg_loss: {reg_loss:.3f}), lr: {lr}")


def train(model, X, y, *, epochs, batch_size, print_every, validation_data, verbose,
          callback, history):
    """The book's training loop; fills ``history`` (one row per epoch: the last
    step's loss and accuracy, or the epoch's accumulated ones with batches)."""
    say = print if verbose else (lambda *a, **k: None)
    model.accuracy.init(y)
    n_steps = steps(len(X), batch_size)
    for epoch in range(1, epochs + 1):
        lr_used = None
        if batch_size is None:  # chapter 18
            loss, data_loss, reg_loss, accuracy = _step(model, X, y)
            lr_used = model.optimizer.current_learning_rate
            if print_every is not None and not epoch % print_every:
                say(_line(f"epoch: {epoch}", accuracy, loss, data_loss, reg_loss, lr_used))
        else:  # chapter 19 on
            say(f"epoch: {epoch}")
            model.loss.new_pass()
            model.accuracy.new_pass()
            for step in range(n_steps):
                loss, data_loss, reg_loss, accuracy = _step(
                    model, _batch(X, step, batch_size), _batch(y, step, batch_size))
                lr_used = model.optimizer.current_learning_rate
                if print_every is not None and (not step % print_every
                                                or step == n_steps - 1):
                    say(_line(f"step: {step}", accuracy, loss, data_loss, reg_loss, lr_used))
            data_loss, reg_loss = model.loss.calculate_accumulated(include_regularization=True)
            loss = data_loss + reg_loss
            accuracy = model.accuracy.calculate_accumulated()
            say(_line("training", accuracy, loss, data_loss, reg_loss, lr_used))
            if validation_data is not None:
                evaluate(model, *validation_data, batch_size=batch_size, verbose=verbose)
        history.loss[epoch - 1] = loss
        history.accuracy[epoch - 1] = accuracy
        history.lr[epoch - 1] = lr_used
        if callback is not None:
            callback(epoch)
    if batch_size is None and validation_data is not None:
        evaluate(model, *validation_data, verbose=verbose)


def evaluate(model, X_val, y_val, *, batch_size=None, verbose=True):
    """The book's ``evaluate``: accumulated loss and accuracy; ``(loss, accuracy)``."""
    model.loss.new_pass()
    model.accuracy.new_pass()
    for step in range(steps(len(X_val), batch_size)):
        output = forward(model, _batch(X_val, step, batch_size), training=False)
        y = _batch(y_val, step, batch_size)
        model.loss.calculate(output, y)
        model.accuracy.calculate(model.output_layer_activation.predictions(output), y)
    loss = model.loss.calculate_accumulated()
    accuracy = model.accuracy.calculate_accumulated()
    if verbose:
        print(f"validation, acc: {accuracy:.3f}, loss: {loss:.3f}")
    return loss, accuracy


def predict(model, X, *, batch_size=None):
    """The book's ``predict``: the outputs of every batch, stacked."""
    return np.vstack([forward(model, _batch(X, step, batch_size), training=False)
                      for step in range(steps(len(X), batch_size))])
