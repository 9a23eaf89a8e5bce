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
from .accuracy import accuracy
from .activations import relu_backward, relu_forward, softmax_backward, softmax_forward
from .binary import bce_backward, bce_forward, sigmoid_backward, sigmoid_forward
from .dense import _backward as dense_backward_reg_into
from .dense import dense_forward_act
from .dropout import dropout_backward, dropout_forward, dropout_relu_backward
from .losses import (cce_dense_backward, cce_dense_forward, cce_sparse_backward,
                     cce_sparse_forward, softmax_cce_sparse_backward,
                     softmax_cce_sparse_forward)
from .regression import mae_backward, mae_forward, mse_backward, mse_forward
from .reduction import TERM_ABS, TERM_SQUARE, TERM_VALUE, pairwise_sum

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
LOSS_BCE = 2          # binary cross-entropy (chapter 16) on float targets ``Data.targets``
LOSS_MSE = 3          # mean squared error (chapter 17) on ``Data.targets``
LOSS_MAE = 4          # mean absolute error (chapter 17) on ``Data.targets``

# head table: [loss kind, probabilities slot, classes]
H_KIND = 0
H_PROBS = 1
H_CLASSES = 2
H_ACC = 3     # the accuracy the head's predictions are scored with (ACC_*)

# accuracies (the book's predictions of the last activation, then its Accuracy class)
ACC_CATEGORICAL = 0  # argmax of the output == the class index
ACC_BINARY = 1       # (output > 0.5) == target, per output (sigmoid, binary=True)
ACC_REGRESSION = 2   # |output - target| < precision (Accuracy_Regression)

# the regularization table ``Network.reg``: a row per dense layer (the op's C_REG)
R_KERNEL = 0   # 4 columns: (weight l1, 2 * weight l2, bias l1, 2 * bias l2), the backward's
R_PENALTY = 4  # 4 columns: the strengths (weight l1, weight l2, bias l1, bias l2), the penalty's
N_REG = 8

# ``Network.head_f``: the head's float parameters
HF_PRECISION = 0  # Accuracy_Regression's precision
N_HEAD_F = 1

Network = namedtuple("Network", "fused plain head params grads state1 state2 reg head_f")
# rng_key/rng_pos: the MT19937 state words (uint32[624]) and position (int32[1])
# that dropout draws from -- views of NumPy's global generator, advanced in
# place, in a training run; empty (no draws) in evaluation and inference --
# and op_consts: float64 per-op constants (a dropout op's kept fraction at
# index C_PARAM)
Workspace = namedtuple("Workspace", "acts dacts sample_losses rng_key rng_pos op_consts")
Data = namedtuple("Data", "x labels onehot targets")


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
def copy_into(src, dst):
    """``dst[:, :] = src`` for two C arrays of one shape, as a loop: a slice
    assignment compiles Numba's shape-mismatch message formatting, seconds of
    cold compile."""
    a = src.reshape(-1)
    b = dst.reshape(-1)
    for k in range(b.size):
        b[k] = a[k]


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
                copy_into(inp, out)
        elif code == OP_SIGMOID:
            sigmoid_forward(inp, out)
        elif code == OP_LINEAR:
            copy_into(inp, out)  # the identity (the per-op class hands on its input)
        else:
            softmax_forward(inp, out)
    return out


@kernel
def backward(ops, params, grads, x, acts, dacts, reg):
    """Every op's backward, last to first, from the gradient already stored
    in the last op's ``C_DOUT`` slot.  A dense op's L1/L2 terms (row
    ``C_REG`` of ``reg``) are added by the dense kernel as it stores its
    gradients, as the per-op layer's backward does."""
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
            w, b = weights_of(params, row)
            dw, db = weights_of(grads, row)
            # (every dense op has a row: zeros are no terms, the same kernel path
            # as the unregularized per-op backward)
            k = reg[row[C_REG]]
            dense_backward_reg_into(inp, w, dout, dw, db, din, want, row[C_MASKED] != 0, inp,
                                    b, (k[R_KERNEL], k[R_KERNEL + 1], k[R_KERNEL + 2],
                                        k[R_KERNEL + 3]))
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
        elif code == OP_SIGMOID:
            sigmoid_backward(slot(acts, n, row[C_OUT], row[C_WOUT]), dout, din)
        elif code == OP_LINEAR:
            copy_into(dout, din)  # the book's dvalues.copy()
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
def exact_sum(values):
    """``np.sum`` of losses, to the bit: NumPy's pairwise sum in the losses' dtype."""
    return pairwise_sum(values, TERM_VALUE)


