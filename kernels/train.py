"""A sequential model's training loop, evaluation and inference, in compiled code.

``train_steps`` runs training steps of the book's ``Model.train`` --
forward, loss, accuracy, backward, learning-rate decay and optimizer step --
without returning to Python, and records each epoch's loss, accuracy and
learning rate.  The network comes as the tables and flat buffers of
``network.py``, so this function compiles once per dtype, whatever the
depth and widths.  It does no arithmetic of its own beyond the learning-rate
schedule, the Adam bias corrections and the accuracy count: every layer, loss
and optimizer step is the kernel the per-op classes call.

The caller (``fastnn.Model``) validates everything first: Numba does no
bounds checks.
"""
import numpy as np
from numba import prange

from ._jit import kernel
from .activations import softmax_forward
from .network import (C_DOUT, H_CLASSES, H_KIND, H_PROBS, LOSS_BCE, LOSS_SOFTMAX_CCE, R_PENALTY,
                      Data,
                      backward, forward, head_accuracy, loss_backward, loss_forward, penalty,
                      slot)
from .optimizers import (CHUNK, adagrad_rule, adam_rule, n_chunks, rmsprop_rule,
                         sgd_momentum_rule, sgd_rule)

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

# positions in the ``progress`` array, written after every epoch so that an
# interrupted call still says exactly what it did
P_LR_CURR = 0
P_ITERATION = 1
P_EPOCHS = 2
P_BAD_LABEL = 3
N_PROGRESS = 4


@kernel
def _rule(opt_kind, lo, hi, p, g, s1, s2, h):
    """The update rule of ``opt_kind`` on elements ``lo:hi`` of the flat buffers."""
    if opt_kind == OPT_SGD:
        sgd_rule(p[lo:hi], g[lo:hi], h[0])
    elif opt_kind == OPT_SGD_MOMENTUM:
        sgd_momentum_rule(p[lo:hi], g[lo:hi], s1[lo:hi], h[0], h[1])
    elif opt_kind == OPT_ADAGRAD:
        adagrad_rule(p[lo:hi], g[lo:hi], s1[lo:hi], h[0], h[1])
    elif opt_kind == OPT_RMSPROP:
        rmsprop_rule(p[lo:hi], g[lo:hi], s1[lo:hi], h[0], h[1], h[2], h[3])
    else:
        adam_rule(p[lo:hi], g[lo:hi], s1[lo:hi], s2[lo:hi], h[0], h[1], h[2], h[3], h[4], h[5],
                  h[6], h[7])


@kernel(parallel=True)
def optimizer_step(opt_kind, hyper, lr_curr, iteration, net):
    """One optimizer step over the whole flat parameter buffer.

    The rules are elementwise, so one pass over every layer's weights and
    biases gives the per-op ``update_params`` calls' numbers: the same rules
    (``kernels/optimizers.py``) with the hyper-parameters rounded to the
    parameter dtype as the per-op kernels round them.  Large buffers are
    split into chunks shared by the threads, as there.  One parallel kernel
    serves every rule: each parallel function costs about a second to compile."""
    p, g, s1, s2 = net.params, net.grads, net.state1, net.state2
    t = p.dtype.type
    h = np.empty(8, p.dtype)
    if opt_kind == OPT_SGD:
        h[0] = t(-lr_curr)
    elif opt_kind == OPT_SGD_MOMENTUM:
        h[0], h[1] = t(lr_curr), t(hyper[H_MOMENTUM])
    elif opt_kind == OPT_ADAGRAD:
        h[0], h[1] = t(-lr_curr), t(hyper[H_EPSILON])
    elif opt_kind == OPT_RMSPROP:
        rho = hyper[H_RHO]
        h[0], h[1], h[2], h[3] = t(-lr_curr), t(hyper[H_EPSILON]), t(rho), t(1.0 - rho)
    else:
        step = float(iteration + 1)
        # float ** float is C's pow(), as Python's float ** int is
        corr1 = 1.0 - hyper[H_BETA1] ** step
        corr2 = 1.0 - hyper[H_BETA2] ** step
        b1, b2 = hyper[H_BETA1], hyper[H_BETA2]
        h[0], h[1], h[2], h[3] = t(-lr_curr), t(b1), t(1.0 - b1), t(b2)
        h[4], h[5], h[6], h[7] = t(1.0 - b2), t(corr1), t(corr2), t(hyper[H_EPSILON])
    chunks = n_chunks(p.size)
    if chunks == 0:
        _rule(opt_kind, 0, p.size, p, g, s1, s2, h)
    else:
        for k in prange(chunks):
            _rule(opt_kind, k * CHUNK, min(p.size, (k + 1) * CHUNK), p, g, s1, s2, h)


@kernel
def batch_of(data, step, batch_size):
    """Rows ``step * batch_size`` on of ``data`` (the book's ``X[step*bs:(step+1)*bs]``)
    as C-contiguous views; ``step`` counts within an epoch."""
    lo = step * batch_size
    hi = min(data.x.shape[0], lo + batch_size)
    onehot = data.onehot[lo:hi] if data.onehot.shape[0] > 0 else data.onehot
    targets = data.targets[lo:hi] if data.targets.shape[0] > 0 else data.targets
    labels = data.labels[lo:hi] if data.labels.shape[0] > 0 else data.labels
    return Data(data.x[lo:hi], labels, onehot, targets)


