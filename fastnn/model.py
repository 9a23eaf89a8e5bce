"""The book's chapter-18 ``Model``, with the training loop compiled.

``Model`` keeps the book's interface -- ``add``, ``set``, ``finalize``,
``train``, ``evaluate``, ``predict`` -- and the book's print line.  ``train``
runs all the epochs between two progress prints in one call of the compiled
loop of ``fastnn.kernels.train``, which calls the same kernels as the per-op
classes, in the same order: afterwards the layers' weights and biases, the
optimizer's state arrays (``weight_momentums``, ``weight_cache``, ...), its
iteration count and current learning rate hold what the per-op loop would have
left, and training can go on with either.

This module is thin: it checks the model and the data (raising before anything
is written), lays the layers out as arrays for the compiled loop, runs it, and
puts the results back on the layer and optimizer objects.

Supported models: any sequence of ``Layer_Dense``, ``Activation_ReLU`` and
``Activation_Softmax`` (either spelling) of one float dtype (float32 or
float64), with ``Loss_CategoricalCrossentropy`` (or
``Activation_Softmax_Loss_CategoricalCrossentropy``) as the loss, categorical
accuracy, and any of the four optimizers.  As in the book, a final softmax with
cross-entropy uses the combined backward.  ``X`` is converted to the layers'
dtype (under ``nnfs.init()`` everything is float32 anyway).
"""
import math

import numba
import numpy as np

from ._arrays import F32, F64, as_array
from .activations import Activation_ReLU, Activation_Softmax
from .kernels import train as K
from .layers import Layer_Dense
from .losses import Activation_Softmax_Loss_CategoricalCrossentropy, Loss_CategoricalCrossentropy
from .optimizers import (Optimizer_Adagrad, Optimizer_Adam, Optimizer_RMSprop, Optimizer_SGD,
                         _Optimizer)

__all__ = ["Model", "Layer_Input", "Accuracy", "Accuracy_Categorical", "History"]


# --------------------------------------------------------------- book helpers

class Layer_Input:
    """The book's input "layer": its output is the model's input."""

    def forward(self, inputs, training=False):
        self.output = inputs


class Accuracy:
    """The book's accuracy base class: the mean of ``compare``."""

    def calculate(self, predictions, y):
        comparisons = self.compare(predictions, y)
        return np.mean(comparisons)


class Accuracy_Categorical(Accuracy):
    """Share of predicted class indices equal to the labels (one-hot labels are argmax-ed).

    ``Model`` computes it inside the compiled loop, on the argmax of the
    model's output; ``binary=True`` (the book's logistic-regression variant) is
    usable on its own but not by ``Model``, which has no sigmoid output.
    """

    def __init__(self, *, binary=False):
        self.binary = binary

    def init(self, y, reinit=False):
        pass

    def compare(self, predictions, y):
        y = np.asarray(y)
        if not self.binary and len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        return predictions == y


class History:
    """Per-epoch record of ``Model.train``: four float64/int64 arrays of one length.

    ``epoch`` counts from 1, ``loss`` and ``accuracy`` are those of the epoch's
    forward pass (before its update, as the book prints them) and ``lr`` is the
    learning rate its update used (the book's printed ``lr``).
    """

    COLUMNS = ("epoch", "loss", "accuracy", "lr")

    def __init__(self, epoch=None, loss=None, accuracy=None, lr=None):
        # np.empty, not np.zeros: nnfs.init() makes np.zeros return float32
        self.epoch = np.empty(0, np.int64) if epoch is None else np.asarray(epoch, np.int64)
        self.loss = np.empty(0) if loss is None else np.asarray(loss, np.float64)
        self.accuracy = np.empty(0) if accuracy is None else np.asarray(accuracy, np.float64)
        self.lr = np.empty(0) if lr is None else np.asarray(lr, np.float64)

    def __len__(self):
        return len(self.epoch)

    def __getitem__(self, column):
        if column not in self.COLUMNS:
            raise KeyError(f"History has columns {self.COLUMNS}, not {column!r}")
        return getattr(self, column)

    def as_dict(self):
        return {c: getattr(self, c) for c in self.COLUMNS}

    def __repr__(self):
        if not len(self):
            return "History(0 epochs)"
        return (f"History({len(self)} epochs, last: epoch {self.epoch[-1]}, "
                f"loss {self.loss[-1]:.3f}, accuracy {self.accuracy[-1]:.3f}, lr {self.lr[-1]})")

    def _followed_by(self, other):
        """This history with ``other`` appended, its epochs renumbered to continue."""
        offset = int(self.epoch[-1]) if len(self) else 0
        return History(np.concatenate([self.epoch, other.epoch + offset]),
                       np.concatenate([self.loss, other.loss]),
                       np.concatenate([self.accuracy, other.accuracy]),
                       np.concatenate([self.lr, other.lr]))


