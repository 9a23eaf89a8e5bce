"""The arrays a compiled ``Model`` runs on: flat buffers, the workspace and the data.

Parameters, gradients and optimizer state are gathered from the layers into
flat buffers (the layout of ``fastnn.kernels.network``) before a compiled
call and scattered back after it.  The layers keep their own arrays: the
reference's optimizers update ``layer.weights`` and its state in place
(``+=``), so user code holding those arrays, of any memory order, sees them
change as it would with the per-op classes.  A copy in and out per compiled
call costs a few microseconds, against milliseconds of training per call.
"""
import numpy as np

from ._arrays import LabelError, as_array, label_error
from .kernels import network as N
from .kernels import random as _random

__all__ = ["Buffers", "workspace", "prepare_inputs", "prepare_data", "check_layers",
           "fresh_state"]


def _param_views(buf, plan):
    """Each dense layer's ``(weights, biases)`` as views of the flat buffer ``buf``."""
    views = []
    for layer, off in zip(plan.dense, plan.param_offsets):
        k, n = layer.weights.shape
        views.append((buf[off:off + k * n].reshape(k, n),
                      buf[off + k * n:off + (k + 1) * n].reshape(1, n)))
    return views


class Buffers:
    """Flat parameters, gradients and up to two optimizer state arrays, with
    per-layer views, for one plan in one dtype."""

    def __init__(self, plan, dt, weight_state=(), bias_state=()):
        size = plan.n_params
        self.plan = plan
        self.params = np.empty(size, dt)
        self.grads = np.empty(size, dt)
        self.state = [np.empty(size if j < len(weight_state) else 0, dt) for j in range(2)]
        self.names = list(zip(weight_state, bias_state))
        self.param_views = _param_views(self.params, plan)
        self.grad_views = _param_views(self.grads, plan)
        self.state_views = [_param_views(s, plan) for s in self.state[:len(self.names)]]
        # (np.empty, then filled: nnfs.init() makes np.zeros float32)
        self.reg = np.empty((len(plan.dense), N.N_REG), np.float64)
        self.reg.fill(0.0)
        self.head_f = np.empty(N.N_HEAD_F, np.float64)
        self.head_f.fill(np.nan)

    def network(self):
        p = self.plan
        return N.Network(p.fused, p.plain, p.head, self.params, self.grads, *self.state,
                         self.reg, self.head_f)

    def take_regularization(self):
        """The layers' L1/L2 strengths as they are now, into the table (a row per
        dense layer: the backward's terms, then the penalty's strengths)."""
        dt = self.params.dtype
        for k, layer in enumerate(self.plan.dense):
            reg = getattr(layer, "_reg", None)
            row = self.reg[k]
            row.fill(0.0)
            if reg is not None:
                row[N.R_KERNEL:N.R_KERNEL + 4] = reg.kernel_args[dt]
                row[N.R_PENALTY:N.R_PENALTY + 4] = [float(v) if a else 0.0
                                                    for v, a in zip(reg.values, reg.active)]

    def _pairs(self):
        """(layer array, buffer view) of every parameter and state array."""
        for k, layer in enumerate(self.plan.dense):
            w, b = self.param_views[k]
            yield layer.weights, w
            yield layer.biases, b
            for (wname, bname), views in zip(self.names, self.state_views):
                yield getattr(layer, wname), views[k][0]
                yield getattr(layer, bname), views[k][1]

    def gather(self):
        for mine, flat in self._pairs():
            flat[...] = mine

    def scatter(self):
        for mine, flat in self._pairs():
            mine[...] = flat


def workspace(plan, n, dt):
    """A fresh workspace for batches of up to ``n`` rows.

    Its generator state is empty (evaluation and inference draw nothing);
    ``with_generator`` points a training workspace at NumPy's global one."""
    rates = np.array([_kept_fraction(layer) for layer in plan.dropout], np.float64)
    return N.Workspace(np.empty(n * plan.n_columns, dt), np.empty(n * plan.n_columns, dt),
                       np.empty(n, dt), _NO_KEY, _NO_POS, rates)


_NO_KEY = np.empty(0, np.uint32)   # the types of the generator's state views
_NO_POS = np.empty(0, np.int32)


def _kept_fraction(layer):
    """The dropout layer's ``rate`` (the book's kept fraction) as the float the
    per-op layer draws with, or NaN when the compiled loop cannot draw with it."""
    p = getattr(layer, "rate", None)
    if not isinstance(p, _random._FAST_P):
        return np.nan
    p = float(p)
    return p if 0.0 < p <= 1.0 else np.nan


def dropout_compiles(plan):
    """Whether the compiled loop can draw this plan's dropout masks now: every
    kept fraction in (0, 1] (p = 0 is the book's 0 / 0 mask, with NumPy's
    warning) and NumPy's global generator an MT19937 whose state the kernels
    can reach (``kernels/random.py``); otherwise the per-op loop runs, which
    falls back to ``np.random.binomial`` itself."""
    if not plan.dropout:
        return True
    if any(np.isnan(_kept_fraction(layer)) for layer in plan.dropout):
        return False
    views = _random.global_mt19937()
    return views is not None and 0 <= int(views[2][0]) <= 624


