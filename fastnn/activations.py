"""The book's activations: ReLU, softmax, sigmoid (chapter 16) and linear (chapter 17).

``forward(inputs, training=False)``: the book's later chapters (18-22) pass
``training`` to every layer's forward; activations ignore it, and chapter
10-17 code that calls ``forward(inputs)`` keeps working.
"""
import numpy as np

from ._arrays import F32, F64, as_array, compute_dtype, kernel_array, require_2d, result_dtype
from .kernels import sealed
from .kernels.activations import (relu_backward, relu_forward, softmax_backward,
                                  softmax_forward)
from .kernels.binary import sigmoid_backward, sigmoid_forward


def _same_shape(d, like, what):
    if d.shape != like.shape:
        raise ValueError(f"dvalues have shape {d.shape}, expected {like.shape} "
                         f"(the shape of this {what}'s forward output)")


class Activation_ReLU:
    """``output = max(0, inputs)``."""

    def forward(self, inputs, training=False):
        if type(inputs) is np.ndarray:
            # Fast path: the sealed kernel's dispatcher checks dtype, layout and
            # dimensions (TypeError otherwise).
            try:
                out = np.empty(inputs.shape, inputs.dtype)
                if sealed.relu_forward(inputs, out):
                    self.inputs = inputs
                    self.output = out
                    return
            except TypeError:
                pass
        x = as_array(inputs, "inputs")
        dt = x.dtype
        if (dt is F64 or dt is F32) and x.flags.c_contiguous:
            out = np.empty(x.shape, dt)
            relu_forward(x, out)  # any number of dimensions
        else:
            out = self._forward_general(x)
        self.inputs = x
        self.output = out

    @staticmethod
    def _forward_general(x):
        dt = x.dtype
        if dt.kind in "iub":
            return np.maximum(0, x)  # integers keep their dtype, as in the reference
        dt = result_dtype("ReLU", x)
        ct = compute_dtype(dt)
        out = np.empty(x.shape, ct)
        relu_forward(kernel_array(x, ct), out)
        return out.astype(dt, copy=False)

    def backward(self, dvalues):
        if type(dvalues) is np.ndarray:
            try:  # fast path, as in forward
                dinputs = np.empty(dvalues.shape, dvalues.dtype)
                if sealed.relu_backward(self.inputs, dvalues, dinputs):
                    self.dinputs = dinputs
                    return
            except (TypeError, AttributeError):
                pass
        d = as_array(dvalues, "dvalues")
        x = self.inputs
        dt = d.dtype
        if (d.shape == x.shape and (dt is F64 or dt is F32) and x.dtype is dt
                and d.flags.c_contiguous and x.flags.c_contiguous):
            dinputs = np.empty(d.shape, dt)
            relu_backward(x, d, dinputs)
        else:
            _same_shape(d, x, "ReLU")
            dt = result_dtype("ReLU backward", d)
            ct = compute_dtype(dt)
            dinputs = np.empty(d.shape, ct)
            relu_backward(kernel_array(x, ct), kernel_array(d, ct), dinputs)
            dinputs = dinputs.astype(d.dtype, copy=False)
        self.dinputs = dinputs

    def predictions(self, outputs):
        """The book's (chapter 18) prediction of an output layer: the outputs themselves."""
        return outputs


class Activation_Softmax:
    """Row-wise softmax; backward uses ``s * (d - sum(s * d))`` instead of a Jacobian loop."""

    def forward(self, inputs, training=False):
        x = inputs if type(inputs) is np.ndarray else as_array(inputs, "inputs")
        dt = x.dtype
        if (dt is F64 or dt is F32) and x.ndim == 2 and x.flags.c_contiguous:
            out = np.empty(x.shape, dt)
            softmax_forward(x, out)
        else:
            require_2d(x, "softmax inputs")
            dt = result_dtype("softmax", x)
            ct = compute_dtype(dt)
            out = np.empty(x.shape, ct)
            softmax_forward(kernel_array(x, ct), out)
            out = out.astype(dt, copy=False)
        self.inputs = x
        self.output = out

    def backward(self, dvalues):
        d = dvalues if type(dvalues) is np.ndarray else as_array(dvalues, "dvalues")
        s = self.output
        dt = s.dtype
        if (d.shape == s.shape and d.dtype is dt and d.flags.c_contiguous
                and s.flags.c_contiguous and (dt is F64 or dt is F32)):
            dinputs = np.empty(d.shape, dt)
            softmax_backward(s, d, dinputs)
        else:
            _same_shape(d, s, "softmax")
            # the reference fills np.empty_like(dvalues)
            dt = d.dtype if d.dtype.kind == "f" else F64
            ct = compute_dtype(result_dtype("softmax backward", s, d))
            dinputs = np.empty(d.shape, ct)
            softmax_backward(kernel_array(s, ct), kernel_array(d, ct), dinputs)
            dinputs = dinputs.astype(dt, copy=False)
        self.dinputs = dinputs

    def predictions(self, outputs):
        """The book's (chapter 18) prediction of a softmax output: the most likely class."""
        return np.argmax(outputs, axis=1)


