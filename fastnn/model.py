"""The book's ``Model`` (chapter 18), with the training loop compiled.

``Model`` keeps the book's interface -- ``add``, ``set``, ``finalize``,
``train``, ``evaluate``, ``predict`` -- and the book's print line.  ``train``
runs the epochs in calls of the compiled loop of ``fastnn.kernels.train``,
which calls the same kernels as the per-op classes, in the same order:
afterwards the layers' weights and biases, the optimizer's state arrays
(``weight_momentums``, ``weight_cache``, ...), its iteration count and current
learning rate hold what the per-op loop would have left, and training can go
on with either.

This module is the book's API only; the plan (``plan.py``), the buffers and
data checks (``workspace.py``) and the metrics (``metrics.py``) live beside it.

Supported models: any sequence of the ops in ``fastnn.registry.OPS`` (dense,
ReLU, softmax; either spelling) of one float dtype (float32 or float64), a
loss of ``registry.HEADS``, categorical accuracy, and any optimizer of
``registry.OPTIMIZERS``.  ``X`` is converted to the layers' dtype.
"""
import math
import time

import numba
import numpy as np

from ._blas_threads import blas_threads_for
from . import persistence as P
from . import workspace as W
from .kernels import network as N
from .kernels import train as K
from .losses import Activation_Softmax_Loss_CategoricalCrossentropy
from .metrics import Accuracy, Accuracy_Categorical, History
from .optimizer_plan import lock_for, lr_column, optimizer_run, python_schedule
from .plan import build_plan, check_widths

__all__ = ["Model", "Layer_Input", "Accuracy", "Accuracy_Categorical", "History"]

# A compiled call runs at most about this long, so that Ctrl-C takes effect
# promptly (Python handles signals between calls) and leaves the layers, the
# optimizer and the history consistent with each other.
SLICE_SECONDS = 0.25


class Layer_Input:
    """The book's input "layer": its output is the model's input."""

    def forward(self, inputs, training=False):
        self.output = inputs


def _positive_int(value, name, allow_none=False, allow_zero=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} integer{' (or None)' if allow_none else ''}, "
                         f"got {value!r}")
    return int(value)


