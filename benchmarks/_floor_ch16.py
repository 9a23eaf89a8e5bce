"""A lower bound for any per-op implementation of chapter 16's script.

The book-spelling classes chapter 16 imports (``Layer_Dense`` with the
chapter-14 regularizer arguments, ``Activation_ReLU``, ``Activation_Sigmoid``,
``Loss_BinaryCrossentropy`` with ``calculate`` and ``regularization_loss``,
``Optimizer_Adam`` with its hooks and ``current_learning_rate``), so the
chapter's script runs on them unchanged (``from benchmarks._floor_ch16 import
...``), each method doing only what every per-op library must: one Python
call, ``np.empty`` for each fresh result array, one Numba call that reads
every input array once and writes every output once (no arithmetic beyond a
sum: the touch kernels of ``benchmarks/_floor.py``), and the attribute stores.

What each call must move, and no more:

* ``calculate`` returns a number and stores nothing: it reads the
  predictions and labels, allocates nothing;
* ``regularization_loss`` reads only the parameters whose strength is > 0
  (nothing for chapter 16's ``dense2``: a Python check returns 0);
* ``Layer_Dense.backward`` reads inputs, weights (the L2 term reads them too:
  once) and the gradient, and writes the three gradients;
* Adam's update reads and writes the parameters and the four state arrays and
  reads the gradients, once each, in place; the step's scalars (learning rate,
  iteration) are passed as they are, the bias corrections left to the kernel.

The results are meaningless (every output is 0.5); ``bench_ch16_17`` times
this loop next to fastnn's and the twin's.
"""
import numpy as np
from numba import njit

from benchmarks import _floor
from benchmarks._floor import _REASSOC, _read, touch_2_1


@njit(cache=True, fastmath=_REASSOC)
def read_2(a, b):
    """The sum of two arrays' elements: a scalar from two reads, no array written."""
    return _read(a) + _read(b)


@njit(cache=True, fastmath=_REASSOC)
def read_1(a):
    return _read(a)


@njit(cache=True, fastmath=_REASSOC, inline="always")
def _touch_param(p, g, m, c, step):
    pf, gf, mf, cf = p.reshape(-1), g.reshape(-1), m.reshape(-1), c.reshape(-1)
    for i in range(pf.size):
        s = step * (gf[i] + mf[i] + cf[i])
        pf[i] += s
        mf[i] += s
        cf[i] += s


@njit(cache=True, fastmath=_REASSOC)
def touch_adam(w, dw, wm, wc, b, db, bm, bc, lr, iteration):
    """Reads the parameters, gradients and state and writes parameters and state
    in place, values unchanged (each element read once, written once)."""
    step = (lr + iteration) * 0.0
    _touch_param(w, dw, wm, wc, step)
    _touch_param(b, db, bm, bc, step)


class Layer_Dense(_floor.DenseLayer):
    """The seed floor's dense layer (same calls) with the chapter-14 arguments stored."""

    def __init__(self, n_inputs, n_neurons,
                 weight_regularizer_l1=0, weight_regularizer_l2=0,
                 bias_regularizer_l1=0, bias_regularizer_l2=0):
        super().__init__(n_inputs, n_neurons)
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2


Activation_ReLU = _floor.ReLU


class Activation_Sigmoid(_floor.ReLU):
    """The floor ReLU's forward; the backward reads the output, as the sigmoid's does."""

    def backward(self, dvalues):
        dinputs = np.empty(dvalues.shape, dvalues.dtype)
        touch_2_1(self.output, dvalues, dinputs)
        self.dinputs = dinputs


class Loss:
    def regularization_loss(self, layer):
        # only the parameters whose strength is > 0 are read
        weights = layer.weight_regularizer_l1 > 0 or layer.weight_regularizer_l2 > 0
        biases = layer.bias_regularizer_l1 > 0 or layer.bias_regularizer_l2 > 0
        if weights and biases:
            return read_2(layer.weights, layer.biases)
        if weights or biases:
            return read_1(layer.weights if weights else layer.biases)
        return 0

    def calculate(self, output, y):
        return read_2(output, y)


class Loss_BinaryCrossentropy(Loss):
    def backward(self, dvalues, y_true):
        dinputs = np.empty(dvalues.shape, dvalues.dtype)
        touch_2_1(dvalues, y_true, dinputs)
        self.dinputs = dinputs


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):  # the book's first-call state
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        touch_adam(layer.weights, layer.dweights, layer.weight_momentums, layer.weight_cache,
                   layer.biases, layer.dbiases, layer.bias_momentums, layer.bias_cache,
                   float(self.current_learning_rate), float(self.iterations))

    def post_update_params(self):
        self.iterations += 1
