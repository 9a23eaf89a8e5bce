"""A sequential model's whole training loop, and its inference pass, in compiled code.

``train_epochs`` runs any number of full-batch epochs of the book's chapter-18
``Model.train`` -- forward, loss, accuracy, backward, learning-rate decay and
optimizer step -- without returning to Python, and records each epoch's loss,
accuracy and learning rate.  It does no arithmetic of its own beyond the
learning-rate schedule, the Adam bias corrections and the accuracy count: every
layer, loss and optimizer step is a call to the same kernel the per-op classes
call, with the same arguments, so a run gives what the per-op loop gives.

The network is described by arrays, so one compiled function serves every
architecture of dense, ReLU and softmax layers in one dtype:

* ``ops``: one code per layer (``OP_DENSE``, ``OP_RELU``, ``OP_SOFTMAX``), in
  forward order; ``layer_of[i]`` is the index of op ``i`` in the parameter
  lists when it is a dense layer (else -1);
* ``weights``, ``biases``, their gradients and the optimizer state: tuples
  with one 2-D C-contiguous array per dense layer, updated in place (unused
  state tuples hold empty arrays);
* ``outputs[i]`` and ``dinputs[i]``: each op's forward output and input gradient;
* the loss head: ``LOSS_SOFTMAX_CCE`` (softmax fused with cross-entropy, the
  combined backward; ``head`` receives the probabilities) or ``LOSS_CCE``
  (cross-entropy on the last op's output); ``dhead`` is the gradient with
  respect to the last op's output;
* labels: class indices ``labels`` (int64), plus ``onehot`` rows (N, C) in the
  model dtype when the user gave 2-D labels (``dense_labels``), which the loss
  value then uses as the reference does.

Arrays must be C-contiguous, of one float dtype and of consistent shapes: the
caller (``fastnn.Model``) validates everything, since Numba does no bounds checks.
"""
import numpy as np

from ._jit import kernel
from .activations import relu_backward, relu_forward, softmax_backward, softmax_forward
from .dense import dense_backward_into, dense_forward, dense_forward_act
from .losses import (cce_dense_backward, cce_dense_forward, cce_sparse_backward,
                     cce_sparse_forward, softmax_cce_sparse_backward,
                     softmax_cce_sparse_forward)
from .optimizers import (adagrad_update, adam_update, rmsprop_update, sgd_momentum_update,
                         sgd_update)

OP_DENSE = 0
OP_RELU = 1
OP_SOFTMAX = 2

LOSS_SOFTMAX_CCE = 0
LOSS_CCE = 1

OPT_SGD = 0
OPT_SGD_MOMENTUM = 1
OPT_ADAGRAD = 2
OPT_RMSPROP = 3
OPT_ADAM = 4

# positions in the ``hyper`` array
H_LR = 0
H_DECAY = 1
H_MOMENTUM = 2
H_EPSILON = 3
H_RHO = 4
H_BETA1 = 5
H_BETA2 = 6
N_HYPER = 7


@kernel
def forward_pass(x, ops, layer_of, weights, biases, outputs, fuse):
    """Every op's forward, in order; the last op's output is ``outputs[-1]``.

    With ``fuse``, a dense layer followed by a ReLU writes the ReLU's output
    directly (the dense layer's own ``outputs`` entry is then not written):
    the same numbers with one pass over the activations instead of three."""
    i = 0
    n_ops = ops.shape[0]
    while i < n_ops:
        inp = x if i == 0 else outputs[i - 1]
        code = ops[i]
        if code == OP_DENSE:
            k = layer_of[i]
            if fuse and i + 1 < n_ops and ops[i + 1] == OP_RELU:
                dense_forward_act(inp, weights[k], biases[k], outputs[i + 1], True)
                i += 2
                continue
            dense_forward(inp, weights[k], biases[k], outputs[i])
        elif code == OP_RELU:
            relu_forward(inp, outputs[i])
        else:
            softmax_forward(inp, outputs[i])
        i += 1