class Activation_Sigmoid:
    """``output = 1 / (1 + exp(-inputs))``; backward ``dvalues * (1 - output) * output``."""

    def forward(self, inputs, training=False):
        if type(inputs) is np.ndarray:
            try:  # fast path: 2-D float32/float64 C arrays (the sealed dispatcher checks)
                out = np.empty(inputs.shape, inputs.dtype)
                if sealed.sigmoid_forward(inputs, out):
                    self.inputs = inputs
                    self.output = out
                    return
            except TypeError:
                pass
        x = as_array(inputs, "inputs")
        dt = _sigmoid_dtype(x)
        ct = compute_dtype(dt)
        out = np.empty(x.size, ct)
        # any number of dimensions: the kernel sees flat memory
        sigmoid_forward(kernel_array(x, ct).reshape(-1), out)
        self.inputs = x
        self.output = out.reshape(x.shape).astype(dt, copy=False)

    def backward(self, dvalues):
        if type(dvalues) is np.ndarray:
            try:  # fast path, as in forward
                dinputs = np.empty(dvalues.shape, dvalues.dtype)
                if sealed.sigmoid_backward(self.output, dvalues, dinputs):
                    self.dinputs = dinputs
                    return
            except (TypeError, AttributeError):
                pass
        d = as_array(dvalues, "dvalues")
        s = self.output
        _same_shape(d, s, "sigmoid")
        dt = result_dtype("sigmoid backward", d, s)
        ct = compute_dtype(dt)
        dinputs = np.empty(d.size, ct)
        # the output keeps its own dtype: `1 - output` is rounded in it, as in the book
        sigmoid_backward(kernel_array(s, compute_dtype(s.dtype)).reshape(-1),
                         kernel_array(d, ct).reshape(-1), dinputs)
        self.dinputs = dinputs.reshape(d.shape).astype(dt, copy=False)

    def predictions(self, outputs):
        """The book's (chapter 18) prediction of a sigmoid output: 1 above 0.5, else 0."""
        return (outputs > 0.5) * 1


def _sigmoid_dtype(x):
    """The dtype of the book's ``1 / (1 + np.exp(-inputs))``, if fastnn computes in it."""
    result_dtype("sigmoid", x)  # refuses complex, object, extended precision
    if x.dtype.kind not in "biu":
        return x.dtype
    # np.exp gives float16 for 8-bit, float32 for 16-bit integers; `-` refuses booleans
    try:
        return (1 / (1 + np.exp(-x.reshape(-1)[:0]))).dtype
    except TypeError as exc:
        raise TypeError(f"sigmoid: inputs of dtype {x.dtype}: {exc}") from None


class Activation_Linear:
    """The identity (chapter 17): ``output`` is ``inputs`` itself, as in the book.

    No kernel: the forward stores a reference and the backward is the book's
    ``dvalues.copy()``, which NumPy does in less time than a kernel call costs.
    """

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = inputs

    def backward(self, dvalues):
        # derivative 1: the gradient passes through, as a fresh array
        if type(dvalues) is np.ndarray:
            self.dinputs = dvalues.copy()
        else:
            self.dinputs = np.array(as_array(dvalues, "dvalues"))

    def predictions(self, outputs):
        """The book's (chapter 18) prediction of a linear output: the outputs themselves."""
        return outputs