class Model:
    """A sequential model with the book's interface, trained by one compiled loop."""

    def __init__(self):
        self.layers = []
        self.loss = None
        self.optimizer = None
        self.accuracy = None
        self.softmax_classifier_output = None
        self.history = History()
        self._plan = None
        self._epoch_seconds = None

    # -- the book's interface --------------------------------------------------

    def add(self, layer):
        self.layers.append(layer)
        self._plan = None

    def set(self, *, loss=None, optimizer=None, accuracy=None):
        if loss is not None:
            self.loss = loss
        if optimizer is not None:
            self.optimizer = optimizer
        if accuracy is not None:
            self.accuracy = accuracy
        self._plan = None

    def finalize(self):
        """Check the model and link it as the book does (``prev``/``next``,
        ``trainable_layers``, ``output_layer_activation``,
        ``softmax_classifier_output``).  Raises on anything ``train`` could not run."""
        if self.loss is None:
            raise ValueError("Model has no loss: call model.set(loss=Loss_CategoricalCrossentropy(), "
                             "optimizer=..., accuracy=Accuracy_Categorical()) before finalize()")
        if self.optimizer is None:
            raise ValueError("Model has no optimizer: call model.set(optimizer=...) before "
                             "finalize()")
        if self.accuracy is None:
            self.accuracy = Accuracy_Categorical()
        if not isinstance(self.accuracy, Accuracy_Categorical) or self.accuracy.binary:
            raise TypeError(f"Model supports Accuracy_Categorical() (binary=False), got "
                            f"{self.accuracy!r}")
        optimizer_run(self.optimizer)
        plan = build_plan(self.layers, self.loss)
        self._plan = plan

        # the book's bookkeeping
        self.input_layer = Layer_Input()
        self.trainable_layers = list(plan.dense)
        n = len(self.layers)
        for i, layer in enumerate(self.layers):
            try:
                layer.prev = self.input_layer if i == 0 else self.layers[i - 1]
                layer.next = self.layers[i + 1] if i < n - 1 else self.loss
            except AttributeError:
                pass
        self.output_layer_activation = self.layers[-1]
        if plan.softmax_head and not plan.combined_loss:
            self.softmax_classifier_output = Activation_Softmax_Loss_CategoricalCrossentropy()
        else:
            self.softmax_classifier_output = None

    def train(self, X, y, *, epochs=1, print_every=1, validation_data=None, verbose=True,
              callback=None):
        """Train on the full batch ``(X, y)`` for ``epochs`` epochs.

        Prints the book's chapter-18 line ``epoch: N, acc: A, loss: L (data_loss: D,
        reg_loss: R), lr: LR`` after every
        ``print_every``-th epoch (``print_every=None``: never).  The epochs in
        between run in compiled calls of at most about ``SLICE_SECONDS`` each,
        so that Ctrl-C stops training promptly, leaving the layers, the
        optimizer and ``model.history`` consistent with the epochs done.
        ``verbose=False`` silences the prints, and ``callback(epochs_done)`` is
        called at each print point and at the end (e.g. to move a progress bar).  With
        ``validation_data=(X_val, y_val)`` the model is evaluated after
        training, as in the book.

        Returns this call's :class:`History`; ``model.history`` accumulates all calls.
        Raises before any parameter changes on a bad model or bad data.
        """
        plan = self._require_finalized("train")
        epochs = _positive_int(epochs, "epochs", allow_zero=True)
        print_every = _positive_int(print_every, "print_every", allow_none=True)
        opt = self.optimizer
        spec, hyper = optimizer_run(opt)
        dt = self._dtype(plan)
        data = W.prepare_data(X, y, dt, plan, "X", "y")
        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("validation_data must be a pair (X_val, y_val)") from None
            W.prepare_data(X_val, y_val, dt, plan, "X_val", "y_val")
        W.check_layers(plan, dt, spec.weight_state, spec.bias_state, writeable=True)

        history = History(np.arange(1, epochs + 1), np.empty(epochs), np.empty(epochs),
                          np.empty(epochs))
        if epochs:
            with lock_for(opt):
                done = self._done = 0
                try:
                    with blas_threads_for(plan.max_madds(data.x.shape[0])):
                        done = self._run(plan, spec, hyper, data, epochs, print_every,
                                         verbose, callback, history)
                finally:
                    # also after Ctrl-C: the history holds the epochs the layers hold
                    if done < epochs:
                        done = self._done
                        history = History(*(c[:done] for c in history.as_dict().values()))
                    self.history = self.history._followed_by(history)
        if validation_data is not None:
            self.evaluate(*validation_data, verbose=verbose)
        return history

    def evaluate(self, X_val, y_val, *, batch_size=None, verbose=True):
        """Loss and accuracy on ``(X_val, y_val)`` without training; prints the
        book's ``validation, acc: A, loss: L`` line and returns ``(loss, accuracy)``.
        With ``batch_size`` the data go through in slices and the results are
        weighted by slice size."""
        plan = self._require_finalized("evaluate")
        dt = self._dtype(plan)
        data = W.prepare_data(X_val, y_val, dt, plan, "X_val", "y_val")
        W.check_layers(plan, dt)
        bufs = W.Buffers(plan, dt)
        bufs.gather()
        net = bufs.network()
        n = data.x.shape[0]
        slices = _slices(n, batch_size)
        ws = W.workspace(plan, max(hi - lo for lo, hi in slices), dt)
        total_loss = total_acc = 0.0
        with blas_threads_for(plan.max_madds(slices[0][1] - slices[0][0])):
            for lo, hi in slices:
                loss, acc, _ = K.evaluate_batch(net, ws, W.batch(data, lo, hi))
                total_loss += float(loss) * (hi - lo)
                total_acc += float(acc) * (hi - lo)
        loss = total_loss / n if n else float("nan")
        accuracy = total_acc / n if n else float("nan")
        if verbose:
            print(f"validation, acc: {accuracy:.3f}, loss: {loss:.3f}")
        return loss, accuracy

    def predict(self, X, *, batch_size=None):
        """The model's output for ``X`` (class probabilities when it ends in softmax)."""
        plan = self._require_finalized("predict")
        dt = self._dtype(plan)
        x = W.prepare_inputs(X, dt, plan, "X")
        W.check_layers(plan, dt)
        bufs = W.Buffers(plan, dt)
        bufs.gather()
        net = bufs.network()
        slices = _slices(x.shape[0], batch_size)
        ws = W.workspace(plan, max(hi - lo for lo, hi in slices), dt)
        out = np.empty((x.shape[0], plan.n_outputs), dt)
        with blas_threads_for(plan.max_madds(slices[0][1] - slices[0][0])):
            for lo, hi in slices:
                K.predict_batch(net, ws, x[lo:hi], out[lo:hi])
        return out

    # -- parameters and files (the book's chapters 21-22) -------------------------

    def get_parameters(self):
        """``[(weights, biases), ...]`` of the trainable layers, as the book's."""
        return P.get_parameters(self._trainable("get_parameters"))

    def set_parameters(self, parameters):
        """Give the trainable layers these ``(weights, biases)``; checks all first."""
        P.set_parameters(self._trainable("set_parameters"), parameters)

    def save_parameters(self, path):
        P.save_parameters(self._trainable("save_parameters"), path)

    def load_parameters(self, path):
        """Load a parameters file (the book's format: also one the book's code wrote)."""
        P.load_parameters(self._trainable("load_parameters"), path)

    def save(self, path):
        """Pickle the model as the book does, without per-batch arrays (and
        without fastnn's plan, which is rebuilt on load)."""
        P.save_model(self, path)

    @staticmethod
    def load(path):
        return P.load_model(path, Model)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_plan"] = None  # rebuilt from the layers on load
        state["_epoch_seconds"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if getattr(self, "trainable_layers", None) is not None and self.loss is not None:
            self._plan = build_plan(self.layers, self.loss)

    def _trainable(self, what):
        layers = getattr(self, "trainable_layers", None)
        if layers is None:
            raise RuntimeError(f"Model.{what}() called before Model.finalize()")
        return layers

    # -- internals ---------------------------------------------------------------

    def _require_finalized(self, what):
        if self._plan is None:
            raise RuntimeError(f"Model.{what}() called before Model.finalize(): call "
                               f"model.set(loss=..., optimizer=..., accuracy=...) and "
                               f"model.finalize() first (again after add() or set())")
        plan = self._plan
        planned = [int(plan.plain[0, N.C_WIN])] + [int(w) for w in plan.plain[:, N.C_WOUT]]
        if check_widths(plan.op_layers, plan.dense) != planned:
            # weights were replaced by arrays of other shapes: plan again
            plan = self._plan = build_plan(self.layers, self.loss)
        return plan

    @staticmethod
    def _dtype(plan):
        return W.model_dtype(plan)

    def _slice_epochs(self, remaining):
        if self._epoch_seconds is None:
            return min(remaining, 8)
        return min(remaining, max(1, int(SLICE_SECONDS / max(self._epoch_seconds, 1e-9))))

    def _run(self, plan, spec, hyper, data, epochs, print_every, verbose, callback, history):
        """Train ``epochs`` epochs in bounded compiled calls; returns the epochs done."""
        opt = self.optimizer
        dt = data.x.dtype
        # the state the per-op optimizer would create on its first update
        for layer in plan.dense:
            if W.fresh_state(layer, spec.weight_state):
                for name in spec.weight_state:
                    setattr(layer, name, np.zeros_like(layer.weights))
                for name in spec.bias_state:
                    setattr(layer, name, np.zeros_like(layer.biases))
        bufs = W.Buffers(plan, dt, spec.weight_state, spec.bias_state)
        net = bufs.network()
        ws = W.workspace(plan, data.x.shape[0], dt)
        in_python = python_schedule(opt)
        no_column = np.empty(0, np.float64)
        progress = np.empty(K.N_PROGRESS, np.float64)  # (nnfs.init() makes np.zeros float32)
        _launch_threads()

        self._done = done = 0
        pending = False  # buffers hold epochs the layers do not have yet
        try:
            while done < epochs:
                stop = epochs if print_every is None else \
                    min(epochs, (done // print_every + 1) * print_every)
                count = self._slice_epochs(stop - done)
                column, error = no_column, None
                if in_python:
                    column, _, error = lr_column(opt, opt.iterations, count)
                    count = len(column)
                progress[:] = (opt.current_learning_rate, opt.iterations, 0, -1)
                bufs.gather()
                pending = True
                started = time.perf_counter()
                if count:
                    K.train_epochs(net, ws, data, spec.code, hyper, column, count, progress,
                                   history.loss[done:], history.accuracy[done:],
                                   history.lr[done:])
                if progress[K.P_BAD_LABEL] >= 0:  # unreachable: labels were checked
                    raise ValueError(f"label y[{int(progress[K.P_BAD_LABEL])}] out of range")
                if count:
                    self._epoch_seconds = (time.perf_counter() - started) / count
                done = self._sync(bufs, progress, opt, done, in_python)
                pending = False
                if error is not None:
                    raise error
                if done < stop:
                    continue  # a time slice ended between two prints
                if verbose and print_every is not None and done % print_every == 0:
                    # the chapter-18 line; the layers the compiled loop takes carry no
                    # regularization, so the loss is all data loss
                    loss = history.loss[done - 1]
                    print(f"epoch: {done}, acc: {history.accuracy[done - 1]:.3f}, "
                          f"loss: {loss:.3f} (data_loss: {loss:.3f}, reg_loss: {0.0:.3f}), "
                          f"lr: {opt.current_learning_rate}")
                if callback is not None:
                    callback(done)
        finally:
            if pending:
                done = self._sync(bufs, progress, opt, done, in_python)
        W.leave_attributes(plan, self, ws, bufs, data.x)
        return done

    def _sync(self, bufs, progress, opt, done, in_python):
        """Put a compiled call's results on the layers and the optimizer
        (idempotent: safe to repeat after an interrupt)."""
        ran = int(progress[K.P_EPOCHS])
        if ran:
            bufs.scatter()
            opt.iterations = int(progress[K.P_ITERATION])
            if opt.decay:
                lr_curr = float(progress[K.P_LR_CURR])
                if in_python:  # keep the per-op value's own type
                    lr_curr = opt.learning_rate * (1. / (1. + opt.decay * (opt.iterations - 1)))
                opt.current_learning_rate = lr_curr
            progress[K.P_EPOCHS] = 0
        self._done = done + ran
        return self._done


_threads_launched = False


def _launch_threads():
    """Start Numba's thread pool before the first compiled loop runs.

    The loop is a cached serial function that calls the optimizers'
    ``parallel=True`` kernels; older Numba releases do not start the pool
    when such a caller is loaded from the cache (numba issue 8578; 0.68 does),
    and a large layer's update would then crash.  ``get_num_threads`` starts it
    (once per process; a no-op where Numba does it itself)."""
    global _threads_launched
    if not _threads_launched:
        numba.get_num_threads()
        _threads_launched = True


def _slices(n, batch_size):
    if batch_size is None:
        return [(0, n)]
    batch_size = _positive_int(batch_size, "batch_size", allow_none=True)
    steps = max(1, math.ceil(n / batch_size))
    return [(s * batch_size, min(n, (s + 1) * batch_size)) for s in range(steps)]
