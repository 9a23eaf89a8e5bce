"""Shared helpers for the whole-training-run tests (no fixtures, plain functions).

Imported by the test modules as ``from _loops import ...``: pytest's default
``prepend`` import mode puts ``tests/`` at the front of ``sys.path`` for the test
modules it collects, so no package ``__init__`` is needed.

Everything here drives *both* fastnn and ``fastnn.reference`` the same way: a
2-64-3 network on spiral data (100 samples x 3 classes), the chapter-10 loop of
the book / the seed notebook, one epoch at a time, so two runs can be compared
in lock-step.
"""
from __future__ import annotations

import numpy as np

from fastnn import experiments
from fastnn.experiments import SEED_CONFIGS, SPELLINGS, NotebookLoop, OptimizerConfig

spiral = experiments.spiral  # nnfs's spiral data from NumPy's seeded global generator

NOTEBOOK = SPELLINGS["notebook"]
BOOK = SPELLINGS["book"]

# ---------------------------------------------------------------------------
# Training configurations
#   (id, spelling, optimizer class name, kwargs, calls pre/post hooks?)
# ---------------------------------------------------------------------------

# The seven runs of the seed notebook (fastnn.experiments.SEED_CONFIGS).  The very
# first notebook loop (plain SGD()) does not call preUpdateParams/postUpdateParams.
NOTEBOOK_CONFIGS = [(c.label, "notebook", c.class_name("notebook"), c.kwargs("notebook"), c.hooks)
                    for c in SEED_CONFIGS]


def _book_only(call):
    return OptimizerConfig(None, call)


# The book's chapter-10 runs, plus every optimizer with its defaults (the book
# defaults differ from the notebook's for RMSprop: learning_rate=0.001): the seed's
# seven in the book's spelling and six the notebook does not run, by optimizer.
_SEED = SEED_CONFIGS
BOOK_RUNS = [
    _SEED[0], _book_only("Optimizer_SGD(decay=1e-2)"), _SEED[1], _SEED[2], _SEED[3],
    _book_only("Optimizer_Adagrad()"), _SEED[4],
    _book_only("Optimizer_RMSprop()"), _book_only("Optimizer_RMSprop(decay=1e-4)"), _SEED[5],
    _book_only("Optimizer_Adam()"), _book_only("Optimizer_Adam(learning_rate=0.02, decay=1e-5)"),
    _SEED[6],
]
BOOK_CONFIGS = [(c.call("book").replace(" ", ""), "book", c.class_name("book"), c.kwargs("book"),
                 True) for c in BOOK_RUNS]

ALL_CONFIGS = NOTEBOOK_CONFIGS + BOOK_CONFIGS

STATE_NAMES = ("weight_momentums", "bias_momentums", "weight_cache", "bias_cache")


# ---------------------------------------------------------------------------
# Initial weights
# ---------------------------------------------------------------------------

def initial_weights(seed=1, n_in=2, n_hidden=64, n_out=3):
    """The reference's initial weights (0.01 * randn, layer 1 first, then layer 2)
    from their own generator ``RandomState(seed)``, independent of the data's."""
    return experiments.initial_weights(np.random.RandomState(seed), (n_in, n_hidden, n_out))


# ---------------------------------------------------------------------------
# A network driven by the chapter-10 loop, one epoch at a time
# ---------------------------------------------------------------------------

