"""One compiled training run of a ``Model``: bounded calls, state kept consistent.

``train_epochs`` (chapter 18: full batch) and ``train_batches`` (chapter 19 on)
drive a ``Runner`` between the book's print points and print its lines.

A ``Runner`` owns the flat buffers and the workspace of one ``Model.train``
call and runs training steps in calls of ``kernels.train.train_steps`` of at
most about ``SLICE_SECONDS`` each.  Python handles signals between calls, so
Ctrl-C takes effect promptly; the compiled loop writes its progress (steps
done, iteration, learning rate) after every step, and whatever ends a call --
its end, an error, an interrupt -- the layers and the optimizer are given
exactly the steps that call did (``sync``, idempotent).
"""
import contextlib
import time

import numba
import numpy as np

from . import workspace as W
from ._threads import parallel_section
from .kernels import train as K
from .losses import _penalty
from .optimizer_plan import lr_column, python_schedule

SLICE_SECONDS = 0.25


def penalty_now(plan):
    """The book's ``loss.regularization_loss()`` over the model's dense layers
    (the per-op loss's sums: ``np.sum``'s to the bit)."""
    total = 0
    for layer in plan.dense:
        total = _penalty(layer, total)
    return total


class Runner:

    def __init__(self, model, plan, spec, hyper, data, batch_size, head_f):
        self.model, self.plan, self.spec, self.hyper = model, plan, spec, hyper
        self.data, self.batch_size = data, batch_size
        self.opt = opt = model.optimizer
        dt = data.x.dtype
        # the state the per-op optimizer would create on its first update
        for layer in plan.dense:
            if W.fresh_state(layer, spec.weight_state):
                for name in spec.weight_state:
                    setattr(layer, name, np.zeros_like(layer.weights))
                for name in spec.bias_state:
                    setattr(layer, name, np.zeros_like(layer.biases))
        self.bufs = W.Buffers(plan, dt, spec.weight_state, spec.bias_state)
        self.net = self.bufs.network()
        self.bufs.take_regularization()
        self.bufs.head_f[:] = head_f
        self.ws = W.workspace(plan, min(batch_size, data.x.shape[0]) or 1, dt)
        self.in_python = python_schedule(opt)
        self.no_column = np.empty(0, np.float64)
        self.progress = np.empty(K.N_PROGRESS, np.float64)  # (nnfs.init(): np.zeros is float32)
        self.steps = 0     # steps done in this run
        self.last_batch = None
        _launch_threads()

    def _slice(self, remaining):
        seconds = self.model._epoch_seconds
        if seconds is None:
            return min(remaining, 8)
        return min(remaining, max(1, int(SLICE_SECONDS / max(seconds, 1e-9))))

    def run(self, first, count, loss, accuracy, lr, sums, reg):
        """Run ``count`` steps from within-epoch step ``first``; ``loss[c]``,
        ``accuracy[c]``, ``lr[c]``, ``reg[c]`` receive step ``c``'s values (the
        data loss and the regularization loss apart)."""
        opt, progress = self.opt, self.progress
        done, pending = 0, False
        try:
            while done < count:
                k = self._slice(count - done)
                column, error = self.no_column, None
                if self.in_python:
                    column, _, error = lr_column(opt, opt.iterations, k)
                    k = len(column)
                progress[:] = (opt.current_learning_rate, opt.iterations, 0, -1)
                self.bufs.gather()
                pending = True
                started = time.perf_counter()
                if k:
                    ws, generator_lock = self._workspace()
                    # (the optimizer step over the flat buffer may run a parallel region)
                    with parallel_section(self.plan.n_params), generator_lock:
                        K.train_steps(self.net, ws, self.data, self.spec.code,
                                      self.hyper, column, self.batch_size, first + done, k,
                                      progress, loss[done:], accuracy[done:], lr[done:], sums,
                                      reg[done:])
                    self.model._epoch_seconds = (time.perf_counter() - started) / k
                if progress[K.P_BAD_LABEL] >= 0:  # unreachable: labels were checked
                    raise ValueError(f"label y[{int(progress[K.P_BAD_LABEL])}] out of range")
                done += self.sync()
                pending = False
                if error is not None:
                    raise error
        finally:
            if pending:
                self.sync()
        self.last_batch = (first + count - 1) % self.steps_per_epoch
        return done

    def _workspace(self):
        """The workspace of the next call, and the lock to hold around it.

        With dropout, the workspace views the live state of NumPy's global
        generator (taken anew for each call: a callback may reseed or replace
        it), and the compiled loop draws from it in place, the lock held as
        NumPy's own draws hold it: after any call, however it ended, the
        generator is where the steps the call did leave it (a step's masks
        are drawn in its forward; a step either completes or, on a bad
        label, stops after its forward as the book's ``Model`` would)."""
        if not self.plan.dropout:
            return self.ws, contextlib.nullcontext()
        ws, bitgen = W.with_generator(self.ws)
        return ws, bitgen.lock

    @property
    def steps_per_epoch(self):
        n = self.data.x.shape[0]
        return max(1, -(-n // self.batch_size))

    def sync(self):
        """Put a compiled call's results on the layers and the optimizer;
        returns the steps it did (0 when repeated).  (The generator needs
        nothing here: the call advanced it in place, see ``_workspace``.)"""
        progress, opt = self.progress, self.opt
        ran = int(progress[K.P_EPOCHS])
        if ran:
            self.bufs.scatter()
            opt.iterations = int(progress[K.P_ITERATION])
            if opt.decay:
                lr_curr = float(progress[K.P_LR_CURR])
                if self.in_python:  # keep the per-op value's own type
                    lr_curr = opt.learning_rate * (1. / (1. + opt.decay * (opt.iterations - 1)))
                opt.current_learning_rate = lr_curr
            progress[K.P_EPOCHS] = 0
            self.steps += ran
        return ran

    def regularization_loss(self):
        """The penalty of the layers' parameters now (the per-op loss's sums,
        the book's ``regularization_loss()``); 0.0 without regularization."""
        if not self.bufs.reg[:, W.N.R_PENALTY:].any():
            return 0.0
        return float(penalty_now(self.plan))

    def leave_attributes(self):
        """The per-op attributes of the last step (its batch's rows)."""
        if self.last_batch is None:
            return
        batch = W.batch(self.data, self.last_batch * self.batch_size,
                        (self.last_batch + 1) * self.batch_size)
        W.leave_attributes(self.plan, self.model, self.ws, self.bufs, batch.x)


def train_epochs(model, run, epochs, print_every, verbose, callback, history):
    """Chapter 18: full-batch epochs, a line every ``print_every`` epochs.
    ``history.loss`` gets the book's ``loss = data_loss + regularization_loss``."""
    model._epochs_done = done = 0
    sums = np.empty(4, np.float64)  # (np.empty: nnfs.init() makes np.zeros float32)
    sums.fill(0.0)
    data_loss, reg = np.empty(epochs), np.empty(epochs)
    t = run.data.x.dtype.type
    while done < epochs:
        stop = epochs if print_every is None else \
            min(epochs, (done // print_every + 1) * print_every)
        try:
            run.run(0, stop - done, data_loss[done:], history.accuracy[done:],
                    history.lr[done:], sums, reg[done:])
        finally:
            first, model._epochs_done = done, run.steps
            done = run.steps
            # the sum as the book's scalars add up, in the model dtype
            history.loss[first:done] = (data_loss[first:done].astype(t)
                                        + reg[first:done].astype(t))
        if verbose and print_every is not None and done % print_every == 0:
            print(_line(f"epoch: {done}", history.accuracy[done - 1], t(data_loss[done - 1]),
                        t(reg[done - 1]), run.opt.current_learning_rate))
        if callback is not None:
            callback(done)
    return done

def train_batches(model, run, epochs, print_every, validation_data, verbose, callback,
                  history):
    """Chapter 19 on: mini-batch steps; step, training and validation lines."""
    say = print if verbose else (lambda *a: None)
    per_epoch = run.steps_per_epoch
    loss, acc, lr, reg = (np.empty(per_epoch) for _ in range(4))
    t = run.data.x.dtype.type
    model._epochs_done = 0
    for epoch in range(1, epochs + 1):
        say(f"epoch: {epoch}")
        sums = np.empty(4, np.float64)
        sums.fill(0.0)
        step = 0
        while step < per_epoch:
            if print_every is None:
                stop = per_epoch - 1
            else:  # the book prints at step 0, every print_every-th and the last
                stop = min(per_epoch - 1, -(-step // print_every) * print_every)
            run.run(step, stop - step + 1, loss[step:], acc[step:], lr[step:], sums,
                    reg[step:])
            if print_every is not None:
                say(_line(f"step: {stop}", acc[stop], t(loss[stop]), t(reg[stop]),
                          run.opt.current_learning_rate))
            step = stop + 1
        # the book's calculate_accumulated(include_regularization=True): the
        # penalty of the parameters after the epoch's last update
        if run.plan.target_head:  # the book's scalars: the sum and the count, in the dtype
            data_loss, reg_loss = t(sums[0]) / t(sums[1]), t(run.regularization_loss())
        else:
            data_loss, reg_loss = sums[0] / sums[1], run.regularization_loss()
        history.loss[epoch - 1] = data_loss + reg_loss
        history.accuracy[epoch - 1] = sums[2] / sums[3]
        history.lr[epoch - 1] = lr[per_epoch - 1]
        model._epochs_done = epoch
        say(_line("training", history.accuracy[epoch - 1], data_loss, reg_loss,
                  run.opt.current_learning_rate))
        if validation_data is not None:
            model.evaluate(*validation_data, batch_size=run.batch_size, verbose=verbose)
        if callback is not None:
            callback(epoch)
    return epochs

def _line(head, accuracy, loss, reg_loss, lr):
    """The book's chapter 18-19 progress line (``loss`` is the data loss; the
    sum is taken in the types given, as the book's scalars add up)."""
    return (f"{head}, acc: {accuracy:.3f}, loss: {loss + reg_loss:.3f} (data_loss: "
            f"{loss:.3f}, reg_loss: {reg_loss:.3f}), lr: {lr}")


_threads_launched = False


def _launch_threads():
    """Start Numba's thread pool before the first compiled loop runs.

    The loop is a cached serial function that calls a ``parallel=True``
    kernel; older Numba releases do not start the pool when such a caller is
    loaded from the cache (numba issue 8578; 0.68 does), and a large model's
    update would then crash.  ``get_num_threads`` starts it (once per process;
    a no-op where Numba does it itself)."""
    global _threads_launched
    if not _threads_launched:
        numba.get_num_threads()
        _threads_launched = True
