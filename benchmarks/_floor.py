"""A lower bound for any per-op implementation of the notebook's API.

``FLOOR`` has the notebook's class names (``DenseLayer``, ``ReLU``,
``SoftMaxCategoricalCrossEntropy`` and the optimizers), so the seed's loop
runs on it unchanged, but each method does only what every per-op library
must: one Python call, ``np.empty`` for each fresh result, one Numba call that
reads every input array once and writes every output once (no arithmetic
beyond a sum), and the attribute stores.  Every optimizer makes the cheapest
update, SGD's ``w += -lr * dw``.  The results are meaningless; the time is
what a per-op design cannot beat on this machine with these kernels' memory
traffic, and ``bench_epoch`` times it next to fastnn and the twin.
"""
import types

import numpy as np
from numba import njit

# the reads are sums: reassociation lets them vectorize (as fastnn's kernels)
_REASSOC = {"reassoc", "contract", "nsz"}


@njit(cache=True, fastmath=_REASSOC, inline="always")
def _read(a):
    s = 0.0
    af = a.reshape(-1)
    for i in range(af.size):
        s += af[i]
    return s


@njit(cache=True, inline="always")
def _write(out, v):
    # a value that depends on the reads (so they are not optimised away) but
    # stays 0.5: garbage that grew into denormals or inf would slow the loop
    c = v * 0.0 + 0.5
    of = out.reshape(-1)
    for i in range(of.size):
        of[i] = c


@njit(cache=True, fastmath=_REASSOC)
def touch_1_1(a, out):
    _write(out, _read(a))


@njit(cache=True, fastmath=_REASSOC)
def touch_2_1(a, b, out):
    _write(out, _read(a) + _read(b))
    return 0.0


@njit(cache=True, fastmath=_REASSOC)
def touch_3_1(a, b, c, out):
    _write(out, _read(a) + _read(b) + _read(c))


@njit(cache=True, fastmath=_REASSOC)
def touch_3_3(a, b, c, o1, o2, o3):
    s = _read(a) + _read(b) + _read(c)
    _write(o1, s)
    _write(o2, s)
    _write(o3, s)


@njit(cache=True, fastmath=_REASSOC)
def touch_update(w, dw, b, db, neg_lr):
    wf, gf = w.reshape(-1), dw.reshape(-1)
    step = neg_lr * 0.0  # read and written, values unchanged
    for i in range(wf.size):
        wf[i] += step * gf[i]
    bf, hf = b.reshape(-1), db.reshape(-1)
    for i in range(bf.size):
        bf[i] += step * hf[i]


class DenseLayer:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        w = self.weights
        out = np.empty((inputs.shape[0], w.shape[1]), w.dtype)
        touch_3_1(inputs, w, self.biases, out)
        self.inputs = inputs
        self.output = out

    def backward(self, dvalues):
        w, x = self.weights, self.inputs
        dweights = np.empty(w.shape, w.dtype)
        dbiases = np.empty((1, w.shape[1]), w.dtype)
        dinputs = np.empty(x.shape, w.dtype)
        touch_3_3(x, w, dvalues, dweights, dbiases, dinputs)
        self.dweights = dweights
        self.dbiases = dbiases
        self.dinputs = dinputs


class ReLU:
    def forward(self, inputs):
        out = np.empty(inputs.shape, inputs.dtype)
        touch_1_1(inputs, out)
        self.inputs = inputs
        self.output = out

    def backward(self, dvalues):
        dinputs = np.empty(dvalues.shape, dvalues.dtype)
        touch_2_1(self.inputs, dvalues, dinputs)
        self.dinputs = dinputs


class SoftMaxCategoricalCrossEntropy:
    def forward(self, inputs, y_true):
        probs = np.empty(inputs.shape, inputs.dtype)
        loss = touch_2_1(inputs, y_true, probs)
        self.output = probs
        return loss

    def backward(self, dvalues, y_true):
        dinputs = np.empty(dvalues.shape, dvalues.dtype)
        touch_2_1(dvalues, y_true, dinputs)
        self.dinputs = dinputs


class _Optimizer:
    def __init__(self, lr=1.0, decay=0.0, **hyper):
        self.lr = self.lr_curr = lr
        self.decay = decay
        self.iteration = 0

    def preUpdateParams(self):
        if self.decay:
            self.lr_curr = self.lr * (1. / (1. + self.decay * self.iteration))

    def updateParams(self, layer):
        touch_update(layer.weights, layer.dweights, layer.biases, layer.dbiases,
                     -float(self.lr_curr))

    def postUpdateParams(self):
        self.iteration += 1


FLOOR = types.SimpleNamespace(
    DenseLayer=DenseLayer, ReLU=ReLU, SoftMaxCategoricalCrossEntropy=SoftMaxCategoricalCrossEntropy,
    SGD=_Optimizer, AdaGrad=_Optimizer, RMSProp=_Optimizer, Adam=_Optimizer,
    __name__="floor")