class Run(NotebookLoop):
    """One training run of the chapter-10 loop with the classes of ``mod``, recording
    everything observable in each epoch (:meth:`epoch_step`)."""

    def __init__(self, mod, spelling, opt_name, opt_kwargs, X, y, w1, w2,
                 dtype=np.float64, hooks=True, shape=(2, 64, 3)):
        super().__init__(mod, getattr(mod, opt_name)(**opt_kwargs), X, y, w1, w2,
                         spelling=spelling, hooks=hooks, dtype=dtype, shape=shape)
        self.n = self.names
        self.mod = mod
        self.epoch = 0

    def lr_curr(self):
        return getattr(self.optimizer, self.n["lr_curr"])

    def iteration(self):
        return getattr(self.optimizer, self.n["iteration"])

    def epoch_step(self):
        """One epoch.  Returns a record of everything observable in it."""
        rec = {}
        loss, acc = self.forward()
        rec["loss"] = loss
        rec["accuracy"] = acc
        rec["lr_printed"] = self.lr_curr()        # what the loop prints
        rec["dense1.output"] = self.dense1.output
        rec["activation1.output"] = self.activation1.output
        rec["dense2.output"] = self.dense2.output
        rec["probabilities"] = self.loss_activation.output
        self.backward()
        rec["loss_activation.dinputs"] = self.loss_activation.dinputs
        rec["dense2.dinputs"] = self.dense2.dinputs
        rec["activation1.dinputs"] = self.activation1.dinputs
        for i, layer in enumerate(self.layers, 1):
            rec[f"dense{i}.dweights"] = layer.dweights
            rec[f"dense{i}.dbiases"] = layer.dbiases
        self.update()
        rec["lr_used"] = self.lr_curr()           # the rate this step used
        rec["iteration"] = self.iteration()
        # every optimizer carries both spellings of its attributes
        rec["optimizer_attrs"] = optimizer_attrs(self.optimizer)
        for i, layer in enumerate(self.layers, 1):
            rec[f"dense{i}.weights"] = layer.weights
            rec[f"dense{i}.biases"] = layer.biases
            for s in STATE_NAMES:
                if hasattr(layer, s):
                    rec[f"dense{i}.{s}"] = getattr(layer, s)
        # snapshot: implementations may reuse buffers between epochs
        rec = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
               for k, v in rec.items()}
        self.epoch += 1
        return rec


def optimizer_attrs(opt):
    """Both spellings of the optimizer's public scalars (missing ones as a marker)."""
    names = ("lr", "learning_rate", "lr_curr", "current_learning_rate", "decay",
             "iteration", "iterations")
    return {n: getattr(opt, n, "<missing>") for n in names}


def compare_records(got, exp, where, rtol, atol, check_dtype=True, acc_slack=0, atol_scale=0.0):
    """Compare one epoch's records; raise AssertionError naming the first mismatch.

    Arrays must satisfy ``|got - exp| <= atol + atol_scale * max|exp| + rtol * |exp|``
    elementwise (``atol_scale`` makes the absolute part relative to the array's
    own magnitude, for float32)."""
    missing = sorted(set(exp) - set(got))
    assert not missing, f"{where}: fastnn lacks {missing} (reference has them)"
    extra = sorted(k for k in set(got) - set(exp) if k.split(".")[-1] in STATE_NAMES)
    assert not extra, f"{where}: fastnn created state {extra} the reference does not have"
    for key in exp:
        e, g = exp[key], got[key]
        if key in ("lr_printed", "lr_used", "iteration", "optimizer_attrs"):
            # exact: a pure function of the iteration counter, no array arithmetic
            assert g == e, f"{where}: {key} {g!r} != reference {e!r}"
            # printed exactly the same by the loop's f-string
            assert f"{g}" == f"{e}", f"{where}: {key} prints {g} vs reference {e}"
            continue
        if key == "accuracy":
            # accuracy = (argmax hits) / N: exact unless a near-tie prediction flipped;
            # ``acc_slack`` flipped samples are allowed (float32 only), the
            # probabilities themselves are compared within tolerance below.
            n_samples = len(exp["probabilities"])
            assert abs(float(g) - float(e)) <= acc_slack / n_samples + 1e-12, \
                f"{where}: accuracy {g!r} != reference {e!r}"
            continue
        g_arr, e_arr = np.asarray(g), np.asarray(e)
        assert g_arr.shape == e_arr.shape, \
            f"{where}: {key} shape {g_arr.shape} != reference {e_arr.shape}"
        if check_dtype:
            assert g_arr.dtype == e_arr.dtype, \
                f"{where}: {key} dtype {g_arr.dtype} != reference {e_arr.dtype}"
        a = atol
        if atol_scale and e_arr.size:
            a = atol + atol_scale * float(np.nanmax(np.abs(e_arr), initial=0.0))
        if not np.allclose(g_arr, e_arr, rtol=rtol, atol=a, equal_nan=True):
            diff = np.abs(g_arr.astype(np.float64) - e_arr.astype(np.float64))
            idx = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.ndim else ()
            raise AssertionError(
                f"{where}: {key} differs beyond rtol={rtol:g} atol={a:g}: max |diff| "
                f"{np.nanmax(diff):.3e} at {idx}: got {g_arr[idx]!r}, reference {e_arr[idx]!r}")


