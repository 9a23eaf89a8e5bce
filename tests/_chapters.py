"""The book's chapter 14, 15, 16 and 17 training scripts, shared by tests and benchmarks.

Imported by the test modules as ``from _chapters import ...`` (pytest puts
``tests/`` on ``sys.path``) and by ``benchmarks/bench_ch16_17.py`` by file path.

``CH14_SCRIPT`` (spiral 2-64-3 with L2 on the first layer, softmax +
cross-entropy, Adam), ``CH15_SCRIPT`` (the same on 1000 points per class with
dropout 0.1), ``CH16_SCRIPT`` (binary logistic regression on ``spiral_data(100, 2)``: 2-64-1,
ReLU, sigmoid, binary cross-entropy, Adam, L2 on the first layer, then the
validation pass) and ``CH17_SCRIPT`` (sine regression: 1-64-64-1, ReLU,
linear, mean squared error, Adam) are the book's code after its class
definitions (``Chapter_NN/ChNN_Final.py``, from "Create dataset" on),
verbatim; chapter 17's closing matplotlib plot is left out.  ``program()``
puts the book's preamble with one import line in front, so the NumPy twin
and fastnn run the same text with only that line changed.

The chapter 16 and 17 scripts use the regularization of chapter 14 (``Layer_Dense(...,
weight_regularizer_l2=...)``, ``loss_function.regularization_loss(layer)``;
chapter 17's coefficients are all zero).  ``without_regularization()`` is the
same script with those lines reduced to what they compute without
regularizers, for classes that do not have them yet.
"""
from __future__ import annotations

import contextlib
import inspect
import io
import textwrap

import numpy as np

PREAMBLE = """\
import numpy as np
import nnfs
from nnfs.datasets import {dataset}
{import_line}
"""

_CH14_15_IMPORT = ("from {module} import Layer_Dense, Activation_ReLU, Activation_Softmax, "
                   "Loss, Loss_CategoricalCrossentropy, "
                   "Activation_Softmax_Loss_CategoricalCrossentropy, Optimizer_Adam, "
                   "Layer_Dropout")
IMPORTS = {
    14: _CH14_15_IMPORT,
    15: _CH14_15_IMPORT,
    16: ("from {module} import Layer_Dense, Activation_ReLU, Activation_Sigmoid, "
         "Loss_BinaryCrossentropy, Optimizer_Adam"),
    17: ("from {module} import Layer_Dense, Activation_ReLU, Activation_Linear, "
         "Loss_MeanSquaredError, Optimizer_Adam"),
}
DATASETS = {14: "spiral_data", 15: "spiral_data", 16: "spiral_data", 17: "sine_data"}
LOOP = "for epoch in range(10001):\n"

CH14_SCRIPT = r"""
# Create dataset
X, y = spiral_data(samples=100, classes=3)

# Create Dense layer with 2 input features and 64 output values
dense1 = Layer_Dense(2, 64, weight_regularizer_l2=5e-4,
                            bias_regularizer_l2=5e-4)

# Create ReLU activation (to be used with Dense layer):
activation1 = Activation_ReLU()

# Create second Dense layer with 64 input features (as we take output
# of previous layer here) and 3 output values (output values)
dense2 = Layer_Dense(64, 3)

# Create Softmax classifier's combined loss and activation
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

# Create optimizer
optimizer = Optimizer_Adam(learning_rate=0.02, decay=5e-7)

# Train in loop
for epoch in range(10001):

    # Perform a forward pass of our training data through this layer
    dense1.forward(X)

    # Perform a forward pass through activation function
    # takes the output of first dense layer here
    activation1.forward(dense1.output)

    # Perform a forward pass through second Dense layer
    # takes outputs of activation function of first layer as inputs
    dense2.forward(activation1.output)

    # Perform a forward pass through the activation/loss function
    # takes the output of second dense layer here and returns loss
    data_loss = loss_activation.forward(dense2.output, y)

    # Calculate regularization penalty
    regularization_loss = \
        loss_activation.loss.regularization_loss(dense1) + \
        loss_activation.loss.regularization_loss(dense2)

    # Calculate overall loss
    loss = data_loss + regularization_loss

    # Calculate accuracy from output of activation2 and targets
    # calculate values along first axis
    predictions = np.argmax(loss_activation.output, axis=1)
    if len(y.shape) == 2:
        y = np.argmax(y, axis=1)
    accuracy = np.mean(predictions==y)

    if not epoch % 100:
        print(f'epoch: {epoch}, ' +
              f'acc: {accuracy:.3f}, ' +
              f'loss: {loss:.3f} (' +
              f'data_loss: {data_loss:.3f}, ' +
              f'reg_loss: {regularization_loss:.3f}), ' +
              f'lr: {optimizer.current_learning_rate}')

    # Backward pass
    loss_activation.backward(loss_activation.output, y)
    dense2.backward(loss_activation.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)

    # Update weights and biases
    optimizer.pre_update_params()
    optimizer.update_params(dense1)
    optimizer.update_params(dense2)
    optimizer.post_update_params()



# Validate the model

# Create test dataset
X_test, y_test = spiral_data(samples=100, classes=3)

# Perform a forward pass of our testing data through this layer
dense1.forward(X_test)

# Perform a forward pass through activation function
# takes the output of first dense layer here
activation1.forward(dense1.output)

# Perform a forward pass through second Dense layer
# takes outputs of activation function of first layer as inputs
dense2.forward(activation1.output)

# Perform a forward pass through the activation/loss function
# takes the output of second dense layer here and returns loss
loss = loss_activation.forward(dense2.output, y_test)

# Calculate accuracy from output of activation2 and targets
# calculate values along first axis
predictions = np.argmax(loss_activation.output, axis=1)
if len(y_test.shape) == 2:
    y_test = np.argmax(y_test, axis=1)
accuracy = np.mean(predictions==y_test)

print(f'validation, acc: {accuracy:.3f}, loss: {loss:.3f}')
"""

