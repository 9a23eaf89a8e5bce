"""The plan of a compiled ``Model``: what to run, decided once at ``finalize()``.

A ``Plan`` holds the op tables of ``fastnn.kernels.network`` (fused and plain),
the loss head, and the layout of the workspace (slot columns) and of the flat
parameter buffer (offsets).  Fusions are decided here, not while running:

* a dense layer followed by a ReLU and then another dense layer runs as one
  ``OP_DENSE_RELU`` (the ReLU applied as the dense output is stored), and the
  dense layer after it stores the ReLU's input gradient directly (the ReLU
  mask applied as it stores ``dinputs``), which saves the ReLU's passes; a
  dropout after the ReLU does the same in its backward;
* a final softmax with cross-entropy trains with the combined backward, as the
  book's ``Model`` does;
* dropout (``OP_DROPOUT``) runs as its own op, its mask in a workspace slot
  of its own (``C_AUX``) and its kept fraction read from the layer when a
  workspace is made (``workspace.py``), as the per-op layer reads ``rate``;
* the fused table skips the data's gradient (nothing reads it); the plain
  table runs every op as the per-op classes do and is used for the last epoch
  of a compiled call, so that the layers can be left with every attribute the
  per-op loop leaves.

Layer widths come from the dense layers' weights; they are checked again
before each run (``check_widths``), since users may replace weights.
"""
from dataclasses import dataclass

import numpy as np

from . import registry
from .kernels import network as N

__all__ = ["Plan", "build_plan", "AccuracyMismatch"]


class AccuracyMismatch(TypeError):
    """A cross-entropy model whose accuracy the compiled loop cannot score
    (refused, as before: the general path is not taken for it)."""


@dataclass(frozen=True, eq=False)
class Plan:
    op_layers: tuple      # the layer object of each op (a final softmax head excluded)
    dense: tuple          # the trainable layers, in order
    fused: np.ndarray     # (n_ops, N_COLS) int64
    plain: np.ndarray
    head: np.ndarray      # int64 [kind, probabilities slot, classes, accuracy]
    n_columns: int        # workspace columns per row
    param_offsets: tuple  # offset of each dense layer's weights in the flat buffer
    n_params: int
    head_layer: object    # a final Activation_Softmax absorbed into the loss head, or None
    combined_loss: bool   # the loss object is the combined softmax + cross-entropy
    dropout: tuple = ()   # the dropout layers, in order (op k's rate: Workspace.op_consts[k])

    @property
    def n_inputs(self):
        return self.dense[0].weights.shape[0]

    @property
    def n_outputs(self):
        return self.dense[-1].weights.shape[1]

    def max_madds(self, rows):
        """Multiply-adds of the largest dense product for a batch of ``rows``."""
        return max(rows * l.weights.size for l in self.dense)

    @property
    def softmax_head(self):
        return int(self.head[N.H_KIND]) == N.LOSS_SOFTMAX_CCE

    @property
    def target_head(self):
        """The loss compares the output with float targets of its shape (BCE, MSE, MAE)."""
        return int(self.head[N.H_KIND]) >= N.LOSS_BCE

    @property
    def regression(self):
        return int(self.head[N.H_ACC]) == N.ACC_REGRESSION


def describe(layer, index):
    return f"layer {index} ({type(layer).__name__})"