def gate_flips(got, exp):
    """Positions where the two runs' ReLU gates differ (pre-activation signs)."""
    return np.argwhere((np.asarray(got["dense1.output"]) > 0)
                       != (np.asarray(exp["dense1.output"]) > 0))


def lockstep(fast_run, ref_run, epochs, rtol, atol, label, check_dtype=True, acc_slack=0,
             atol_scale=0.0, stop_at_gate_flip=False):
    """Run both for ``epochs`` epochs, comparing every epoch.

    Returns the number of epochs compared.  With ``stop_at_gate_flip`` the
    comparison ends at the first epoch where a hidden pre-activation that both
    runs agree on within tolerance lies on opposite sides of 0 in the two runs:
    ReLU's derivative jumps there, so from that epoch on the two (correct)
    trajectories differ by far more than rounding and comparing them tightly
    means nothing (float32 only: measured at epochs 5 to 17 on these runs).
    """
    for epoch in range(epochs):
        e = ref_run.epoch_step()
        g = fast_run.epoch_step()
        where = f"{label} epoch {epoch}"
        if stop_at_gate_flip:
            flips = gate_flips(g, e)
            if len(flips):
                # the pre-activations themselves must still agree
                compare_records({"dense1.output": g["dense1.output"]},
                                {"dense1.output": e["dense1.output"]},
                                where + f" (ReLU gate flip at {flips[:3].tolist()})",
                                rtol, atol, check_dtype, acc_slack, atol_scale)
                return epoch
        compare_records(g, e, where, rtol, atol, check_dtype, acc_slack, atol_scale)
    return epochs


def resync_steps(fast_run, ref_run, epochs, rtol, atol, label, check_dtype=True, acc_slack=0,
                 atol_scale=0.0):
    """One-step parity along the reference's trajectory.

    Before every epoch the reference's parameters, optimizer state arrays,
    iteration counter and current learning rate are copied into the fastnn run
    (all are attributes user code may write), so each epoch compares one step
    from an identical state: rounding cannot accumulate, and a long horizon can
    be checked at float32 tolerance.  An epoch whose ReLU gates differ between
    the two runs (a pre-activation within rounding of 0) is not compared past
    the pre-activations; returns the number of such epochs.
    """
    n_fast, n_ref = fast_run.n, ref_run.n
    skipped = 0
    for epoch in range(epochs):
        for fl, rl in zip(fast_run.layers, ref_run.layers):
            fl.weights = np.array(rl.weights, copy=True)
            fl.biases = np.array(rl.biases, copy=True)
            for s in STATE_NAMES:
                if hasattr(rl, s):
                    setattr(fl, s, np.array(getattr(rl, s), copy=True))
        setattr(fast_run.optimizer, n_fast["iteration"],
                getattr(ref_run.optimizer, n_ref["iteration"]))
        setattr(fast_run.optimizer, n_fast["lr_curr"],
                getattr(ref_run.optimizer, n_ref["lr_curr"]))
        e = ref_run.epoch_step()
        g = fast_run.epoch_step()
        where = f"{label} (re-synchronised) epoch {epoch}"
        flips = gate_flips(g, e)
        if len(flips):
            compare_records({"dense1.output": g["dense1.output"]},
                            {"dense1.output": e["dense1.output"]},
                            where + f" (ReLU gate flip at {flips[:3].tolist()})",
                            rtol, atol, check_dtype, acc_slack, atol_scale)
            skipped += 1
            continue
        compare_records(g, e, where, rtol, atol, check_dtype, acc_slack, atol_scale)
    return skipped


# ---------------------------------------------------------------------------
# The loops as readers run them (text kept verbatim; only the import line, the
# optimizer line and the epoch count are substituted)
# ---------------------------------------------------------------------------

NOTEBOOK_IMPORT = ("from {module} import DenseLayer, ReLU, SoftMax, Loss, CategoricalCrossEntropy, "
                   "SoftMaxCategoricalCrossEntropy, SGD, AdaGrad, RMSProp, Adam")
