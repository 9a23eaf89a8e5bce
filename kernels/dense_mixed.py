"""The dense backward of a one-output layer for a float32/float64 mix, without the large copies.

When a layer's arrays mix float32 and float64 (chapter 17 after
``nnfs.init()``: float64 ``X`` and targets against float32 parameters), the
classes compute in float64, NumPy's promoted dtype, and round the results to
the dtype the book's expression gives (``nnfs.init()``'s ``np.dot`` returns
float32).  For chapter 17's last layer (float32 inputs, float64 gradient)
converting the 1000x64 inputs to float64 first and rounding a 1000x64
float64 ``dinputs`` afterwards cost more than the product itself (the whole
backward measured 43 us, 28 us through this kernel).  This kernel reads the
narrow inputs as they are (each value widened exactly as it is loaded) and
stores each ``dinputs`` value once, rounded into the narrow output: the same
IEEE operations on the same (widened) values as the all-float64 kernel
followed by ``astype``, so the same bits.  It uses only routines that store
each output value exactly once and never reach BLAS; any other
shape returns False and the caller converts, as before.

(The same idea for the forward of chapter 17's first layer, float64 ``X``
into a float32 output, measured no faster: the mixed-dtype stores vectorize
poorly, 15.6 us against 4.5 us for the float64 kernel plus 4.9 us for the
``astype``.)
"""
from ._jit import kernel
from .dense import BLAS_MIN_MADDS
from .dense_n1 import backward_n1
from .regularization import NO_REGULARIZATION


@kernel
def dense_backward_n1_narrow(x, w, dvalues, dweights, dbiases, dinputs):
    """``dense_backward`` for one output (N == 1, below BLAS size), with ``x``
    (read only in products with ``dvalues``) and ``dinputs`` (stored once per
    value) possibly narrower than ``w``, ``dvalues``, ``dweights``,
    ``dbiases``, whose dtype the sums are taken in.  False, nothing written,
    for other shapes."""
    m, k = x.shape
    if (w.shape[0] != k or w.shape[1] != 1 or dvalues.shape != (m, 1)
            or dweights.shape != (k, 1) or dbiases.shape != (1, 1) or dinputs.shape != (m, k)
            or m * k >= BLAS_MIN_MADDS):
        return False
    backward_n1(x, w, dvalues, dweights, dbiases, dinputs, True, dbiases, NO_REGULARIZATION)
    return True