def build_plan(layers, loss, accuracy=None):
    """The plan of ``layers`` trained with ``loss`` and scored with ``accuracy``
    (None: categorical); raises on anything the compiled loop cannot run,
    naming the layer (a ``TypeError`` for what the general path may run)."""
    head = registry.head_spec(loss)
    if head is None:
        raise TypeError(f"Model supports fastnn's {registry.names(registry.HEADS)} as the "
                        f"loss, got {type(loss).__module__}.{type(loss).__name__}")
    if not layers:
        raise ValueError("Model has no layers: add some with model.add(...)")
    codes, seen = [], set()
    for i, layer in enumerate(layers):
        spec = registry.op_spec(layer)
        if spec is None:
            raise TypeError(f"{describe(layer, i)} is not supported: Model takes fastnn's "
                            f"{registry.names(registry.OPS)} (or their notebook spellings)")
        if spec.trainable:
            if id(layer) in seen:
                raise ValueError(f"{describe(layer, i)} was added twice; each dense layer "
                                 f"object can appear once")
            seen.add(id(layer))
        elif spec.code == N.OP_DROPOUT:
            if id(layer) in seen:
                # the per-op loop then runs both ops' backward on the last mask drawn
                raise TypeError(f"{describe(layer, i)} was added twice; the compiled loop "
                                f"keeps one mask per dropout op")
            seen.add(id(layer))
        codes.append(spec.code)
    if N.OP_DENSE not in codes:
        raise ValueError("Model has no dense layer: there is nothing to train")

    acc_code = registry.accuracy_code(head.code, codes[-1], accuracy)
    kind, head_layer = head.code, None
    if head.code == N.LOSS_CCE and codes[-1] == N.OP_SOFTMAX:
        # the book: a final softmax with cross-entropy trains with the combined backward
        kind, head_layer = N.LOSS_SOFTMAX_CCE, layers[-1]
        codes, layers = codes[:-1], layers[:-1]
        if not codes:
            raise ValueError("Model needs a layer before its final softmax")
    layers = tuple(layers)
    dense = tuple(l for l, c in zip(layers, codes) if c == N.OP_DENSE)
    widths = check_widths(layers, dense)

    # workspace slots: column 0 holds the data's gradient, then each op's output, then
    # the head's probabilities
    out_col, col = [], widths[0]
    for w in widths[1:]:
        out_col.append(col)
        col += w
    probs_col, n_classes = col, widths[-1]
    n_columns = col + n_classes
    # then each dropout op's mask
    aux_col = {}
    for i, code in enumerate(codes):
        if code == N.OP_DROPOUT:
            aux_col[i] = n_columns
            n_columns += widths[i + 1]

    offsets, n_params = [], 0
    for layer in dense:
        offsets.append(n_params)
        n_params += (layer.weights.shape[0] + 1) * layer.weights.shape[1]

    plain = np.full((len(codes), N.N_COLS), -1, np.int64)
    k, dropout = 0, []
    for i, code in enumerate(codes):
        row = plain[i]
        row[N.C_CODE] = code
        row[N.C_IN] = -1 if i == 0 else out_col[i - 1]
        row[N.C_OUT] = row[N.C_DOUT] = out_col[i]
        row[N.C_DIN] = 0 if i == 0 else out_col[i - 1]
        row[N.C_WIN], row[N.C_WOUT] = widths[i], widths[i + 1]
        row[N.C_MASKED] = 0
        if code == N.OP_DENSE:
            row[N.C_PARAM] = offsets[k]
            row[N.C_REG] = k  # its row of the regularization table (zeros: none)
            k += 1
        elif code == N.OP_DROPOUT:
            row[N.C_AUX] = aux_col[i]
            row[N.C_PARAM] = len(dropout)
            dropout.append(layers[i])
    fused = _fuse(plain)
    head_row = np.array([kind, probs_col, n_classes, acc_code], np.int64)
    return Plan(layers, dense, fused, plain, head_row, n_columns, tuple(offsets), n_params,
                head_layer, head.combined, tuple(dropout))


def _fuse(plain):
    """The fused table of a plain one (see the module's docstring)."""
    codes = plain[:, N.C_CODE]
    n = len(plain)
    # dense i takes the ReLU i+1 into its store when a dense layer or a dropout
    # i+2 follows (whose backward then applies the ReLU's mask)
    fuses = [codes[i] == N.OP_DENSE and i + 2 < n and codes[i + 1] == N.OP_RELU
             and codes[i + 2] in (N.OP_DENSE, N.OP_DROPOUT) for i in range(n)]
    rows, i = [], 0
    while i < n:
        row = plain[i].copy()
        if i >= 2 and fuses[i - 2]:
            row[N.C_MASKED] = 1
            row[N.C_DIN] = plain[i - 1, N.C_DIN]  # the ReLU's input gradient
        if fuses[i]:
            row[N.C_CODE] = N.OP_DENSE_RELU
            row[N.C_OUT] = plain[i + 1, N.C_OUT]  # the ReLU's output is stored; the
            rows.append(row)                       # gradient arrives at the dense's C_DOUT
            i += 2
            continue
        rows.append(row)
        i += 1
    table = np.array(rows, np.int64)
    table[0, N.C_DIN] = -1  # nothing reads the data's gradient while training
    return table


def check_widths(layers, dense):
    """The widths along the network (inputs, then each op's output); raises
    unless the dense layers' weights are 2-D and their shapes chain."""
    widths = [None]
    prev = None
    for i, layer in enumerate(layers):
        if layer in dense:
            w = getattr(layer, "weights", None)
            if not isinstance(w, np.ndarray) or w.ndim != 2:
                raise ValueError(f"{describe(layer, i)} weights must be a 2-D array "
                                 f"(n_inputs, n_neurons), got {np.shape(w)}")
            if prev is not None and w.shape[0] != prev[1].shape[1]:
                raise ValueError(
                    f"layer widths do not chain: {describe(prev[0], prev[2])} outputs "
                    f"{prev[1].shape[1]} values (weights {prev[1].shape}) but "
                    f"{describe(layer, i)} takes {w.shape[0]} (weights {w.shape})")
            if widths[0] is None:
                widths = [w.shape[0]] * (len(widths))
            prev = (layer, w, i)
            widths.append(w.shape[1])
        else:
            widths.append(widths[-1])
    return widths