BOOK_IMPORT = ("from {module} import Layer_Dense, Activation_ReLU, Activation_Softmax, Loss, "
               "Loss_CategoricalCrossentropy, Activation_Softmax_Loss_CategoricalCrossentropy, "
               "Optimizer_SGD, Optimizer_Adagrad, Optimizer_RMSprop, Optimizer_Adam")

# The seed notebook's first training cell (plain SGD(), no decay hooks), verbatim.
NOTEBOOK_CELL_PLAIN = """# Creating some training data used the spiral_data function
X, y = spiral_data(samples=100, classes=3)

# Create dense layer with 2 input features and 64 output features
dense1 = DenseLayer(2, 64)

# Use a relu activation
activation1 = ReLU()

# Create a dense layer for our output with 64 as an input and 3 as an output
dense2 = DenseLayer(64, 3)

# Use a softmax combined with ccel. for our output 
activationLoss = SoftMaxCategoricalCrossEntropy()

# Initialize optimizer
optimizer = SGD()

# Create the loop that trains our model in epochs
for epoch in range(10000):
    # Perform the forward pass, as shown previously
    dense1.forward(X)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    loss = activationLoss.forward(dense2.output, y)
    
    # Calculate the accuracy
    predictions = np.argmax(activationLoss.output, axis=1)
    if len(y.shape) == 2:
        y = np.argmax(y, axis=1)
    accuracy = np.mean(predictions==y)
    
    if not epoch % 100:
        print(f"epoch: {epoch}, accuracy: {accuracy: .3f}, loss: {loss: .3f}")
        
    # Perform the backward pass
    activationLoss.backward(activationLoss.output, y)
    dense2.backward(activationLoss.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)
    
    # Use the optimizer and update the weights and biases
    optimizer.updateParams(dense1)
    optimizer.updateParams(dense2)"""

# The seed notebook's SGD(decay=1e-3) cell, verbatim.  The notebook's other five
# cells are this one with another optimizer line (and the comment above it).
NOTEBOOK_CELL_DECAY = """# Creating some training data used the spiral_data function
X, y = spiral_data(samples=100, classes=3)

# Create dense layer with 2 input features and 64 output features
dense1 = DenseLayer(2, 64)

# Use a relu activation
activation1 = ReLU()

# Create a dense layer for our output with 64 as an input and 3 as an output
dense2 = DenseLayer(64, 3)

# Use a softmax combined with ccel. for our output 
activationLoss = SoftMaxCategoricalCrossEntropy()

# Initialize optimizer
optimizer = SGD(decay=1e-3)

# Create the loop that trains our model in epochs
for epoch in range(10000):
    # Perform the forward pass, as shown previously
    dense1.forward(X)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    loss = activationLoss.forward(dense2.output, y)
    
    # Calculate the accuracy
    predictions = np.argmax(activationLoss.output, axis=1)
    if len(y.shape) == 2:
        y = np.argmax(y, axis=1)
    accuracy = np.mean(predictions==y)
    
    if not epoch % 100:
        print(f"epoch: {epoch}, accuracy: {accuracy: .3f}, loss: {loss: .3f}, lr: {optimizer.lr_curr}")
        
    # Perform the backward pass
    activationLoss.backward(activationLoss.output, y)
    dense2.backward(activationLoss.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)
    
    # Use the optimizer and update the weights and biases
    optimizer.preUpdateParams()
    optimizer.updateParams(dense1)
    optimizer.updateParams(dense2)
    optimizer.postUpdateParams()"""

