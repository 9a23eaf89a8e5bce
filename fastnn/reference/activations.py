"""The book's activations, as the book writes them.

Part of the NumPy twin ``fastnn.reference``: see its docstring.

``forward(inputs, training=False)``: the book's chapters 18-22 pass
``training`` to every forward (activations ignore it); it defaults to False
here so that the code of chapters 10-17, ``forward(inputs)``, runs too.
"""
import numpy as np


class Activation_ReLU:

    def forward(self, inputs, training=False):
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

    def forward(self, inputs, training=False):
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


class Activation_Sigmoid:

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = 1 / (1 + np.exp(-inputs))

    def backward(self, dvalues):
        # derivative, from the output of the sigmoid function
        self.dinputs = dvalues * (1 - self.output) * self.output

    # Calculate predictions for outputs (the book's chapter 18)
    def predictions(self, outputs):
        return (outputs > 0.5) * 1


class Sigmoid(Activation_Sigmoid):
    pass


class Activation_Linear:

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = inputs

    def backward(self, dvalues):
        # derivative is 1, 1 * dvalues = dvalues (the chain rule)
        self.dinputs = dvalues.copy()

    # Calculate predictions for outputs (the book's chapter 18)
    def predictions(self, outputs):
        return outputs
