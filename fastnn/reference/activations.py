"""The book's activations, as the book writes them.

Part of the NumPy twin ``fastnn.reference``: see its docstring.
"""
import numpy as np


class Activation_ReLU:

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        # copy first: the book must not modify the caller's gradient array
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0

    # Calculate predictions for outputs (the book's chapter 18)
    def predictions(self, outputs):
        return outputs


class ReLU(Activation_ReLU):
    pass


class Activation_Softmax:

    def forward(self, inputs):
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        probabilities = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        self.output = probabilities

    def backward(self, dvalues):
        self.dinputs = np.empty_like(dvalues)
        for index, (single_output, single_dvalues) in \
                enumerate(zip(self.output, dvalues)):
            single_output = single_output.reshape(-1, 1)
            jacobian_matrix = np.diagflat(single_output) - \
                np.dot(single_output, single_output.T)
            self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues)

    # Calculate predictions for outputs (the book's chapter 18)
    def predictions(self, outputs):
        return np.argmax(outputs, axis=1)


class SoftMax(Activation_Softmax):
    pass