@kernel
def loss_forward(head, last, labels, onehot, probs, sample_losses, targets):
    """The mean loss of the last op's output ``last``, rounded to the model dtype.

    With ``LOSS_SOFTMAX_CCE`` the probabilities are written to ``probs``.
    ``LOSS_BCE``/``MSE``/``MAE`` compare ``last`` with the float ``targets``
    of its shape.  Returns ``(loss, bad, total)``: ``bad`` is -1, or the index
    of a label out of range; ``total`` what the batch adds to the book's
    ``accumulated_sum`` (``np.sum`` of the losses, in the model dtype, for the
    BCE/MSE/MAE heads, whose per-sample losses are at hand; the mean times
    the rows, in float64, for the cross-entropy ones).
    """
    t = last.dtype.type
    dense_labels = onehot.shape[0] > 0
    losses = sample_losses[:last.shape[0]]
    kind = head[H_KIND]
    if kind >= LOSS_BCE:
        if kind == LOSS_BCE:
            bce_forward(last, targets, losses)
        elif kind == LOSS_MSE:
            mse_forward(last, targets, losses)
        else:
            mae_forward(last, targets, losses)
        total = exact_sum(losses)
        if losses.shape[0] == 0:
            return t(np.nan), -1, np.float64(total)
        # np.mean: the sum over the count, in the dtype
        return total / t(losses.shape[0]), -1, np.float64(total)
    n = np.float64(last.shape[0])
    if kind == LOSS_SOFTMAX_CCE:
        if dense_labels:
            softmax_forward(last, probs)
            cce_dense_forward(probs, onehot, losses)
            loss = t(_mean(losses))
            return loss, -1, np.float64(loss) * n
        mean, bad = softmax_cce_sparse_forward(last, labels, probs)
        return t(mean), bad, np.float64(t(mean)) * n
    if dense_labels:
        cce_dense_forward(last, onehot, losses)
        loss = t(_mean(losses))
        return loss, -1, np.float64(loss) * n
    bad = cce_sparse_forward(last, labels, losses)
    loss = t(_mean(losses))
    return loss, bad, np.float64(loss) * n


@kernel
def loss_backward(head, last, labels, onehot, probs, dlast, targets):
    """The gradient of the loss with respect to the last op's output, into ``dlast``."""
    kind = head[H_KIND]
    if kind == LOSS_SOFTMAX_CCE:
        softmax_cce_sparse_backward(probs, labels, dlast)
    elif kind == LOSS_BCE:
        bce_backward(last, targets, dlast)
    elif kind == LOSS_MSE:
        mse_backward(last, targets, dlast)
    elif kind == LOSS_MAE:
        mae_backward(last, targets, dlast)
    elif onehot.shape[0] > 0:
        cce_dense_backward(last, onehot, dlast)
    else:
        cce_sparse_backward(last, labels, dlast)


@kernel
def predictions_of(head, last, probs):
    """What the model predicts from: the probabilities, or the last output."""
    return probs if head[H_KIND] == LOSS_SOFTMAX_CCE else last


@kernel
def head_accuracy(head, head_f, last, probs, labels, targets):
    """``(accuracy, hits)`` of a batch: the book's ``accuracy.calculate`` and
    what it adds to ``accumulated_sum`` (matches; the count adds rows).

    Categorical: the argmax of the predictions against the class index.
    Binary (a sigmoid's ``(output > 0.5) * 1 == y``) and regression
    (``|output - y| < precision``, compared in float64 as NumPy promotes a
    float64 precision; exact for a float32 one) are per output: the accuracy
    is the mean over all of them, the hits their count."""
    n = last.shape[0]
    acc_kind = head[H_ACC]
    if acc_kind == ACC_CATEGORICAL:
        acc = accuracy(predictions_of(head, last, probs), labels)
        return acc, acc * n
    pf = last.reshape(-1)
    yf = targets.reshape(-1)
    hits = 0
    if acc_kind == ACC_BINARY:
        for i in range(pf.size):
            hits += (1.0 if pf[i] > 0.5 else 0.0) == yf[i]
    else:
        t = last.dtype.type
        precision = head_f[HF_PRECISION]
        for i in range(pf.size):
            hits += np.float64(abs(t(pf[i] - yf[i]))) < precision
    if pf.size == 0:
        return np.nan, 0.0
    return hits / pf.size, float(hits)


@kernel
def penalty(ops, params, reg):
    """The book's ``Loss.regularization_loss()`` over the dense ops: for each,
    ``l1 * sum(|W|)``, ``l2 * sum(W * W)``, then the biases', each where its
    strength is > 0, added up in the parameters' dtype in that order; the sums
    are ``np.sum``'s to the bit (``reduction.pairwise_sum``)."""
    t = params.dtype.type
    total = t(0.0)
    for i in range(ops.shape[0]):
        row = ops[i]
        if row[C_CODE] != OP_DENSE and row[C_CODE] != OP_DENSE_RELU:
            continue
        k = reg[row[C_REG]]
        off, win, wout = row[C_PARAM], row[C_WIN], row[C_WOUT]
        wf = params[off:off + win * wout]
        bf = params[off + win * wout:off + (win + 1) * wout]
        if k[R_PENALTY] > 0.0:
            total += t(k[R_PENALTY]) * pairwise_sum(wf, TERM_ABS)
        if k[R_PENALTY + 1] > 0.0:
            total += t(k[R_PENALTY + 1]) * pairwise_sum(wf, TERM_SQUARE)
        if k[R_PENALTY + 2] > 0.0:
            total += t(k[R_PENALTY + 2]) * pairwise_sum(bf, TERM_ABS)
        if k[R_PENALTY + 3] > 0.0:
            total += t(k[R_PENALTY + 3]) * pairwise_sum(bf, TERM_SQUARE)
    return total