CH15_SCRIPT = r"""
# Create dataset
X, y = spiral_data(samples=1000, classes=3)

# Create Dense layer with 2 input features and 64 output values
dense1 = Layer_Dense(2, 64, weight_regularizer_l2=5e-4,
                            bias_regularizer_l2=5e-4)

# Create ReLU activation (to be used with Dense layer):
activation1 = Activation_ReLU()

# Create dropout layer
dropout1 = Layer_Dropout(0.1)

# Create second Dense layer with 64 input features (as we take output
# of previous layer here) and 3 output values (output values)
dense2 = Layer_Dense(64, 3)

# Create Softmax classifier's combined loss and activation
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

# Create optimizer
optimizer = Optimizer_Adam(learning_rate=0.05, decay=5e-5)

# Train in loop
for epoch in range(10001):

    # Perform a forward pass of our training data through this layer
    dense1.forward(X)


    # Perform a forward pass through activation function
    # takes the output of first dense layer here
    activation1.forward(dense1.output)

    # Perform a forward pass through Dropout layer
    dropout1.forward(activation1.output)

    # Perform a forward pass through second Dense layer
    # takes outputs of activation function of first layer as inputs
    dense2.forward(dropout1.output)

    # Perform a forward pass through the activation/loss function
    # takes the output of second dense layer here and returns loss
    data_loss = loss_activation.forward(dense2.output, y)

    # Calculate regularization penalty
    regularization_loss = \
        loss_activation.loss.regularization_loss(dense1) + \
        loss_activation.loss.regularization_loss(dense2)

    # Calculate overall loss
    loss = data_loss + regularization_loss

    # Calculate accuracy from output of activation2 and targets
    # calculate values along first axis
    predictions = np.argmax(loss_activation.output, axis=1)
    if len(y.shape) == 2:
        y = np.argmax(y, axis=1)
    accuracy = np.mean(predictions==y)

    if not epoch % 100:
        print(f'epoch: {epoch}, ' +
              f'acc: {accuracy:.3f}, ' +
              f'loss: {loss:.3f} (' +
              f'data_loss: {data_loss:.3f}, ' +
              f'reg_loss: {regularization_loss:.3f}), ' +
              f'lr: {optimizer.current_learning_rate}')

    # Backward pass
    loss_activation.backward(loss_activation.output, y)
    dense2.backward(loss_activation.dinputs)
    dropout1.backward(dense2.dinputs)
    activation1.backward(dropout1.dinputs)
    dense1.backward(activation1.dinputs)

    # Update weights and biases
    optimizer.pre_update_params()
    optimizer.update_params(dense1)
    optimizer.update_params(dense2)
    optimizer.post_update_params()


# Validate the model

# Create test dataset
X_test, y_test = spiral_data(samples=100, classes=3)

# Perform a forward pass of our testing data through this layer
dense1.forward(X_test)

# Perform a forward pass through activation function
# takes the output of first dense layer here
activation1.forward(dense1.output)

# Perform a forward pass through second Dense layer
# takes outputs of activation function of first layer as inputs
dense2.forward(activation1.output)

# Perform a forward pass through the activation/loss function
# takes the output of second dense layer here and returns loss
loss = loss_activation.forward(dense2.output, y_test)

# Calculate accuracy from output of activation2 and targets
# calculate values along first axis
predictions = np.argmax(loss_activation.output, axis=1)
if len(y_test.shape) == 2:
    y_test = np.argmax(y_test, axis=1)
accuracy = np.mean(predictions==y_test)

print(f'validation, acc: {accuracy:.3f}, loss: {loss:.3f}')
"""

