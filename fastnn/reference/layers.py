"""The book's dense layer (and later layers), as the book writes them.

Part of the NumPy twin ``fastnn.reference``: see its docstring.
"""
import numpy as np


class Layer_Dense:

    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class DenseLayer(Layer_Dense):

    def __init__(self, nInputs, nNeurons):
        super().__init__(nInputs, nNeurons)
