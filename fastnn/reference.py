"""The independent NumPy twin of fastnn, used by the tests and benchmarks.

These are the plain NumPy classes of *Neural Networks from Scratch in Python*
(chapter 10 state), written exactly as the book does the math, in both
spellings:

* book API: ``Layer_Dense``, ``Activation_ReLU``, ``Activation_Softmax``,
  ``Loss``, ``Loss_CategoricalCrossentropy``,
  ``Activation_Softmax_Loss_CategoricalCrossentropy``, ``Optimizer_SGD``,
  ``Optimizer_Adagrad``, ``Optimizer_RMSprop``, ``Optimizer_Adam``;
* notebook API: ``DenseLayer``, ``ReLU``, ``SoftMax``, ``Loss``,
  ``CategoricalCrossEntropy``, ``SoftMaxCategoricalCrossEntropy``, ``SGD``,
  ``AdaGrad``, ``RMSProp``, ``Adam``.

This module imports nothing but NumPy and never uses fastnn's kernels: it is
the yardstick fastnn is measured against.  ``np.dot``, ``np.zeros``,
``np.eye`` and ``np.random.randn`` are looked up on the ``np`` module at call
time, so ``nnfs.init()``'s monkey-patching affects this code exactly as it
affects a reader's own.
"""

import numpy as np

__all__ = [
    # book API
    "Layer_Dense", "Activation_ReLU", "Activation_Softmax", "Loss",
    "Loss_CategoricalCrossentropy",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Optimizer_SGD", "Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam",
    # notebook API
    "DenseLayer", "ReLU", "SoftMax", "CategoricalCrossEntropy",
    "SoftMaxCategoricalCrossEntropy", "SGD", "AdaGrad", "RMSProp", "Adam",
]


# ---------------------------------------------------------------- layers

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


# ----------------------------------------------------------- activations

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


# ---------------------------------------------------------------- losses

class Loss:

    def calculate(self, output, y):
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        return data_loss


class Loss_CategoricalCrossentropy(Loss):

    def forward(self, y_pred, y_true):
        samples = len(y_pred)
        # clip both ends: log(0) is -inf, and clipping only the low end
        # would bias the mean towards a perfect prediction
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)

        if len(y_true.shape) == 1:
            correct_confidences = y_pred_clipped[range(samples), y_true]
        elif len(y_true.shape) == 2:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)

        negative_log_likelihoods = -np.log(correct_confidences)
        return negative_log_likelihoods

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        labels = len(dvalues[0])

        if len(y_true.shape) == 1:
            y_true = np.eye(labels)[y_true]

        self.dinputs = -y_true / dvalues
        self.dinputs = self.dinputs / samples


class CategoricalCrossEntropy(Loss_CategoricalCrossentropy):
    pass


class Activation_Softmax_Loss_CategoricalCrossentropy:

    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)

        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)

        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class SoftMaxCategoricalCrossEntropy(
        Activation_Softmax_Loss_CategoricalCrossentropy):

    def __init__(self):
        self.activation = SoftMax()
        self.loss = CategoricalCrossEntropy()


# ------------------------------------------------------------ optimizers

def _alias(name):
    """A property that reads and writes attribute ``name`` (keeps the two
    spellings of one piece of optimizer state a single value)."""
    def fget(self):
        return getattr(self, name)

    def fset(self, value):
        setattr(self, name, value)

    return property(fget, fset, doc=f"Alias of ``{name}``.")


class _Optimizer:
    """State and hooks common to the four book optimizers.

    The book spelling holds the values; the notebook spelling is an alias.
    """

    lr = _alias("learning_rate")
    lr_curr = _alias("current_learning_rate")
    iteration = _alias("iterations")

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def post_update_params(self):
        self.iterations += 1

    # notebook spelling; calls through so subclasses' overrides are honoured
    def preUpdateParams(self):
        self.pre_update_params()

    def updateParams(self, layer):
        self.update_params(layer)

    def postUpdateParams(self):
        self.post_update_params()


class Optimizer_SGD(_Optimizer):

    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, 'weight_momentums'):
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)

            weight_updates = \
                self.momentum * layer.weight_momentums - \
                self.current_learning_rate * layer.dweights
            layer.weight_momentums = weight_updates

            bias_updates = \
                self.momentum * layer.bias_momentums - \
                self.current_learning_rate * layer.dbiases
            layer.bias_momentums = bias_updates
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases

        layer.weights += weight_updates
        layer.biases += bias_updates


class Optimizer_Adagrad(_Optimizer):

    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon

    def update_params(self, layer):
        if not hasattr(layer, 'weight_cache'):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)

        layer.weight_cache += layer.dweights**2
        layer.bias_cache += layer.dbiases**2

        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)


class Optimizer_RMSprop(_Optimizer):

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, rho=0.9):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.rho = rho

    def update_params(self, layer):
        if not hasattr(layer, 'weight_cache'):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)

        layer.weight_cache = self.rho * layer.weight_cache + \
            (1 - self.rho) * layer.dweights**2
        layer.bias_cache = self.rho * layer.bias_cache + \
            (1 - self.rho) * layer.dbiases**2

        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)


class Optimizer_Adam(_Optimizer):

    beta1 = _alias("beta_1")
    beta2 = _alias("beta_2")

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7,
                 beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def update_params(self, layer):
        if not hasattr(layer, 'weight_cache'):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)

        layer.weight_momentums = self.beta_1 * layer.weight_momentums + \
            (1 - self.beta_1) * layer.dweights
        layer.bias_momentums = self.beta_1 * layer.bias_momentums + \
            (1 - self.beta_1) * layer.dbiases

        weight_momentums_corrected = layer.weight_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))
        bias_momentums_corrected = layer.bias_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))

        layer.weight_cache = self.beta_2 * layer.weight_cache + \
            (1 - self.beta_2) * layer.dweights**2
        layer.bias_cache = self.beta_2 * layer.bias_cache + \
            (1 - self.beta_2) * layer.dbiases**2

        weight_cache_corrected = layer.weight_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))
        bias_cache_corrected = layer.bias_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))

        layer.weights += -self.current_learning_rate * \
            weight_momentums_corrected / \
            (np.sqrt(weight_cache_corrected) + self.epsilon)
        layer.biases += -self.current_learning_rate * \
            bias_momentums_corrected / \
            (np.sqrt(bias_cache_corrected) + self.epsilon)


# notebook spellings of the optimizers: same math, other argument names

class SGD(Optimizer_SGD):

    def __init__(self, lr=1., decay=0., momentum=0.):
        super().__init__(learning_rate=lr, decay=decay, momentum=momentum)


class AdaGrad(Optimizer_Adagrad):

    def __init__(self, lr=1., decay=0., epsilon=1e-7):
        super().__init__(learning_rate=lr, decay=decay, epsilon=epsilon)


class RMSProp(Optimizer_RMSprop):

    # the notebook's default learning rate is 1.0, the book's 0.001
    def __init__(self, lr=1., decay=0., epsilon=1e-7, rho=0.9):
        super().__init__(learning_rate=lr, decay=decay, epsilon=epsilon,
                         rho=rho)


class Adam(Optimizer_Adam):

    def __init__(self, lr=0.001, decay=0., epsilon=1e-7, beta1=0.9,
                 beta2=0.999):
        super().__init__(learning_rate=lr, decay=decay, epsilon=epsilon,
                         beta_1=beta1, beta_2=beta2)