# ------------------------------------------------------------- optimizer plan

# class, its kernel code (SGD depends on momentum), state names on weights, on biases
_OPTIMIZERS = (
    (Optimizer_Adam, K.OPT_ADAM, ("weight_momentums", "weight_cache"),
     ("bias_momentums", "bias_cache")),
    (Optimizer_RMSprop, K.OPT_RMSPROP, ("weight_cache",), ("bias_cache",)),
    (Optimizer_Adagrad, K.OPT_ADAGRAD, ("weight_cache",), ("bias_cache",)),
    (Optimizer_SGD, K.OPT_SGD, (), ()),
)


def _optimizer_plan(opt):
    """``(kernel code, weight state names, bias state names, hyper array)`` of ``opt``."""
    for cls, code, wnames, bnames in _OPTIMIZERS:
        if isinstance(opt, cls):
            break
    else:
        raise TypeError(
            f"Model.set(optimizer=...) needs one of fastnn's optimizers (SGD/Optimizer_SGD, "
            f"AdaGrad/Optimizer_Adagrad, RMSProp/Optimizer_RMSprop, Adam/Optimizer_Adam), "
            f"got {type(opt).__module__}.{type(opt).__name__}")
    for hook, base in (("update_params", cls), ("pre_update_params", _Optimizer),
                       ("post_update_params", _Optimizer)):
        if getattr(type(opt), hook) is not getattr(base, hook):
            raise TypeError(
                f"{type(opt).__name__} overrides {hook}(); Model.train runs the built-in "
                f"{cls.__name__} rule in compiled code and cannot call Python overrides")

    def number(name, default=0.0):
        value = getattr(opt, name, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(f"optimizer.{name} must be a number, got {value!r}") from None

    momentum = number("momentum") if cls is Optimizer_SGD else 0.0
    if cls is Optimizer_SGD and opt.momentum:
        code, wnames, bnames = K.OPT_SGD_MOMENTUM, ("weight_momentums",), ("bias_momentums",)
    hyper = np.empty(K.N_HYPER, np.float64)
    hyper[K.H_LR] = number("lr")
    hyper[K.H_DECAY] = number("decay")
    hyper[K.H_MOMENTUM] = momentum
    hyper[K.H_EPSILON] = number("epsilon")
    hyper[K.H_RHO] = number("rho")
    hyper[K.H_BETA1] = number("beta_1")
    hyper[K.H_BETA2] = number("beta_2")
    number("lr_curr")
    iteration = opt.iteration
    if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)) \
            or iteration < 0:
        raise TypeError(f"optimizer.iterations must be a non-negative integer, got {iteration!r}")
    return code, wnames, bnames, hyper


# ---------------------------------------------------------------- array checks

def _describe(layer, index):
    return f"layer {index} ({type(layer).__name__})"


