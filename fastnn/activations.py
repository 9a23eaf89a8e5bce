"""ReLU and softmax activations, in both spellings."""
import numpy as np

from ._arrays import F32, F64, as_array, compute_dtype, kernel_array, require_2d, result_dtype
from .kernels import sealed
from .kernels.activations import (relu_backward, relu_forward, softmax_backward,
                                  softmax_forward)


def _same_shape(d, like, what):
    if d.shape != like.shape:
        raise ValueError(f"dvalues have shape {d.shape}, expected {like.shape} "
                         f"(the shape of this {what}'s forward output)")


class Activation_ReLU:
    """``output = max(0, inputs)``."""

    def forward(self, inputs):
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

    def forward(self, inputs):
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