@kernel
def _mean(values):
    total = 0.0
    for i in range(values.shape[0]):
        total += values[i]
    if values.shape[0] == 0:
        return np.nan
    return total / values.shape[0]


@kernel
def loss_forward(last, labels, onehot, dense_labels, loss_kind, head, sample_losses):
    """The mean loss of the last op's output ``last``, rounded to the model dtype.

    With ``LOSS_SOFTMAX_CCE`` the probabilities are written to ``head``.
    Returns ``(loss, bad)``: ``bad`` is -1, or the index of a label out of range.
    """
    t = last.dtype.type
    if loss_kind == LOSS_SOFTMAX_CCE:
        if dense_labels:
            softmax_forward(last, head)
            cce_dense_forward(head, onehot, sample_losses)
            return t(_mean(sample_losses)), -1
        loss, bad = softmax_cce_sparse_forward(last, labels, head)
        return t(loss), bad
    if dense_labels:
        cce_dense_forward(last, onehot, sample_losses)
        return t(_mean(sample_losses)), -1
    bad = cce_sparse_forward(last, labels, sample_losses)
    return t(_mean(sample_losses)), bad


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


@kernel
def _backward_pass(x, ops, layer_of, weights, outputs, dweights, dbiases, dinputs, dlast,
                   first_dinputs, fuse):
    """Every op's backward, last to first, starting from ``dlast``; the first
    op's ``dinputs`` (the gradient for the data) only if ``first_dinputs``.

    With ``fuse`` (the partner of ``forward_pass``'s), a dense layer whose input
    came from a ReLU writes the ReLU's input gradient directly, using the
    ReLU's output as the mask; the ReLU's own backward is skipped."""
    d = dlast
    i = ops.shape[0] - 1
    while i >= 0:
        inp = x if i == 0 else outputs[i - 1]
        code = ops[i]
        if code == OP_DENSE:
            k = layer_of[i]
            if fuse and i >= 1 and ops[i - 1] == OP_RELU:
                dense_backward_into(inp, weights[k], d, dweights[k], dbiases[k], dinputs[i - 1],
                                    True, True, inp)
                d = dinputs[i - 1]
                i -= 2
                continue
            dense_backward_into(inp, weights[k], d, dweights[k], dbiases[k], dinputs[i],
                                i > 0 or first_dinputs, False, d)
        elif code == OP_RELU:
            relu_backward(inp, d, dinputs[i])
        else:
            softmax_backward(outputs[i], d, dinputs[i])
        d = dinputs[i]
        i -= 1


@kernel
def _optimizer_step(opt_kind, hyper, lr_curr, iteration, weights, biases, dweights, dbiases,
                    wstate1, wstate2, bstate1, bstate2):
    """One optimizer step on every dense layer, in layer order (the per-op
    ``update_params`` calls).  Hyper-parameters are passed as the optimizer
    classes pass them."""
    if opt_kind == OPT_ADAM:
        step = float(iteration + 1)
        # float ** float is C's pow(), as Python's float ** int is
        corr1 = 1.0 - hyper[H_BETA1] ** step
        corr2 = 1.0 - hyper[H_BETA2] ** step
    else:
        corr1 = corr2 = 1.0
    for k in range(len(weights)):
        w, b, dw, db = weights[k], biases[k], dweights[k], dbiases[k]
        if opt_kind == OPT_SGD:
            sgd_update(w, dw, b, db, lr_curr)
        elif opt_kind == OPT_SGD_MOMENTUM:
            sgd_momentum_update(w, dw, wstate1[k], b, db, bstate1[k], lr_curr,
                                hyper[H_MOMENTUM])
        elif opt_kind == OPT_ADAGRAD:
            adagrad_update(w, dw, wstate1[k], b, db, bstate1[k], lr_curr, hyper[H_EPSILON])
        elif opt_kind == OPT_RMSPROP:
            rmsprop_update(w, dw, wstate1[k], b, db, bstate1[k], lr_curr, hyper[H_EPSILON],
                           hyper[H_RHO])
        else:
            adam_update(w, dw, wstate1[k], wstate2[k], b, db, bstate1[k], bstate2[k], lr_curr,
                        hyper[H_BETA1], hyper[H_BETA2], hyper[H_EPSILON], corr1, corr2)