CH16_SCRIPT = r"""
# Create dataset
X, y = spiral_data(samples=100, classes=2)

# Reshape labels to be a list of lists
# Inner list contains one output (either 0 or 1)
# per each output neuron, 1 in this case
y = y.reshape(-1, 1)

# Create Dense layer with 2 input features and 64 output values
dense1 = Layer_Dense(2, 64, weight_regularizer_l2=5e-4,
                            bias_regularizer_l2=5e-4)

# Create ReLU activation (to be used with Dense layer):
activation1 = Activation_ReLU()

# Create second Dense layer with 64 input features (as we take output
# of previous layer here) and 1 output value
dense2 = Layer_Dense(64, 1)

# Create Sigmoid activation:
activation2 = Activation_Sigmoid()

# Create loss function
loss_function = Loss_BinaryCrossentropy()

# Create optimizer
optimizer = Optimizer_Adam(decay=5e-7)

# Train in loop
for epoch in range(10001):

    # Perform a forward pass of our training data through this layer
    dense1.forward(X)

    # Perform a forward pass through activation function
    # takes the output of first dense layer here
    activation1.forward(dense1.output)

    # Perform a forward pass through second Dense layer
    # takes outputs of activation function
    # of first layer as inputs
    dense2.forward(activation1.output)

    # Perform a forward pass through activation function
    # takes the output of second dense layer here
    activation2.forward(dense2.output)

    # Calculate the data loss
    data_loss = loss_function.calculate(activation2.output, y)
    # Calculate regularization penalty
    regularization_loss = \
        loss_function.regularization_loss(dense1) + \
        loss_function.regularization_loss(dense2)

    # Calculate overall loss
    loss = data_loss + regularization_loss

    # Calculate accuracy from output of activation2 and targets
    # Part in the brackets returns a binary mask - array consisting
    # of True/False values, multiplying it by 1 changes it into array
    # of 1s and 0s
    predictions = (activation2.output > 0.5) * 1
    accuracy = np.mean(predictions==y)

    if not epoch % 100:
        print(f'epoch: {epoch}, ' +
              f'acc: {accuracy:.3f}, '+
              f'loss: {loss:.3f} (' +
              f'data_loss: {data_loss:.3f}, ' +
              f'reg_loss: {regularization_loss:.3f}), ' +
              f'lr: {optimizer.current_learning_rate}')

    # Backward pass
    loss_function.backward(activation2.output, y)
    activation2.backward(loss_function.dinputs)
    dense2.backward(activation2.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)

    # Update weights and biases
    optimizer.pre_update_params()
    optimizer.update_params(dense1)
    optimizer.update_params(dense2)
    optimizer.post_update_params()


# Validate the model

# Create test dataset
X_test, y_test = spiral_data(samples=100, classes=2)

# Reshape labels to be a list of lists
# Inner list contains one output (either 0 or 1)
# per each output neuron, 1 in this case
y_test = y_test.reshape(-1, 1)


# Perform a forward pass of our testing data through this layer
dense1.forward(X_test)

# Perform a forward pass through activation function
# takes the output of first dense layer here
activation1.forward(dense1.output)

# Perform a forward pass through second Dense layer
# takes outputs of activation function of first layer as inputs
dense2.forward(activation1.output)

# Perform a forward pass through activation function
# takes the output of second dense layer here
activation2.forward(dense2.output)

# Calculate the data loss
loss = loss_function.calculate(activation2.output, y_test)

# Calculate accuracy from output of activation2 and targets
# Part in the brackets returns a binary mask - array consisting of
# True/False values, multiplying it by 1 changes it into array
# of 1s and 0s
predictions = (activation2.output > 0.5) * 1
accuracy = np.mean(predictions==y_test)

print(f'validation, acc: {accuracy:.3f}, loss: {loss:.3f}')
"""