@kernel
def train_steps(net, ws, data, opt_kind, hyper, lr_column, batch_size, first, count,
                progress, hist_loss, hist_acc, hist_lr, sums, hist_reg):
    """Run ``count`` training steps from step ``first`` (counted from the start of
    the run: step ``s`` trains on batch ``s % steps_per_epoch``), from the state
    in ``progress``.

    Each step is the book's: forward, loss, accuracy, backward, then
    ``pre_update_params`` (``lr_curr = lr * (1. / (1. + decay * iteration))``
    when decay is non-zero, or ``lr_column[c]`` when the caller computed the
    schedule itself), one update of every parameter, ``post_update_params``
    (``iteration += 1``).  Full-batch training is ``batch_size`` = all rows
    (one step per epoch).  ``hist_*[c]`` receive step ``c``'s loss and
    accuracy (before its update) and the learning rate its update used;
    ``sums`` accumulates the book's per-epoch ``accumulated_sum``/``_count``
    of losses and accuracies (``[loss sum, rows, correct, rows]``).
    ``hist_reg[c]`` receives the regularization loss of step ``c``'s forward
    (the book's ``calculate(..., include_regularization=True)``: the
    parameters before the update); ``hist_loss`` holds the data loss.
    ``progress`` is updated after every step; a label out of range stops the
    call before its step writes any parameter (``P_BAD_LABEL``).  All but the
    call's last step run the fused table; the last runs the plain one, so the
    workspace holds every op's output and gradient.
    """
    lr = hyper[H_LR]
    decay = hyper[H_DECAY]
    lr_curr = progress[P_LR_CURR]
    iteration = int(progress[P_ITERATION])
    n_rows = data.x.shape[0]
    per_epoch = max(1, (n_rows + batch_size - 1) // batch_size)
    regularized = False
    for r in range(net.reg.shape[0]):
        for j in range(R_PENALTY, R_PENALTY + 4):
            regularized |= net.reg[r, j] > 0.0
    # (the step is written out here, not in a helper: each level of calls costs
    # compile time, since LLVM optimizes every caller again with its callees linked in)
    for c in range(count):
        batch = batch_of(data, (first + c) % per_epoch, batch_size)
        x = batch.x
        n = x.shape[0]
        ops = net.fused if c < count - 1 else net.plain
        probs = slot(ws.acts, n, net.head[H_PROBS], net.head[H_CLASSES])
        last = forward(ops, net.params, x, ws.acts, ws)
        loss, bad, total = loss_forward(net.head, last, batch.labels, batch.onehot, probs,
                                        ws.sample_losses, batch.targets)
        if bad >= 0:
            progress[P_BAD_LABEL] = bad + (first + c) % per_epoch * batch_size
            return
        reg_loss = penalty(ops, net.params, net.reg) if regularized else 0.0
        acc, hits = head_accuracy(net.head, net.head_f, last, probs, batch.labels,
                                  batch.targets)
        dlast = slot(ws.dacts, n, ops[ops.shape[0] - 1, C_DOUT], net.head[H_CLASSES])
        loss_backward(net.head, last, batch.labels, batch.onehot, probs, dlast, batch.targets)
        backward(ops, net.params, net.grads, x, ws.acts, ws.dacts, net.reg)
        if lr_column.size:
            lr_curr = lr_column[c]
        elif decay != 0.0:
            lr_curr = lr * (1. / (1. + decay * iteration))
        hist_loss[c] = loss
        hist_acc[c] = acc
        hist_lr[c] = lr_curr
        hist_reg[c] = reg_loss
        if net.head[H_KIND] >= LOSS_BCE:
            # the book's accumulated_sum of np.sum's, added up in the model dtype
            sums[0] = last.dtype.type(sums[0]) + last.dtype.type(total)
        else:
            sums[0] += loss * n
        sums[1] += n
        sums[2] += hits
        sums[3] += n
        optimizer_step(opt_kind, hyper, lr_curr, iteration, net)
        iteration += 1
        progress[P_LR_CURR] = lr_curr
        progress[P_ITERATION] = iteration
        progress[P_EPOCHS] = c + 1


@kernel
def evaluate_batch(net, ws, data):
    """One forward pass with loss and accuracy, no update: ``(total, hits, bad_label)``,
    what the batch adds to the book's ``accumulated_sum`` of the loss (see
    ``loss_forward``) and of the accuracy (matches; the accuracy times the
    rows for the categorical one)."""
    x = data.x
    n = x.shape[0]
    last = forward(net.fused, net.params, x, ws.acts, ws)
    probs = slot(ws.acts, n, net.head[H_PROBS], net.head[H_CLASSES])
    loss, bad, total = loss_forward(net.head, last, data.labels, data.onehot, probs,
                                    ws.sample_losses, data.targets)
    if bad >= 0:
        return 0.0, 0.0, bad
    _, hits = head_accuracy(net.head, net.head_f, last, probs, data.labels, data.targets)
    return total, hits, -1


@kernel
def predict_batch(net, ws, x, out):
    """The model's output for ``x`` into ``out``: the probabilities when the
    head is the fused softmax + cross-entropy, else the last op's output."""
    last = forward(net.fused, net.params, x, ws.acts, ws)
    if net.head[H_KIND] == LOSS_SOFTMAX_CCE:
        softmax_forward(last, out)
    else:
        out[:, :] = last