@kernel
def train_epochs(x, labels, onehot, dense_labels, ops, layer_of, weights, biases,
                 dweights, dbiases, wstate1, wstate2, bstate1, bstate2, outputs, dinputs,
                 head, dhead, sample_losses, loss_kind, opt_kind, hyper, lr_curr, iteration,
                 epochs, hist_loss, hist_acc, hist_lr):
    """Run ``epochs`` full-batch epochs; returns ``(lr_curr, iteration, bad_label)``.

    Each epoch is the book's: forward, loss, accuracy, backward, then
    ``pre_update_params`` (``lr_curr = lr * (1. / (1. + decay * iteration))`` when
    decay is non-zero), one update per dense layer, ``post_update_params``
    (``iteration += 1``).  ``hist_*[e]`` receive epoch ``e``'s loss and accuracy
    (before its update) and the learning rate its update used.  ``bad_label``
    is -1, or the index of a label out of range, found in the first epoch's
    loss before any parameter is written.
    """
    lr = hyper[H_LR]
    decay = hyper[H_DECAY]
    last = outputs[len(outputs) - 1]
    for e in range(epochs):
        # all but a call's last epoch fuse dense + ReLU; the last runs op by op
        # so the layers are left with every attribute the per-op loop leaves
        fuse = e < epochs - 1
        forward_pass(x, ops, layer_of, weights, biases, outputs, fuse)
        loss, bad = loss_forward(last, labels, onehot, dense_labels, loss_kind, head,
                                 sample_losses)
        if bad >= 0:
            return lr_curr, iteration, bad
        if loss_kind == LOSS_SOFTMAX_CCE:
            acc = accuracy(head, labels)
            softmax_cce_sparse_backward(head, labels, dhead)
        else:
            acc = accuracy(last, labels)
            if dense_labels:
                cce_dense_backward(last, onehot, dhead)
            else:
                cce_sparse_backward(last, labels, dhead)
        # nothing reads the data's gradient until the per-op attributes are left
        # behind after the last epoch
        _backward_pass(x, ops, layer_of, weights, outputs, dweights, dbiases, dinputs, dhead,
                       not fuse, fuse)
        if decay != 0.0:
            lr_curr = lr * (1. / (1. + decay * iteration))
        hist_loss[e] = loss
        hist_acc[e] = acc
        hist_lr[e] = lr_curr
        _optimizer_step(opt_kind, hyper, lr_curr, iteration, weights, biases, dweights,
                        dbiases, wstate1, wstate2, bstate1, bstate2)
        iteration += 1
    return lr_curr, iteration, -1


@kernel
def evaluate_batch(x, labels, onehot, dense_labels, ops, layer_of, weights, biases, outputs,
                   head, sample_losses, loss_kind):
    """One forward pass with loss and accuracy, no update: ``(loss, accuracy, bad_label)``.

    The model's predictions (probabilities with ``LOSS_SOFTMAX_CCE``) are left
    in ``head``, or in ``outputs[-1]`` with ``LOSS_CCE``.
    """
    forward_pass(x, ops, layer_of, weights, biases, outputs, False)
    last = outputs[len(outputs) - 1]
    loss, bad = loss_forward(last, labels, onehot, dense_labels, loss_kind, head,
                             sample_losses)
    if bad >= 0:
        return 0.0, 0.0, bad
    if loss_kind == LOSS_SOFTMAX_CCE:
        return loss, accuracy(head, labels), -1
    return loss, accuracy(last, labels), -1


@kernel
def predict_batch(x, ops, layer_of, weights, biases, outputs, softmax_head, head):
    """The model's output for ``x``: the last op's output, or its softmax into
    ``head`` when the loss head is the fused softmax + cross-entropy."""
    forward_pass(x, ops, layer_of, weights, biases, outputs, False)
    if softmax_head:
        softmax_forward(outputs[len(outputs) - 1], head)