CH17_SCRIPT = r"""
# Create dataset
X, y = sine_data()

# Create Dense layer with 1 input feature and 64 output values
dense1 = Layer_Dense(1, 64)

# Create ReLU activation (to be used with Dense layer):
activation1 = Activation_ReLU()

# Create second Dense layer with 64 input features (as we take output
# of previous layer here) and 64 output values
dense2 = Layer_Dense(64, 64)

# Create ReLU activation (to be used with Dense layer):
activation2 = Activation_ReLU()

# Create third Dense layer with 64 input features (as we take output
# of previous layer here) and 1 output value
dense3 = Layer_Dense(64, 1)

# Create Linear activation:
activation3 = Activation_Linear()

# Create loss function
loss_function = Loss_MeanSquaredError()

# Create optimizer
optimizer = Optimizer_Adam(learning_rate=0.005, decay=1e-3)


# Accuracy precision for accuracy calculation
# There are no really accuracy factor for regression problem,
# but we can simulate/approximate it. We'll calculate it by checking
# how many values have a difference to their ground truth equivalent
# less than given precision
# We'll calculate this precision as a fraction of standard deviation
# of all the ground truth values
accuracy_precision = np.std(y) / 250

# Train in loop
for epoch in range(10001):

    # Perform a forward pass of our training data through this layer
    dense1.forward(X)

    # Perform a forward pass through activation function
    # takes the output of first dense layer here
    activation1.forward(dense1.output)

    # Perform a forward pass through second Dense layer
    # takes outputs of activation function
    # of first layer as inputs
    dense2.forward(activation1.output)

    # Perform a forward pass through activation function
    # takes the output of second dense layer here
    activation2.forward(dense2.output)

    # Perform a forward pass through third Dense layer
    # takes outputs of activation function of second layer as inputs
    dense3.forward(activation2.output)

    # Perform a forward pass through activation function
    # takes the output of third dense layer here
    activation3.forward(dense3.output)

    # Calculate the data loss
    data_loss = loss_function.calculate(activation3.output, y)

    # Calculate regularization penalty
    regularization_loss = \
        loss_function.regularization_loss(dense1) + \
        loss_function.regularization_loss(dense2) + \
        loss_function.regularization_loss(dense3)

    # Calculate overall loss
    loss = data_loss + regularization_loss

    # Calculate accuracy from output of activation2 and targets
    # To calculate it we're taking absolute difference between
    # predictions and ground truth values and compare if differences
    # are lower than given precision value
    predictions = activation3.output
    accuracy = np.mean(np.absolute(predictions - y) <
                       accuracy_precision)

    if not epoch % 100:
        print(f'epoch: {epoch}, ' +
              f'acc: {accuracy:.3f}, ' +
              f'loss: {loss:.3f} (' +
              f'data_loss: {data_loss:.3f}, ' +
              f'reg_loss: {regularization_loss:.3f}), ' +
              f'lr: {optimizer.current_learning_rate}')

    # Backward pass
    loss_function.backward(activation3.output, y)
    activation3.backward(loss_function.dinputs)
    dense3.backward(activation3.dinputs)
    activation2.backward(dense3.dinputs)
    dense2.backward(activation2.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)

    # Update weights and biases
    optimizer.pre_update_params()
    optimizer.update_params(dense1)
    optimizer.update_params(dense2)
    optimizer.update_params(dense3)
    optimizer.post_update_params()
"""

SCRIPTS = {14: CH14_SCRIPT, 15: CH15_SCRIPT, 16: CH16_SCRIPT, 17: CH17_SCRIPT}

# what the scripts' regularization lines become without regularizers
_UNREGULARIZED = {
    16: [("dense1 = Layer_Dense(2, 64, weight_regularizer_l2=5e-4,\n"
          "                            bias_regularizer_l2=5e-4)\n",
          "dense1 = Layer_Dense(2, 64)\n"),
         ("    regularization_loss = \\\n"
          "        loss_function.regularization_loss(dense1) + \\\n"
          "        loss_function.regularization_loss(dense2)\n",
          "    regularization_loss = 0\n")],
    17: [("    regularization_loss = \\\n"
          "        loss_function.regularization_loss(dense1) + \\\n"
          "        loss_function.regularization_loss(dense2) + \\\n"
          "        loss_function.regularization_loss(dense3)\n",
          "    regularization_loss = 0\n")],
}