def with_generator(ws):
    """``(ws, bit_generator)``: ``ws`` pointing at the global generator's live
    state, so that the compiled loop advances ``np.random`` in place as
    ``np.random.binomial`` would (hold ``bit_generator.lock`` meanwhile).
    Raises if the generator cannot be reached (see ``dropout_compiles``)."""
    views = _random.global_mt19937()
    if views is None or not 0 <= int(views[2][0]) <= 624:
        raise RuntimeError("NumPy's global generator changed during Model.train to one the "
                           "compiled dropout cannot draw from (not an MT19937, or a state "
                           "position outside 0..624)")
    bitgen, key, pos = views
    return ws._replace(rng_key=key, rng_pos=pos), bitgen


def fresh_state(layer, weight_state):
    """Whether the optimizer starts this layer's state from zeros.

    As the per-op optimizers (and the reference's ``hasattr`` test) decide:
    when the optimizer's marker array (its last weight state, ``weight_cache``
    or SGD's ``weight_momentums``) is missing, all of its state is created
    anew, even arrays another optimizer left on the layer."""
    return not weight_state or getattr(layer, weight_state[-1], None) is None


def _check_array(arr, what, dt, shape, writeable):
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{what} must be a NumPy array, got {type(arr).__name__}")
    if arr.dtype != dt:
        raise TypeError(f"{what} has dtype {arr.dtype}, but the model computes in {dt} "
                        f"(the first dense layer's weights); weights, biases and optimizer "
                        f"state must all share it")
    if arr.shape != shape:
        raise ValueError(f"{what} has shape {arr.shape}, expected {shape}")
    if writeable and not arr.flags.writeable:
        raise ValueError(f"{what} is read-only (shape {arr.shape}); training updates it "
                         f"in place, as the per-op optimizer's `+=` does")


def check_layers(plan, dt, weight_state=(), bias_state=(), writeable=False):
    """Every dense layer's parameters and the optimizer state it will use must be
    arrays of the model dtype and of their parameter's shape; writeable too
    when training will update them."""
    for k, layer in enumerate(plan.dense):
        w, b = layer.weights, layer.biases
        what = f"dense layer {k} ({type(layer).__name__})"
        _check_array(w, f"{what} weights", dt, w.shape, writeable)
        _check_array(b, f"{what} biases", dt, (1, w.shape[1]), writeable)
        if fresh_state(layer, weight_state):
            continue  # any state arrays there will be replaced, not used
        for names, param in ((weight_state, w), (bias_state, b)):
            for name in names:
                state = getattr(layer, name, None)
                if state is not None:
                    _check_array(state, f"{what} {name}", dt, param.shape, writeable)


def model_dtype(plan):
    dt = getattr(plan.dense[0].weights, "dtype", None)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"the first dense layer's weights have dtype {dt}; Model trains "
                        f"float32 or float64 layers")
    return np.dtype(dt)


def prepare_inputs(X, dt, plan, what):
    """``X`` as a C-contiguous array of the model dtype (a copy unless it is one)."""
    x = as_array(X, what)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (samples, features), got shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers, got dtype {x.dtype}")
    first = plan.dense[0]
    if x.shape[1] != plan.n_inputs:
        raise ValueError(f"{what} has {x.shape[1]} features (shape {x.shape}) but the first "
                         f"dense layer takes {plan.n_inputs} (weights {first.weights.shape})")
    if x.dtype != dt or not x.flags.c_contiguous or not x.flags.writeable:
        x = np.array(x, dtype=dt, order="C")
    return x


def compiles_regularization(plan, dt):
    """Whether every dense layer's L1/L2 terms compute in ``dt`` as the per-op
    backward computes them (a strength whose type would promote the terms,
    e.g. an np.float64 one on float32 layers, runs on the general path)."""
    return all(getattr(l, "_reg", None) is None or dt in l._reg.kernel_args
               for l in plan.dense)


def compiles_targets(plan, y, dt):
    """Whether the targets ``y`` of a BCE/MSE/MAE head keep the model dtype in
    the book's expressions (else NumPy would promote the loss and its
    gradient, as the general path does)."""
    if not plan.target_head:
        return True
    dtype = getattr(y, "dtype", None)
    if dtype is None:
        dtype = np.asarray(y).dtype
    return dtype.kind in "biuf" and np.result_type(dt, dtype) == dt


