"""The book's optimizers, as the book writes them.

Part of the NumPy twin ``fastnn.reference``: see its docstring.
"""
import numpy as np


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
