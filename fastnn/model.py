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

Compiled models: any sequence of the ops in ``fastnn.registry.OPS`` (dense
with or without L1/L2 regularization, ReLU, softmax, sigmoid, linear; either
spelling) of one float dtype (float32 or float64), a loss of
``registry.HEADS`` with its accuracy (softmax + cross-entropy with
categorical accuracy, sigmoid + binary cross-entropy with
``Accuracy_Categorical(binary=True)``, linear + squared or absolute error
with ``Accuracy_Regression``), and any optimizer of ``registry.OPTIMIZERS``.
``X`` (and float targets) are converted to the layers' dtype.  Other models
of fastnn's classes run the book's loop over the per-op classes
(``book_loop.py``), as do targets whose dtype would promote the loss (e.g.
float64 targets for float32 layers) and L1/L2 strengths whose type would
promote the gradient terms.

``Layer_Dropout`` compiles too: its masks are drawn in the compiled loop from
NumPy's global generator (the book's masks, bit for bit; the generator left
where the book's loop leaves it, also after Ctrl-C), and evaluation and
inference pass its inputs through.  After training the layer holds the last
step's ``binary_mask`` in the model's dtype (the book's is float64: the same
values in float64 models).  When the global generator is not an MT19937
(``np.random.set_bit_generator``) or a layer's ``rate`` is not a kept fraction
in (0, 1], ``train`` runs the book's loop over the per-op classes instead.
"""
import math

import numpy as np

from ._blas_threads import blas_threads_for
from . import persistence as P
from . import workspace as W
from .kernels import network as N
from .kernels import train as K
from . import book_loop, registry
from .activations import Activation_Softmax
from .losses import Activation_Softmax_Loss_CategoricalCrossentropy, Loss_CategoricalCrossentropy
from .metrics import Accuracy, Accuracy_Categorical, History
from .optimizer_plan import lock_for, optimizer_run
from .plan import AccuracyMismatch, build_plan, check_widths
from .runner import Runner, train_batches, train_epochs

__all__ = ["Model", "Layer_Input", "Accuracy", "Accuracy_Categorical", "History"]



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
        self._finalized = False
        self._epoch_seconds = None

    # -- the book's interface --------------------------------------------------

    def add(self, layer):
        self.layers.append(layer)
        self._plan, self._finalized = None, False

    def set(self, *, loss=None, optimizer=None, accuracy=None):
        if loss is not None:
            self.loss = loss
        if optimizer is not None:
            self.optimizer = optimizer
        if accuracy is not None:
            self.accuracy = accuracy
        self._plan, self._finalized = None, False

    def finalize(self):
        """Check the model and link it as the book does (``prev``/``next``,
        ``trainable_layers``, ``output_layer_activation``,
        ``softmax_classifier_output``).  Raises on anything ``train`` could not run."""
        if self.loss is None:
            raise ValueError("Model has no loss: call model.set(loss=Loss_CategoricalCrossentropy(), "
                             "optimizer=..., accuracy=Accuracy_Categorical()) before finalize()")
        if self.accuracy is None:
            self.accuracy = Accuracy_Categorical()
        try:
            plan = build_plan(self.layers, self.loss, self.accuracy)
        except AccuracyMismatch:
            raise
        except TypeError:
            # layers or a loss the compiled loop does not take yet: the book's
            # loop over fastnn's per-op classes runs them (book_loop.py)
            if not registry.runs_per_op(self.layers, self.loss):
                raise
            plan = None
        if plan is not None:
            if self.optimizer is not None:  # (none: a model for evaluation, chapter 21)
                optimizer_run(self.optimizer)
        elif not isinstance(self.accuracy, Accuracy):
            raise TypeError(f"Model needs one of fastnn's accuracy classes, got "
                            f"{self.accuracy!r}")
        self._plan = plan
        self._finalized = True

        # the book's bookkeeping
        self.input_layer = Layer_Input()
        self.trainable_layers = [l for l in self.layers if hasattr(l, "weights")]
        n = len(self.layers)
        for i, layer in enumerate(self.layers):
            try:
                layer.prev = self.input_layer if i == 0 else self.layers[i - 1]
                layer.next = self.layers[i + 1] if i < n - 1 else self.loss
            except AttributeError:
                pass
        self.output_layer_activation = self.layers[-1]
        if hasattr(self.loss, "remember_trainable_layers"):
            self.loss.remember_trainable_layers(self.trainable_layers)
        if isinstance(self.layers[-1], Activation_Softmax) and \
                isinstance(self.loss, Loss_CategoricalCrossentropy):
            self.softmax_classifier_output = Activation_Softmax_Loss_CategoricalCrossentropy()
        else:
            self.softmax_classifier_output = None

    def train(self, X, y, *, epochs=1, batch_size=None, print_every=1, validation_data=None,
              verbose=True, callback=None):
        """Train on ``(X, y)`` for ``epochs`` epochs, as the book's ``Model.train``.

        Without ``batch_size`` (chapter 18) every epoch is one step on all the
        data, and the line ``epoch: N, acc: A, loss: L (data_loss: D, reg_loss:
        R), lr: LR`` is printed every ``print_every`` epochs.  With
        ``batch_size`` (chapter 19 on) each epoch prints ``epoch: N``, then
        ``step: S, ...`` every ``print_every`` steps and at its last step, then
        ``training, ...`` with the epoch's accumulated loss and accuracy, and
        validates on ``validation_data`` if given.  ``print_every=None`` prints
        no epoch (chapter 18) or step (chapter 19) lines; ``verbose=False``
        prints nothing.

        Steps run in compiled calls of at most about a quarter of a second, so
        Ctrl-C stops training promptly, leaving the layers, the optimizer and
        ``model.history`` consistent with the steps done.  ``callback(epochs)``
        is called at each print point and at the end (chapter 18), or after
        each epoch (chapter 19).  Returns this call's :class:`History` (a row
        per epoch); ``model.history`` accumulates all calls.  Raises before any
        parameter changes on a bad model or bad data.
        """
        plan = self._require_finalized("train")
        epochs = _positive_int(epochs, "epochs", allow_zero=True)
        batch_size = _positive_int(batch_size, "batch_size", allow_none=True)
        print_every = _positive_int(print_every, "print_every", allow_none=True)
        opt = self.optimizer
        if opt is None:
            raise ValueError("Model has no optimizer: call model.set(optimizer=...) and "
                             "model.finalize() before train()")
        if plan is None or not W.dropout_compiles(plan):
            return self._train_general(X, y, epochs, batch_size, print_every, validation_data,
                                       verbose, callback)
        spec, hyper = optimizer_run(opt)
        dt = self._dtype(plan)
        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("validation_data must be a pair (X_val, y_val)") from None
        if not (W.compiles_regularization(plan, dt) and W.compiles_targets(plan, y, dt) and
                (validation_data is None or W.compiles_targets(plan, y_val, dt))):
            return self._train_general(X, y, epochs, batch_size, print_every, validation_data,
                                       verbose, callback)
        data = W.prepare_data(X, y, dt, plan, "X", "y")
        if validation_data is not None:
            W.prepare_data(X_val, y_val, dt, plan, "X_val", "y_val")
        W.check_layers(plan, dt, spec.weight_state, spec.bias_state, writeable=True)
        self.accuracy.init(y)  # the book's: Accuracy_Regression's precision, on the first train
        head_f = self._head_floats(plan)

        history = History(np.arange(1, epochs + 1), np.empty(epochs), np.empty(epochs),
                          np.empty(epochs))
        run = None
        if epochs:
            rows = data.x.shape[0] if batch_size is None else min(batch_size, data.x.shape[0])
            with lock_for(opt), blas_threads_for(plan.max_madds(rows)):
                run = Runner(self, plan, spec, hyper, data, batch_size or max(1, data.x.shape[0]),
                             head_f)
                done = 0
                try:
                    if batch_size is None:
                        done = train_epochs(self, run, epochs, print_every, verbose, callback,
                                            history)
                    else:
                        done = train_batches(self, run, epochs, print_every, validation_data,
                                             verbose, callback, history)
                finally:
                    # also after Ctrl-C: the history holds the epochs the layers hold
                    if done < epochs:
                        done = self._epochs_done
                        history = History(*(c[:done] for c in history.as_dict().values()))
                    self.history = self.history._followed_by(history)
                run.leave_attributes()
        if validation_data is not None and batch_size is None:
            self.evaluate(*validation_data, verbose=verbose)
        return history

    def _train_general(self, X, y, epochs, batch_size, print_every, validation_data, verbose,
                       callback):
        """The book's loop over the per-op classes, for what the plan does not compile."""
        history = History(np.arange(1, epochs + 1), np.empty(epochs), np.empty(epochs),
                          np.empty(epochs))
        self._epochs_done = 0

        def progress(epoch):
            self._epochs_done = epoch
            if callback is not None:
                callback(epoch)

        with lock_for(self.optimizer):
            try:
                book_loop.train(self, X, y, epochs=epochs, batch_size=batch_size,
                                print_every=print_every, validation_data=validation_data,
                                verbose=verbose, callback=progress, history=history)
            finally:
                done = self._epochs_done
                if done < epochs:
                    history = History(*(c[:done] for c in history.as_dict().values()))
                self.history = self.history._followed_by(history)
        return history

    def evaluate(self, X_val, y_val, *, batch_size=None, verbose=True):
        """Loss and accuracy on ``(X_val, y_val)`` without training; prints the
        book's ``validation, acc: A, loss: L`` line and returns ``(loss, accuracy)``.
        With ``batch_size`` the data go through in slices and the results are
        weighted by slice size."""
        plan = self._require_finalized("evaluate")
        if plan is not None and not W.compiles_targets(plan, y_val, self._dtype(plan)):
            plan = None
        if plan is None:
            return book_loop.evaluate(self, X_val, y_val, batch_size=batch_size, verbose=verbose)
        dt = self._dtype(plan)
        data = W.prepare_data(X_val, y_val, dt, plan, "X_val", "y_val")
        W.check_layers(plan, dt)
        bufs = W.Buffers(plan, dt)
        bufs.head_f[:] = self._head_floats(plan)
        bufs.gather()
        net = bufs.network()
        n = data.x.shape[0]
        slices = _slices(n, batch_size)
        ws = W.workspace(plan, max(hi - lo for lo, hi in slices), dt)
        total_loss = total_acc = 0.0
        with blas_threads_for(plan.max_madds(slices[0][1] - slices[0][0])):
            for lo, hi in slices:
                total, hits, _ = K.evaluate_batch(net, ws, W.batch(data, lo, hi))
                if plan.target_head:  # the book's accumulated_sum: np.sum's, in the dtype
                    total_loss = dt.type(total_loss) + dt.type(total)
                else:
                    total_loss += total
                total_acc += float(hits)
        loss = total_loss / (dt.type(n) if plan.target_head else n) if n else float("nan")
        accuracy = total_acc / n if n else float("nan")
        if verbose:
            print(f"validation, acc: {accuracy:.3f}, loss: {loss:.3f}")
        return loss, accuracy

    def predict(self, X, *, batch_size=None):
        """The model's output for ``X`` (class probabilities when it ends in softmax)."""
        plan = self._require_finalized("predict")
        if plan is None:
            return book_loop.predict(self, X, batch_size=batch_size)
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
        if self._finalized:
            try:
                self._plan = build_plan(self.layers, self.loss, self.accuracy)
            except TypeError:
                self._plan = None  # the general path runs it

    def _trainable(self, what):
        layers = getattr(self, "trainable_layers", None)
        if layers is None:
            raise RuntimeError(f"Model.{what}() called before Model.finalize()")
        return layers

    # -- internals ---------------------------------------------------------------

    def _require_finalized(self, what):
        """The compiled plan, or None when the model runs on the general path."""
        if not getattr(self, "_finalized", False):
            raise RuntimeError(f"Model.{what}() called before Model.finalize(): call "
                               f"model.set(loss=..., optimizer=..., accuracy=...) and "
                               f"model.finalize() first (again after add() or set())")
        plan = self._plan
        if plan is None:
            return None
        planned = [int(plan.plain[0, N.C_WIN])] + [int(w) for w in plan.plain[:, N.C_WOUT]]
        if check_widths(plan.op_layers, plan.dense) != planned:
            # weights were replaced by arrays of other shapes: plan again
            plan = self._plan = build_plan(self.layers, self.loss, self.accuracy)
        return plan

    def _head_floats(self, plan):
        """The head's float parameters (``network.HF_*``): Accuracy_Regression's
        precision, which the book's ``init(y)`` sets on the first train."""
        floats = np.empty(N.N_HEAD_F, np.float64)
        floats.fill(np.nan)
        if plan.regression:
            precision = self.accuracy.precision
            if precision is None:
                raise TypeError("Accuracy_Regression has no precision yet: the book sets it "
                                "from the training targets on the first train() "
                                "(accuracy.init(y)); train first, or call "
                                "model.accuracy.init(y) with the targets")
            floats[N.HF_PRECISION] = float(precision)
        return floats

    @staticmethod
    def _dtype(plan):
        return W.model_dtype(plan)


def _slices(n, batch_size):
    if batch_size is None:
        return [(0, n)]
    batch_size = _positive_int(batch_size, "batch_size", allow_none=True)
    steps = max(1, math.ceil(n / batch_size))
    return [(s * batch_size, min(n, (s + 1) * batch_size)) for s in range(steps)]