# The book's chapter-10 training code (book spelling), as the book prints it;
# the book runs ``nnfs.init()`` in its preamble (see PREAMBLE_* below).
BOOK_SCRIPT = """\
# Create dataset
X, y = spiral_data(samples=100, classes=3)

# Create Dense layer with 2 input features and 64 output values
dense1 = Layer_Dense(2, 64)

# Create ReLU activation (to be used with Dense layer):
activation1 = Activation_ReLU()

# Create second Dense layer with 64 input features (as we take output
# of previous layer here) and 3 output values (output values)
dense2 = Layer_Dense(64, 3)

# Create Softmax classifier's combined loss and activation
loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

# Create optimizer
optimizer = Optimizer_Adam(learning_rate=0.05, decay=5e-7)

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
    loss = loss_activation.forward(dense2.output, y)

    # Calculate accuracy from output of activation2 and targets
    # calculate values along first axis
    predictions = np.argmax(loss_activation.output, axis=1)
    if len(y.shape) == 2:
        y = np.argmax(y, axis=1)
    accuracy = np.mean(predictions==y)

    if not epoch % 100:
        print(f'epoch: {epoch}, ' +
              f'acc: {accuracy:.3f}, ' +
              f'loss: {loss:.3f}, ' +
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
"""

# The optimizer lines of the seed notebook's seven cells, in order, and of the
# book's chapter-10 runs (plus the defaults), as the readers' loops write them.
NOTEBOOK_OPTIMIZERS = [c.call("notebook") for c in SEED_CONFIGS]
BOOK_OPTIMIZERS = [c.call("book") for c in BOOK_RUNS]

# What precedes the loop: the seed's preface (less matplotlib/timeit, unused by
# the loops) and the book's preamble.  ``{import_line}`` is the one line that
# differs between the NumPy classes and fastnn.
PREAMBLE_NOTEBOOK = """\
import numpy as np
import math
import nnfs
from nnfs.datasets import spiral_data
{import_line}
"""
PREAMBLE_BOOK = """\
import numpy as np
import nnfs
from nnfs.datasets import spiral_data
{import_line}
"""


def notebook_cell(optimizer_src="SGD(decay=1e-3)", epochs=10000):
    """The seed's training cell for ``optimizer_src`` with ``range(epochs)``."""
    if optimizer_src == "SGD()":
        cell = NOTEBOOK_CELL_PLAIN
    else:
        cell = NOTEBOOK_CELL_DECAY.replace("optimizer = SGD(decay=1e-3)\n",
                                           f"optimizer = {optimizer_src}\n")
    assert f"optimizer = {optimizer_src}\n" in cell
    return cell.replace("for epoch in range(10000):", f"for epoch in range({epochs}):")


def book_script(optimizer_src="Optimizer_Adam(learning_rate=0.05, decay=5e-7)", epochs=10001):
    """The book's chapter-10 training code for ``optimizer_src`` with ``range(epochs)``."""
    text = BOOK_SCRIPT.replace(
        "optimizer = Optimizer_Adam(learning_rate=0.05, decay=5e-7)\n",
        f"optimizer = {optimizer_src}\n")
    return text.replace("for epoch in range(10001):", f"for epoch in range({epochs}):")


def import_line(spelling, module):
    return (NOTEBOOK_IMPORT if spelling == "notebook" else BOOK_IMPORT).format(module=module)


def program(spelling, module, loop_text):
    """Preamble with the import line for ``module``, then the loop text."""
    pre = PREAMBLE_NOTEBOOK if spelling == "notebook" else PREAMBLE_BOOK
    return pre.format(import_line=import_line(spelling, module)) + "\n" + loop_text


def parse_printed(stdout):
    """{epoch: {'accuracy': str, 'loss': str, 'lr': str or None}} from the loops' prints.

    Handles both formats: the notebook's
    ``epoch: 0, accuracy:  0.360, loss:  1.099, lr: 1.0`` and the book's
    ``epoch: 0, acc: 0.360, loss: 1.099, lr: 1.0``.
    """
    import re

    rows = {}
    pat = re.compile(r"^epoch: (\d+), (?:accuracy|acc): *(\S+), loss: *(\S+?)(?:, lr: (\S+))?$")
    for line in stdout.splitlines():
        m = pat.match(line)
        if m:
            rows[int(m.group(1))] = dict(accuracy=m.group(2), loss=m.group(3), lr=m.group(4),
                                         line=line)
    return rows


def expected_lr_str(lr, decay, epoch):
    """The lr the chapter-10 loop prints at ``epoch`` (set by the previous epoch's
    pre-update hook with t = epoch - 1; the initial rate at epoch 0)."""
    if epoch == 0 or not decay:
        return f"{lr}"
    return f"{lr * (1. / (1. + decay * (epoch - 1)))}"