def prepare_data(X, y, dt, plan, xname, yname):
    """``N.Data(x, labels, onehot, targets)`` in the forms the compiled loop takes."""
    x = prepare_inputs(X, dt, plan, xname)
    n, c = x.shape[0], plan.n_outputs
    yy = as_array(y, yname)
    if plan.target_head:
        return N.Data(x, np.empty(0, np.int64), np.empty((0, 0), dt),
                      _prepare_targets(yy, dt, plan, n, c, xname, yname))
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
                raise label_error(yy, int(bad[0]), c, f"{yname} (the model has {c} outputs)")
        return N.Data(x, np.ascontiguousarray(yy, dtype=np.int64), np.empty((0, 0), dt),
                      np.empty((0, 0), dt))
    if yy.shape[1] != c:
        raise ValueError(f"{yname} one-hot labels have shape {yy.shape}, expected ({n}, {c}) "
                         f"for a model with {c} outputs")
    if yy.dtype.kind not in "biuf":
        raise TypeError(f"{yname} must hold numbers, got dtype {yy.dtype}")
    labels = np.ascontiguousarray(np.argmax(yy, axis=1), dtype=np.int64)
    return N.Data(x, labels, np.array(yy, dtype=dt, order="C"), np.empty((0, 0), dt))


def _prepare_targets(yy, dt, plan, n, c, xname, yname):
    """Targets of the predictions' shape ``(n, c)``, as the model dtype, for
    binary cross-entropy (integer labels 0 or 1, or float targets) and the
    squared/absolute errors."""
    kind = int(plan.head[N.H_KIND])
    what = {N.LOSS_BCE: "binary cross-entropy", N.LOSS_MSE: "mean squared error",
            N.LOSS_MAE: "mean absolute error"}[kind]
    if yy.shape != (n, c):
        hint = (" (one output per sample: reshape the targets with y.reshape(-1, 1), as the "
                "book does)" if yy.ndim == 1 and c == 1 and yy.shape[0] == n else "")
        raise ValueError(f"{yname} has shape {yy.shape}, but {what} compares it element by "
                         f"element with the model's output of shape ({n}, {c}) for {xname} "
                         f"of {n} samples{hint}")
    if yy.dtype.kind not in "biuf" or (kind == N.LOSS_BCE and yy.dtype.kind == "b"):
        raise TypeError(f"{yname} has dtype {yy.dtype}: {what} takes "
                        + ("integer (0/1) or float targets, e.g. y.astype(np.uint8)"
                           if kind == N.LOSS_BCE else "real-valued targets"))
    if kind == N.LOSS_BCE and yy.dtype.kind in "iu" and yy.size:
        bad = np.flatnonzero((yy.reshape(-1) != 0) & (yy.reshape(-1) != 1))
        if bad.size:
            where = tuple(int(i) for i in np.unravel_index(bad[0], yy.shape))
            raise LabelError(f"{what}: {yname} holds {yy[where]!r} at index {where} (shape "
                             f"{yy.shape}); integer labels must be 0 or 1 (float targets "
                             f"may be any value)")
    return np.array(yy, dtype=dt, order="C")


def batch(data, lo, hi):
    """Rows ``lo:hi`` of ``data`` (views: row slices of C arrays stay C arrays)."""
    onehot = data.onehot[lo:hi] if data.onehot.shape[0] else data.onehot
    targets = data.targets[lo:hi] if data.targets.shape[0] else data.targets
    labels = data.labels[lo:hi] if data.labels.shape[0] else data.labels
    return N.Data(data.x[lo:hi], labels, onehot, targets)


def leave_attributes(plan, model, ws, bufs, x):
    """What the per-op loop leaves on the layers after its last epoch (the
    workspace after a plain-table epoch), as views of the workspace."""
    n = x.shape[0]

    def slot(col, width):
        return ws.acts[n * col:n * (col + width)].reshape(n, width)

    def dslot(col, width):
        return ws.dacts[n * col:n * (col + width)].reshape(n, width)

    model.input_layer.output = x
    k = 0
    for layer, row in zip(plan.op_layers, plan.plain):
        layer.inputs = x if row[N.C_IN] < 0 else slot(row[N.C_IN], row[N.C_WIN])
        layer.output = slot(row[N.C_OUT], row[N.C_WOUT])
        layer.dinputs = dslot(row[N.C_DIN], row[N.C_WIN])
        if row[N.C_CODE] == N.OP_DENSE:
            layer.dweights, layer.dbiases = bufs.grad_views[k]
            k += 1
        elif row[N.C_CODE] == N.OP_DROPOUT:
            layer.binary_mask = slot(row[N.C_AUX], row[N.C_WOUT])
    last_row = plan.plain[-1]
    last = slot(last_row[N.C_OUT], last_row[N.C_WOUT])
    dlast = dslot(last_row[N.C_DOUT], last_row[N.C_WOUT])
    if plan.softmax_head:
        probs = slot(plan.head[N.H_PROBS], plan.head[N.H_CLASSES])
        combined = model.softmax_classifier_output or model.loss
        combined.activation.inputs = last
        combined.activation.output = probs
        combined.output = probs
        combined.dinputs = dlast
        if plan.head_layer is not None:
            plan.head_layer.inputs = last
            plan.head_layer.output = probs
            plan.head_layer.dinputs = dlast
    else:
        model.loss.dinputs = dlast
