"""A sequential network as tables over flat buffers: its forward, loss head and backward.

The compiled training loop (``train.py``) takes a network whatever its depth
and widths without compiling anew: every argument has a type that depends
only on the dtype.

* ``Network.ops``: one row per op (``N_COLS`` int64 columns, below), in
  forward order.  Two tables are built at plan time (``fastnn/plan.py``):
  ``fused`` (dense + ReLU pairs as ``OP_DENSE_RELU``, a dense after a ReLU
  storing the ReLU's input gradient) and ``plain`` (every op by itself, as the
  per-op classes run; the last epoch of a call uses it so that every layer's
  attributes can be left as the per-op loop leaves them).
* Activations live in one workspace buffer per direction (``acts``,
  ``dacts``), as "slots": a slot is a column offset ``c`` and a width ``w``,
  and for a batch of ``n`` rows it is ``buf[n*c : n*(c+w)]`` seen as an
  ``(n, w)`` C array.  The gradient of a slot lives at the same offset in
  ``dacts``.  Column -1 as an input means the data ``x``.
* Parameters: all weights and biases in one flat array (layer by layer, each
  weights ``(win, wout)`` then biases ``(1, wout)``); gradients and optimizer
  state use the same layout, so an optimizer step is one pass over them all.

* Dropout (``OP_DROPOUT``) keeps its mask in its ``C_AUX`` slot of ``acts``
  and draws it from the MT19937 state in the workspace, which the caller
  points at NumPy's global generator: the masks are the per-op layer's (and
  the book's) bit for bit, and the generator ends where the book leaves it.

Every op calls the kernel the per-op classes call, with the same arguments,
so a run gives the per-op loop's numbers bit for bit.
"""
from collections import namedtuple

import numpy as np

from ._jit import kernel
from .activations import relu_backward, relu_forward, softmax_backward, softmax_forward
from .dense import dense_backward_into, dense_forward_act
from .dropout import dropout_backward, dropout_forward, dropout_relu_backward
from .losses import (cce_dense_backward, cce_dense_forward, cce_sparse_backward,
                     cce_sparse_forward, softmax_cce_sparse_backward,
                     softmax_cce_sparse_forward)

# op codes
OP_DENSE = 0
OP_RELU = 1
OP_SOFTMAX = 2
OP_DENSE_RELU = 3  # fused table only: a dense layer whose output goes through a ReLU
OP_DROPOUT = 4     # chapter 15 (reserved: the compiled dropout op)
OP_SIGMOID = 5     # chapter 16 (reserved)
OP_LINEAR = 6      # chapter 17 (reserved)

# op table columns
C_CODE = 0
C_IN = 1      # input slot (-1: the data)
C_OUT = 2     # output slot
C_DIN = 3     # where backward stores the input gradient (-1: not wanted)
C_DOUT = 4    # where backward reads the output gradient
C_WIN = 5     # input width
C_WOUT = 6    # output width
C_PARAM = 7   # offset of the weights in the flat parameters (biases follow); -1 if none
              # (dropout: the index of its kept fraction in ``Workspace.op_consts``)
C_MASKED = 8  # dense after a ReLU: backward applies the ReLU mask (its input) as it stores
              # (dropout after a ReLU: the same, into the ReLU's input gradient)
C_AUX = 9     # an extra workspace slot of the op (dropout: its mask); -1 if none
C_REG = 10    # a dense op's row in the network's regularization table; -1 if none
N_COLS = 11

# loss heads
LOSS_SOFTMAX_CCE = 0  # softmax fused with cross-entropy: the book's combined backward
LOSS_CCE = 1          # cross-entropy on the last op's output

# head table: [loss kind, probabilities slot, classes]
H_KIND = 0
H_PROBS = 1
H_CLASSES = 2

Network = namedtuple("Network", "fused plain head params grads state1 state2")
# rng_key/rng_pos: the MT19937 state words (uint32[624]) and position (int32[1])
# that dropout draws from -- views of NumPy's global generator, advanced in
# place, in a training run; empty (no draws) in evaluation and inference --
# and op_consts: float64 per-op constants (a dropout op's kept fraction at
# index C_PARAM)
Workspace = namedtuple("Workspace", "acts dacts sample_losses rng_key rng_pos op_consts")
Data = namedtuple("Data", "x labels onehot")


@kernel
def slot(buf, n, col, width):
    """The ``(n, width)`` C array of slot ``col`` in workspace ``buf``."""
    return buf[n * col:n * (col + width)].reshape((n, width))


@kernel
def weights_of(params, row):
    """Weights ``(win, wout)`` and biases ``(1, wout)`` of a dense op's table row."""
    off, win, wout = row[C_PARAM], row[C_WIN], row[C_WOUT]
    return (params[off:off + win * wout].reshape((win, wout)),
            params[off + win * wout:off + (win + 1) * wout].reshape((1, wout)))


@kernel
def input_of(x, acts, row):
    return x if row[C_IN] < 0 else slot(acts, x.shape[0], row[C_IN], row[C_WIN])


