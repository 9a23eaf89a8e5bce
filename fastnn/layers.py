"""The dense layer, in the book's and the notebook's spelling."""
import numpy as np

from ._arrays import as_array, compute_dtype, dot_dtype, kernel_array, require_2d, result_dtype
from .kernels import sealed
from .kernels.dense import dense_backward, dense_forward


class Layer_Dense:
    """``output = inputs @ weights + biases`` with fused Numba forward/backward.

    Weights are drawn as ``0.01 * np.random.randn(n_inputs, n_neurons)`` from
    NumPy's global generator (looked up at call time, so ``np.random.seed`` and
    ``nnfs.init()`` give the reference's weights and dtype), biases are
    ``np.zeros((1, n_neurons))``.
    """

    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        w = self.weights
        if type(inputs) is np.ndarray:
            # Fast path: the sealed kernel's dispatcher checks dtypes and layout
            # (TypeError otherwise), the kernel checks shapes (False otherwise).
            try:
                out = np.empty((inputs.shape[0], w.shape[1]), w.dtype)
                if sealed.dense_forward(inputs, w, self.biases, out):
                    self.inputs = inputs
                    self.output = out
                    return
            except (TypeError, IndexError, AttributeError):
                pass
        x = as_array(inputs, "inputs")
        x, out = self._forward_general(x, w, self.biases)
        self.inputs = x
        self.output = out

    def _forward_general(self, x, w, b):
        """Any dtype mix, memory order, 1-D input or broadcastable biases."""
        w_2d, b_2d = self._checked_params(w, b)
        if x.ndim == 1:
            x = x.reshape(1, -1)  # np.dot(1-D, W) + b gives one row, as here
        require_2d(x, "inputs")
        if x.shape[1] != w_2d.shape[0]:
            raise ValueError(f"inputs have {x.shape[1]} features (shape {x.shape}) but the "
                             f"layer expects {w_2d.shape[0]} (weights shape {w_2d.shape})")
        ct = compute_dtype(result_dtype("dense forward", x, w, b))
        out = np.empty((x.shape[0], w_2d.shape[1]), ct)
        dense_forward(kernel_array(x, ct), kernel_array(w_2d, ct), kernel_array(b_2d, ct), out)
        # the dtype of the reference's `np.dot(inputs, weights) + biases`
        return x, out.astype(np.result_type(dot_dtype(x, w), b), copy=False)

    @staticmethod
    def _checked_params(w, b):
        if w.ndim != 2:
            raise ValueError(f"weights must be 2-D (n_inputs, n_neurons), got shape {w.shape}")
        n = w.shape[1]
        if b.size != n or (b.ndim == 2 and b.shape[0] != 1) or b.ndim > 2:
            raise ValueError(f"biases have shape {b.shape}, expected (1, {n}) "
                             f"to match weights of shape {w.shape}")
        return w, b.reshape(1, n)

    def backward(self, dvalues):
        w = self.weights
        if type(dvalues) is np.ndarray:
            try:  # fast path, as in forward
                x = self.inputs
                dt = w.dtype
                dweights = np.empty(w.shape, dt)
                dbiases = np.empty((1, w.shape[1]), dt)
                dinputs = np.empty(x.shape, dt)
                if sealed.dense_backward(x, w, dvalues, dweights, dbiases, dinputs):
                    self.dweights = dweights
                    self.dbiases = dbiases
                    self.dinputs = dinputs
                    return
            except (TypeError, IndexError, AttributeError):
                pass
        d = as_array(dvalues, "dvalues")
        self.dweights, self.dbiases, self.dinputs = self._backward_general(self.inputs, w, d)

    def _backward_general(self, x, w, d):
        self._checked_params(w, self.biases)
        require_2d(d, "dvalues")
        expected = (x.shape[0], w.shape[1])
        if d.shape != expected or x.shape[1] != w.shape[0]:
            raise ValueError(f"dvalues have shape {d.shape}, expected {expected} "
                             f"(inputs {x.shape} @ weights {w.shape})")
        ct = compute_dtype(result_dtype("dense backward", x, w, d))
        dweights = np.empty(w.shape, ct)
        dbiases = np.empty((1, w.shape[1]), ct)
        dinputs = np.empty(x.shape, ct)
        dense_backward(kernel_array(x, ct), kernel_array(w, ct), kernel_array(d, ct),
                       dweights, dbiases, dinputs)
        # each result takes the dtype the reference's expression would give
        return (dweights.astype(dot_dtype(x, d), copy=False),
                dbiases.astype(np.sum(d[:0], axis=0).dtype, copy=False),  # ints sum as ints
                dinputs.astype(dot_dtype(d, w), copy=False))
