"""The book's dense layer (and later layers), as the book writes them.

Part of the NumPy twin ``fastnn.reference``: see its docstring.
"""
import numpy as np

from .optimizers import _alias


class Layer_Dense:

    # (not in the book, whose __init__ always sets them: a layer made without
    # __init__, as some tests make bare ones, is unregularized)
    weight_regularizer_l1 = weight_regularizer_l2 = 0
    bias_regularizer_l1 = bias_regularizer_l2 = 0

    def __init__(self, n_inputs, n_neurons,
                 weight_regularizer_l1=0, weight_regularizer_l2=0,
                 bias_regularizer_l1=0, bias_regularizer_l2=0):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2

    # chapter 14 calls forward(inputs), chapter 18 on forward(inputs, training)
    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)

        if self.weight_regularizer_l1 > 0:
            dL1 = np.ones_like(self.weights)
            dL1[self.weights < 0] = -1
            self.dweights += self.weight_regularizer_l1 * dL1
        if self.weight_regularizer_l2 > 0:
            self.dweights += 2 * self.weight_regularizer_l2 * \
                             self.weights
        if self.bias_regularizer_l1 > 0:
            dL1 = np.ones_like(self.biases)
            dL1[self.biases < 0] = -1
            self.dbiases += self.bias_regularizer_l1 * dL1
        if self.bias_regularizer_l2 > 0:
            self.dbiases += 2 * self.bias_regularizer_l2 * \
                            self.biases

        self.dinputs = np.dot(dvalues, self.weights.T)

    # notebook spelling of the strengths
    weightl1 = _alias("weight_regularizer_l1")
    weightl2 = _alias("weight_regularizer_l2")
    biasl1 = _alias("bias_regularizer_l1")
    biasl2 = _alias("bias_regularizer_l2")

    # chapter 21
    def get_parameters(self):
        return self.weights, self.biases

    def set_parameters(self, weights, biases):
        self.weights = weights
        self.biases = biases


class DenseLayer(Layer_Dense):

    def __init__(self, nInputs, nNeurons, weightl1=0, weightl2=0, biasl1=0, biasl2=0):
        super().__init__(nInputs, nNeurons, weightl1, weightl2, biasl1, biasl2)


class Layer_Dropout:

    def __init__(self, rate):
        # the book's "inverted rate": the kept fraction
        self.rate = 1 - rate

    # chapter 15 calls forward(inputs) and always drops; chapter 18 on passes
    # training, and copies the inputs through when it is false
    def forward(self, inputs, training=True):
        self.inputs = inputs

        if not training:
            self.output = inputs.copy()
            return

        self.binary_mask = np.random.binomial(1, self.rate,
                           size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        self.dinputs = dvalues * self.binary_mask


class DropoutLayer(Layer_Dropout):
    pass