@kernel
def forward(ops, params, x, acts, ws):
    """Every op's forward, in table order; returns the last op's output.

    Dropout draws its mask from ``ws``'s generator state when it has one
    (training: the book's ``forward(..., training=True)``), and copies its
    input when it has none (evaluation and inference).  (A run-time test, not
    a ``training`` argument: a constant argument is typed as a literal, and
    this function would be compiled twice.)"""
    n = x.shape[0]
    out = x
    for i in range(ops.shape[0]):
        row = ops[i]
        inp = input_of(x, acts, row)
        out = slot(acts, n, row[C_OUT], row[C_WOUT])
        code = row[C_CODE]
        if code == OP_DENSE or code == OP_DENSE_RELU:
            w, b = weights_of(params, row)
            dense_forward_act(inp, w, b, out, code == OP_DENSE_RELU)
        elif code == OP_RELU:
            relu_forward(inp, out)
        elif code == OP_DROPOUT:
            if ws.rng_key.size > 0:
                # the per-op layer's kernel: the book's mask into the op's C_AUX
                # slot and the product, the generator advanced as NumPy would
                mask = slot(acts, n, row[C_AUX], row[C_WOUT])
                ws.rng_pos[0] = dropout_forward(ws.rng_key, np.int64(ws.rng_pos[0]),
                                                ws.op_consts[row[C_PARAM]], inp, mask, out)
            else:
                # (a loop: a slice assignment would compile Numba's shape-mismatch
                # message formatting, seconds of cold compile)
                src = inp.reshape(-1)
                dst = out.reshape(-1)
                for k in range(dst.size):
                    dst[k] = src[k]
        else:
            softmax_forward(inp, out)
    return out


@kernel
def backward(ops, params, grads, x, acts, dacts):
    """Every op's backward, last to first, from the gradient already stored
    in the last op's ``C_DOUT`` slot."""
    n = x.shape[0]
    for i in range(ops.shape[0] - 1, -1, -1):
        row = ops[i]
        inp = input_of(x, acts, row)
        dout = slot(dacts, n, row[C_DOUT], row[C_WOUT])
        want = row[C_DIN] >= 0
        # (an unwanted input gradient gets a dummy of the right shape, never written)
        din = slot(dacts, n, row[C_DIN], row[C_WIN]) if want else inp
        code = row[C_CODE]
        if code == OP_DENSE or code == OP_DENSE_RELU:
            w, _ = weights_of(params, row)
            dw, db = weights_of(grads, row)
            dense_backward_into(inp, w, dout, dw, db, din, want, row[C_MASKED] != 0, inp)
        elif not want:
            continue  # a first activation's input gradient: nothing reads it
        elif code == OP_RELU:
            relu_backward(inp, dout, din)
        elif code == OP_DROPOUT:
            mask = slot(acts, n, row[C_AUX], row[C_WOUT])
            if row[C_MASKED] != 0:  # after a fused dense + ReLU: store the ReLU's gradient
                dropout_relu_backward(dout, mask, inp, din)
            else:
                dropout_backward(dout, mask, din)
        else:
            softmax_backward(slot(acts, n, row[C_OUT], row[C_WOUT]), dout, din)


@kernel
def _mean(values):
    total = 0.0
    for i in range(values.shape[0]):
        total += values[i]
    if values.shape[0] == 0:
        return np.nan
    return total / values.shape[0]


@kernel
def loss_forward(head, last, labels, onehot, probs, sample_losses):
    """The mean loss of the last op's output ``last``, rounded to the model dtype.

    With ``LOSS_SOFTMAX_CCE`` the probabilities are written to ``probs``.
    Returns ``(loss, bad)``: ``bad`` is -1, or the index of a label out of range.
    """
    t = last.dtype.type
    dense_labels = onehot.shape[0] > 0
    losses = sample_losses[:last.shape[0]]
    if head[H_KIND] == LOSS_SOFTMAX_CCE:
        if dense_labels:
            softmax_forward(last, probs)
            cce_dense_forward(probs, onehot, losses)
            return t(_mean(losses)), -1
        loss, bad = softmax_cce_sparse_forward(last, labels, probs)
        return t(loss), bad
    if dense_labels:
        cce_dense_forward(last, onehot, losses)
        return t(_mean(losses)), -1
    bad = cce_sparse_forward(last, labels, losses)
    return t(_mean(losses)), bad


@kernel
def loss_backward(head, last, labels, onehot, probs, dlast):
    """The gradient of the loss with respect to the last op's output, into ``dlast``."""
    if head[H_KIND] == LOSS_SOFTMAX_CCE:
        softmax_cce_sparse_backward(probs, labels, dlast)
    elif onehot.shape[0] > 0:
        cce_dense_backward(last, onehot, dlast)
    else:
        cce_sparse_backward(last, labels, dlast)


@kernel
def predictions_of(head, last, probs):
    """What the model predicts from: the probabilities, or the last output."""
    return probs if head[H_KIND] == LOSS_SOFTMAX_CCE else last


@kernel
def _first_argmax_nan(row):
    """np.argmax of a row holding a NaN: the first NaN's index."""
    for j in range(row.shape[0]):
        if row[j] != row[j]:
            return j
    return 0


@kernel
def accuracy(predictions, labels):
    """Fraction of rows whose first maximal entry is at the label (np.argmax's choice).

    The row scan is branch-free (selects, not jumps: which column wins is
    unpredictable); a row holding a NaN, where np.argmax answers the first
    NaN, is redone on the slow path.  Three columns (the seed network) take a
    loop with no branch at all, which vectorizes across rows; NaN rows are only
    counted there, and if there are any the general loop redoes the lot."""
    n, c = predictions.shape
    if n == 0:
        return np.nan
    if c == 3:
        hits = 0
        nans = 0
        for i in range(n):
            a = predictions[i, 0]
            b = predictions[i, 1]
            d = predictions[i, 2]
            take = b > a
            best = 1 if take else 0
            top = b if take else a
            best = 2 if d > top else best
            nans += (a != a) | (b != b) | (d != d)
            hits += best == labels[i]
        if nans == 0:
            return hits / n
    hits = 0
    for i in range(n):
        best = 0
        top = predictions[i, 0]
        nan = top != top
        for j in range(1, c):
            v = predictions[i, j]
            take = v > top
            best = j if take else best
            top = v if take else top
            nan |= v != v
        if nan:
            best = _first_argmax_nan(predictions[i])
        hits += best == labels[i]
    return hits / n