def _check_array(arr, what, dt, shapes, writeable=True):
    """``arr`` must be an ndarray (writeable if asked) of dtype ``dt`` with one of ``shapes``."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what} must be a NumPy array, got {type(arr).__name__}")
    if arr.dtype != dt:
        raise TypeError(f"{what} has dtype {arr.dtype}, but the model computes in {dt} "
                        f"(the first dense layer's weights); weights, biases and optimizer "
                        f"state must all share it")
    if arr.shape not in shapes:
        raise ValueError(f"{what} has shape {arr.shape}, expected {shapes[0]}")
    if writeable and not arr.flags.writeable:
        raise ValueError(f"{what} is read-only (shape {arr.shape}); training updates it "
                         f"in place, as the per-op optimizer's `+=` does")


def _fresh_state(layer, wnames):
    """Whether the optimizer starts this layer's state from zeros.

    As the per-op optimizers (and the reference's ``hasattr`` test) decide:
    when the optimizer's marker array (its last weight state, ``weight_cache``
    or SGD's ``weight_momentums``) is missing, all of its state is created
    anew, even arrays another optimizer left on the layer."""
    return not wnames or getattr(layer, wnames[-1], None) is None


def _kernel_view(arr, shape, writebacks):
    """A C-contiguous 2-D view of ``arr`` for the kernels, or a contiguous copy
    that is recorded in ``writebacks`` to be copied back after training."""
    if arr.flags.c_contiguous:
        return arr.reshape(shape)
    work = np.ascontiguousarray(arr).reshape(shape)
    writebacks.append((arr, work))
    return work


def _arrays(arrays):
    """A tuple of arrays for the compiled loop.

    A tuple, not a ``numba.typed.List``: indexing a typed list costs ~30 ns
    (a C call and a reference count), ~50 times per epoch, which measured 15%
    of a 2-64-3 epoch; a tuple index is a jump table.  The price is one
    compilation per network depth, cached on disk like every kernel."""
    return tuple(arrays)


# ----------------------------------------------------------------------- Model

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
        combined_loss = isinstance(self.loss, Activation_Softmax_Loss_CategoricalCrossentropy)
        if not (combined_loss or isinstance(self.loss, Loss_CategoricalCrossentropy)):
            raise TypeError(f"Model supports fastnn's Loss_CategoricalCrossentropy (or "
                            f"CategoricalCrossEntropy) as the loss, got "
                            f"{type(self.loss).__module__}.{type(self.loss).__name__}")
        _optimizer_plan(self.optimizer)
        if not self.layers:
            raise ValueError("Model has no layers: add some with model.add(...)")

        ops, dense = [], []
        seen = set()
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Layer_Dense):
                if id(layer) in seen:
                    raise ValueError(f"{_describe(layer, i)} was added twice; each dense layer "
                                     f"object can appear once")
                seen.add(id(layer))
                ops.append(K.OP_DENSE)
                dense.append(layer)
            elif isinstance(layer, Activation_ReLU):
                ops.append(K.OP_RELU)
            elif isinstance(layer, Activation_Softmax):
                ops.append(K.OP_SOFTMAX)
            else:
                raise TypeError(
                    f"{_describe(layer, i)} is not supported: Model takes fastnn's Layer_Dense/"
                    f"DenseLayer, Activation_ReLU/ReLU and Activation_Softmax/SoftMax")
        if not dense:
            raise ValueError("Model has no dense layer: there is nothing to train")

        # the book: a final softmax with cross-entropy trains with the combined backward
        head_layer = None
        if combined_loss:
            loss_kind = K.LOSS_SOFTMAX_CCE
        elif ops[-1] == K.OP_SOFTMAX:
            loss_kind = K.LOSS_SOFTMAX_CCE
            head_layer = self.layers[-1]
            ops = ops[:-1]
        else:
            loss_kind = K.LOSS_CCE
        if not ops:
            raise ValueError("Model needs a layer before its final softmax")

        plan = dict(ops=np.array(ops, np.int64), dense=dense, loss_kind=loss_kind,
                    head_layer=head_layer, op_layers=self.layers[:len(ops)])
        self._check_widths(plan)
        self._plan = plan

        # the book's bookkeeping
        self.input_layer = Layer_Input()
        self.trainable_layers = list(dense)
        n = len(self.layers)
        for i, layer in enumerate(self.layers):
            try:
                layer.prev = self.input_layer if i == 0 else self.layers[i - 1]
                layer.next = self.layers[i + 1] if i < n - 1 else self.loss
            except AttributeError:
                pass
        self.output_layer_activation = self.layers[-1]
        if loss_kind == K.LOSS_SOFTMAX_CCE and not combined_loss:
            self.softmax_classifier_output = Activation_Softmax_Loss_CategoricalCrossentropy()
        else:
            self.softmax_classifier_output = None

    def train(self, X, y, *, epochs=1, print_every=1, validation_data=None, verbose=True,
              callback=None):
        """Train on the full batch ``(X, y)`` for ``epochs`` epochs.

        Prints the book's line ``epoch: N, acc: A, loss: L, lr: R`` after every
        ``print_every``-th epoch (``print_every=None``: never); the epochs in
        between run in one compiled call.  ``verbose=False`` silences the prints,
        and ``callback(epochs_done)`` is called after each compiled call (e.g. to
        move a progress bar).  With ``validation_data=(X_val, y_val)`` the model
        is evaluated after training, as in the book.

        Returns this call's :class:`History`; ``model.history`` accumulates all calls.
        Raises before any parameter changes on a bad model or bad data.
        """
        plan = self._require_finalized("train")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        epochs = int(epochs)
        if print_every is not None:
            if (isinstance(print_every, bool) or not isinstance(print_every, (int, np.integer))
                    or print_every < 1):
                raise ValueError(f"print_every must be a positive integer (or None), got "
                                 f"{print_every!r}")
            print_every = int(print_every)
        opt = self.optimizer
        code, wnames, bnames, hyper = _optimizer_plan(opt)
        dt = self._check_widths(plan)
        x, labels, onehot = self._data(X, y, dt, plan, "X", "y")
        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise ValueError("validation_data must be a pair (X_val, y_val)") from None
            self._data(X_val, y_val, dt, plan, "X_val", "y_val")

        self._check_layers(plan, dt, wnames, bnames, writeable=True)

        history = History(np.arange(1, epochs + 1), np.empty(epochs), np.empty(epochs),
                          np.empty(epochs))
        if epochs:
            self._run(plan, code, wnames, bnames, hyper, x, labels, onehot, epochs,
                      print_every, verbose, callback, history)
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
        dt = self._check_widths(plan)
        x, labels, onehot = self._data(X_val, y_val, dt, plan, "X_val", "y_val")
        self._check_layers(plan, dt)
        weights, biases = self._params(plan)
        n = x.shape[0]
        total_loss = total_acc = 0.0
        for lo, hi in _slices(n, batch_size):
            xb = x[lo:hi]
            outputs, head, _ = self._forward_buffers(plan, xb.shape[0], dt)
            sample_losses = np.empty(hi - lo, dt)
            oh = onehot[lo:hi] if onehot.shape[0] else onehot
            loss, acc, _ = K.evaluate_batch(
                xb, labels[lo:hi], oh, onehot.shape[0] > 0, plan["ops"], self._layer_of(plan),
                weights, biases, outputs, head, sample_losses, plan["loss_kind"])
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
        dt = self._check_widths(plan)
        x = self._inputs(X, dt, plan, "X")
        self._check_layers(plan, dt)
        weights, biases = self._params(plan)
        softmax_head = plan["loss_kind"] == K.LOSS_SOFTMAX_CCE
        parts = []
        for lo, hi in _slices(x.shape[0], batch_size):
            outputs, head, _ = self._forward_buffers(plan, hi - lo, dt)
            K.predict_batch(x[lo:hi], plan["ops"], self._layer_of(plan), weights, biases,
                            outputs, softmax_head, head)
            parts.append(head if softmax_head else outputs[len(outputs) - 1])
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty((0, self._width_out(plan)), dt)

    # -- checks ------------------------------------------------------------------

    def _require_finalized(self, what):
        if self._plan is None:
            raise RuntimeError(f"Model.{what}() called before Model.finalize(): call "
                               f"model.set(loss=..., optimizer=..., accuracy=...) and "
                               f"model.finalize() first (again after add() or set())")
        return self._plan

    @staticmethod
    def _check_widths(plan):
        """The model dtype; raises unless the dense layers' shapes chain."""
        dense = plan["dense"]
        first = dense[0].weights
        dt = getattr(first, "dtype", None)
        if dt not in (F32, F64):
            raise TypeError(f"the first dense layer's weights have dtype {dt}; Model trains "
                            f"float32 or float64 layers")
        prev = None
        for i, layer in enumerate(plan["op_layers"]):
            if not isinstance(layer, Layer_Dense):
                continue
            w = layer.weights
            if not isinstance(w, np.ndarray) or w.ndim != 2:
                raise ValueError(f"{_describe(layer, i)} weights must be a 2-D array "
                                 f"(n_inputs, n_neurons), got {np.shape(w)}")
            if prev is not None and w.shape[0] != prev[1].shape[1]:
                raise ValueError(
                    f"layer widths do not chain: {_describe(prev[0], prev[2])} outputs "
                    f"{prev[1].shape[1]} values (weights {prev[1].shape}) but "
                    f"{_describe(layer, i)} takes {w.shape[0]} (weights {w.shape})")
            prev = (layer, w, i)
        return dt

    @staticmethod
    def _check_layers(plan, dt, wnames=(), bnames=(), writeable=False):
        """Every dense layer's parameters and existing optimizer state (named
        ``wnames``/``bnames``) must be arrays of the model dtype and of their
        parameter's shape; writeable too when training will update them."""
        for k, layer in enumerate(plan["dense"]):
            w, b = layer.weights, layer.biases
            what = f"dense layer {k} ({type(layer).__name__})"
            _check_array(w, f"{what} weights", dt, (w.shape,), writeable)
            _check_array(b, f"{what} biases", dt, ((1, w.shape[1]),), writeable)
            if _fresh_state(layer, wnames):
                continue  # any state arrays there will be replaced, not used
            for names, param in ((wnames, w), (bnames, b)):
                for name in names:
                    state = getattr(layer, name, None)
                    if state is not None:
                        _check_array(state, f"{what} {name}", dt, (param.shape,), writeable)

    @staticmethod
    def _width_out(plan):
        return plan["dense"][-1].weights.shape[1]

    def _inputs(self, X, dt, plan, what):
        x = as_array(X, what)
        if x.ndim != 2:
            raise ValueError(f"{what} must be a 2-D array (samples, features), got shape "
                             f"{x.shape}")
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{what} must hold numbers, got dtype {x.dtype}")
        n_in = plan["dense"][0].weights.shape[0]
        if x.shape[1] != n_in:
            raise ValueError(f"{what} has {x.shape[1]} features (shape {x.shape}) but the first "
                             f"dense layer takes {n_in} (weights "
                             f"{plan['dense'][0].weights.shape})")
        if x.dtype != dt or not x.flags.c_contiguous or not x.flags.writeable:
            x = np.array(x, dtype=dt, order="C")
        return x

    def _data(self, X, y, dt, plan, xname, yname):
        """``(x, labels, onehot)`` in the forms the compiled loop takes."""
        x = self._inputs(X, dt, plan, xname)
        n = x.shape[0]
        c = self._width_out(plan)
        yy = as_array(y, yname)
        if yy.ndim not in (1, 2):
            raise ValueError(f"{yname} must be class indices of shape ({n},) or one-hot rows "
                             f"of shape ({n}, {c}), got shape {yy.shape}")
        if yy.shape[0] != n:
            raise ValueError(f"{xname} has {n} samples but {yname} has {yy.shape[0]} labels")
        if yy.ndim == 1:
            if yy.dtype.kind not in "iu":
                raise TypeError(f"{yname} must hold integer class indices, got dtype {yy.dtype}")
            if n:
                bad = np.flatnonzero((yy < 0) | (yy >= c))
                if bad.size:
                    raise ValueError(f"{yname} has a class index out of range [0, {c}): "
                                     f"{yname}[{bad[0]}] = {yy[bad[0]]} (the model has {c} "
                                     f"outputs)")
            return x, np.ascontiguousarray(yy, dtype=np.int64), np.empty((0, 0), dt)
        if yy.shape[1] != c:
            raise ValueError(f"{yname} one-hot labels have shape {yy.shape}, expected ({n}, {c}) "
                             f"for a model with {c} outputs")
        if yy.dtype.kind not in "biuf":
            raise TypeError(f"{yname} must hold numbers, got dtype {yy.dtype}")
        labels = np.ascontiguousarray(np.argmax(yy, axis=1), dtype=np.int64)
        return x, labels, np.array(yy, dtype=dt, order="C")

    # -- arrays for the compiled loop ----------------------------------------------

    @staticmethod
    def _layer_of(plan):
        layer_of = np.full(len(plan["ops"]), -1, np.int64)
        layer_of[plan["ops"] == K.OP_DENSE] = np.arange(len(plan["dense"]))
        return layer_of

    @staticmethod
    def _params(plan, writebacks=None):
        wb = [] if writebacks is None else writebacks
        weights = [_kernel_view(l.weights, l.weights.shape, wb) for l in plan["dense"]]
        biases = [_kernel_view(l.biases, l.biases.shape, wb) for l in plan["dense"]]
        return _arrays(weights), _arrays(biases)

    @staticmethod
    def _forward_buffers(plan, n, dt):
        """Each op's output buffer, the head's (probabilities) and the ops' input widths."""
        widths_in, outputs = [], []
        width = plan["dense"][0].weights.shape[0]
        k = 0
        for code in plan["ops"]:
            widths_in.append(width)
            if code == K.OP_DENSE:
                width = plan["dense"][k].weights.shape[1]
                k += 1
            outputs.append(np.empty((n, width), dt))
        head = np.empty((n, width), dt)
        return _arrays(outputs), head, widths_in

    def _run(self, plan, code, wnames, bnames, hyper, x, labels, onehot, epochs, print_every,
             verbose, callback, history):
        opt = self.optimizer
        dt = x.dtype
        n = x.shape[0]
        dense = plan["dense"]
        # the state the per-op optimizer would create on its first update
        for layer in dense:
            fresh = _fresh_state(layer, wnames)
            for names, param in ((wnames, layer.weights), (bnames, layer.biases)):
                for name in names:
                    if fresh or getattr(layer, name, None) is None:
                        setattr(layer, name, np.zeros_like(param))

        writebacks = []
        weights, biases = self._params(plan, writebacks)
        empty = np.empty((0, 0), dt)

        def state(names, j, shape_of):
            if len(names) <= j:
                return _arrays([empty] * len(dense))
            return _arrays([_kernel_view(getattr(l, names[j]), shape_of(l), writebacks)
                                for l in dense])

        w_shape = lambda l: l.weights.shape  # noqa: E731
        b_shape = lambda l: l.biases.shape  # noqa: E731
        wstate1, wstate2 = state(wnames, 0, w_shape), state(wnames, 1, w_shape)
        bstate1, bstate2 = state(bnames, 0, b_shape), state(bnames, 1, b_shape)
        _launch_threads()
        dweights = _arrays([np.empty(l.weights.shape, dt) for l in dense])
        dbiases = _arrays([np.empty((1, l.weights.shape[1]), dt) for l in dense])
        outputs, head, widths_in = self._forward_buffers(plan, n, dt)
        dinputs = _arrays([np.empty((n, w), dt) for w in widths_in])
        dhead = np.empty_like(head)
        sample_losses = np.empty(n, dt)
        ops, layer_of = plan["ops"], self._layer_of(plan)
        dense_labels = onehot.shape[0] > 0

        lr_curr = float(opt.lr_curr)
        iteration = int(opt.iteration)
        decay = bool(opt.decay)
        done = 0
        try:
            while done < epochs:
                stop = epochs if print_every is None else \
                    min(epochs, (done // print_every + 1) * print_every)
                lr_curr, iteration, bad = K.train_epochs(
                    x, labels, onehot, dense_labels, ops, layer_of, weights, biases,
                    dweights, dbiases, wstate1, wstate2, bstate1, bstate2, outputs, dinputs,
                    head, dhead, sample_losses, plan["loss_kind"], code, hyper, lr_curr,
                    iteration, stop - done, history.loss[done:stop], history.accuracy[done:stop],
                    history.lr[done:stop])
                if bad >= 0:  # unreachable: labels were checked; kept as a guard
                    raise ValueError(f"label y[{bad}] out of range")
                opt.iteration = iteration
                if decay:
                    opt.lr_curr = float(lr_curr)
                done = stop
                if verbose and print_every is not None and done % print_every == 0:
                    lr_shown = opt.lr_curr
                    print(f"epoch: {done}, acc: {history.accuracy[done - 1]:.3f}, "
                          f"loss: {history.loss[done - 1]:.3f}, lr: {lr_shown}")
                if callback is not None:
                    callback(done)
        finally:
            for orig, work in writebacks:
                orig[...] = work.reshape(orig.shape)
            if done:
                self._leave_attributes(plan, x, outputs, dinputs, head, dhead, dweights,
                                       dbiases)

    def _leave_attributes(self, plan, x, outputs, dinputs, head, dhead, dweights, dbiases):
        """What the per-op loop leaves on the layers after its last epoch."""
        self.input_layer.output = x
        k = 0
        for i, layer in enumerate(plan["op_layers"]):
            layer.inputs = x if i == 0 else outputs[i - 1]
            layer.output = outputs[i]
            layer.dinputs = dinputs[i]
            if plan["ops"][i] == K.OP_DENSE:
                layer.dweights = dweights[k]
                layer.dbiases = dbiases[k]
                k += 1
        last = outputs[len(outputs) - 1]
        if plan["loss_kind"] == K.LOSS_SOFTMAX_CCE:
            combined = self.softmax_classifier_output or self.loss
            combined.activation.inputs = last
            combined.activation.output = head
            combined.output = head
            combined.dinputs = dhead
            if plan["head_layer"] is not None:
                plan["head_layer"].inputs = last
                plan["head_layer"].output = head
                plan["head_layer"].dinputs = dhead
        else:
            self.loss.dinputs = dhead


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
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    steps = max(1, math.ceil(n / batch_size))
    return [(s * batch_size, min(n, (s + 1) * batch_size)) for s in range(steps)]