# the objects of each script whose arrays a trace records, and the arrays
OBJECTS = {16: ("dense1", "activation1", "dense2", "activation2", "loss_function"),
           17: ("dense1", "activation1", "dense2", "activation2", "dense3", "activation3",
                "loss_function")}
ARRAYS = ("output", "dinputs", "weights", "biases", "dweights", "dbiases",
          "weight_momentums", "weight_cache", "bias_momentums", "bias_cache")
SCALARS = ("data_loss", "regularization_loss", "loss", "accuracy")


def supports_regularization(*modules):
    """Whether every module's ``Layer_Dense`` takes the chapter-14 regularizers and its
    ``Loss`` has ``regularization_loss``."""
    for mod in modules:
        params = inspect.signature(mod.Layer_Dense).parameters
        if "weight_regularizer_l2" not in params or not hasattr(mod.Loss, "regularization_loss"):
            return False
    return True


def without_regularization(chapter, script):
    for old, new in _UNREGULARIZED[chapter]:
        assert script.count(old) == 1, f"chapter {chapter}: {old!r} not in the script"
        script = script.replace(old, new)
    return script


def script(chapter, *, epochs=10001, regularized=True, trace=False):
    """The chapter's script with ``range(epochs)``; ``trace`` adds one line at the end of
    the loop body, ``_record(epoch)``, which the runner defines."""
    text = SCRIPTS[chapter]
    if not regularized:
        text = without_regularization(chapter, text)
    assert text.count(LOOP) == 1
    text = text.replace(LOOP, f"for epoch in range({epochs}):\n")
    if trace:
        last = "    optimizer.post_update_params()\n"
        assert text.count(last) == 1
        text = text.replace(last, last + "    _record(epoch)  # (the test's line)\n")
    return text


def program(chapter, module, *, init=False, **kw):
    """Preamble + the chapter's script with the classes imported from ``module``.
    ``init``: call ``nnfs.init()`` as the book's preamble does (float32); otherwise
    seed NumPy with 0 as ``init()`` would (float64)."""
    head = PREAMBLE.format(dataset=DATASETS[chapter],
                           import_line=IMPORTS[chapter].format(module=module))
    head += "nnfs.init()\n" if init else "np.random.seed(0)\n"
    return head + "\n" + script(chapter, **kw)


def run(chapter, module, *, epochs, regularized=True, init=False):
    """Run the chapter's program with classes from ``module`` (a name), recording every
    epoch: returns (records, printed text, final namespace).  Each record maps
    "name" (the loop's scalars) and "object.array" to copies, taken after the
    epoch's parameter update."""
    records = []
    ns = {"__name__": f"chapter{chapter}"}

    def _record(epoch):
        rec = {"epoch": epoch}
        for name in SCALARS:
            rec[name] = np.asarray(ns[name]).copy()
        for obj in OBJECTS[chapter]:
            for attr in ARRAYS:
                value = getattr(ns[obj], attr, None)
                if value is not None:
                    rec[f"{obj}.{attr}"] = np.array(value, copy=True)
        records.append(rec)

    ns["_record"] = _record
    text = program(chapter, module, init=init, epochs=epochs, regularized=regularized,
                   trace=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, f"<chapter {chapter}, {module}>", "exec"), ns)
    return records, out.getvalue(), ns


class EpochLoop:
    """The chapter's set-up run once, then one pass of its loop body per call (for the
    benchmarks): the same text as the script, executed in one namespace, with the
    every-100th-epoch progress line formatted but not printed."""

    def __init__(self, chapter, module, *, init=False, regularized=True):
        text = program(chapter, module, init=init, regularized=regularized)
        setup, _, rest = text.partition(LOOP)
        body = []
        for line in rest.splitlines(keepends=True):
            if line.strip() and not line.startswith("    "):
                break  # the first statement after the loop (chapter 16's validation)
            body.append(line)
        self.ns = {"__name__": f"chapter{chapter}", "_discard": lambda *a, **k: None}
        exec(compile(setup, f"<chapter {chapter} set-up>", "exec"), self.ns)
        body_text = textwrap.dedent("".join(body)).replace("print(", "_discard(")
        self.code = compile(body_text, f"<chapter {chapter} epoch>", "exec")
        self.epoch = 0

    def __call__(self):
        ns = self.ns
        ns["epoch"] = self.epoch
        exec(self.code, ns)
        self.epoch += 1
