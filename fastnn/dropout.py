"""The dropout layer of chapter 15, with the book's masks bit for bit."""
import numbers

import numpy as np

from ._arrays import F32, F64, as_array
from .kernels import random as _random
from .kernels.dropout import dropout_backward, dropout_forward

_STATE_WORDS = 624          # MT19937 positions run 0..624


def _kernel_ready(a):
    """A 2-D C-contiguous float32/float64 array the kernels take as it is
    (other arrays would make Numba compile another specialisation)."""
    dt = a.dtype
    if not ((dt is F64 or dt is F32) and a.ndim == 2):
        return False
    f = a.flags
    return f.c_contiguous and f.writeable and f.aligned


def _release(layer, *names):
    """Drop the layer's references to the arrays the call is about to replace,
    once nothing can fail any more, before the new ones are allocated: arrays
    nothing else holds are then freed first and their memory is reused.
    Allocated after them, a 3000x64 mask and output went to fresh pages from
    the OS each call (glibc trims the heap top): ~360 page faults, measured
    723 us per forward instead of 109 us.  (The arrays handed out are fresh
    either way; one the caller keeps is not freed.)"""
    d = layer.__dict__
    for name in names:
        d.pop(name, None)


def _numeric(a, what):
    a = as_array(a, what)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {a.dtype} (shape {a.shape})")
    return a


class Layer_Dropout:
    """``Layer_Dropout(rate)``: zero a fraction ``rate`` of the inputs and scale
    the rest by ``1 / (1 - rate)``, as the book.

    As in the book, ``self.rate`` holds the kept fraction ``1 - rate``, and
    ``forward`` stores ``inputs``, ``binary_mask`` (float64: the 0/1 draws of
    ``np.random.binomial(1, self.rate, inputs.shape)`` divided by
    ``self.rate``) and ``output = inputs * binary_mask`` (float64 even for
    float32 inputs, as NumPy's promotion makes the book's); ``backward``
    stores ``dinputs = dvalues * binary_mask``.

    The mask comes from NumPy's global generator: the same bits as the
    book's, and the generator left exactly where ``np.random.binomial``
    leaves it, so a seeded run drops the same units as the book's code; the
    draw and the product are one kernel call (``kernels/dropout.py``).

    ``forward(inputs, training=True)``: the book's chapter 15 calls
    ``forward(inputs)`` and always drops; from chapter 18 on it passes
    ``training`` explicitly and, when it is false, copies the inputs through
    (no draw).  A default of True keeps both chapters' scripts working as
    written (the book itself has no default: chapter 15's signature has no
    ``training``, chapter 18's requires it).
    """

    def __init__(self, rate):
        if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
            raise TypeError(f"Layer_Dropout(rate): rate must be a real number in [0, 1), the "
                            f"fraction of inputs to drop; got {rate!r} of type "
                            f"{type(rate).__name__}")
        if not 0 <= rate < 1:
            raise ValueError(f"Layer_Dropout(rate): rate must be in [0, 1), the fraction of "
                             f"inputs to drop, got {rate!r}"
                             + (" (rate 1 drops everything: the book's mask would be 0 / 0)"
                                if rate == 1 else ""))
        # the book's "inverted rate": the kept fraction
        self.rate = 1 - rate

    def forward(self, inputs, training=True):
        if not training:
            out = inputs.copy() if isinstance(inputs, np.ndarray) else _numeric(inputs, "inputs")
            self.inputs = inputs
            self.output = out
            return
        p = self.rate
        if type(inputs) is np.ndarray and _kernel_ready(inputs) and \
                (type(p) is float or isinstance(p, _random._FAST_P)):
            pf = float(p)
            # p == 0 (NaN mask, NumPy's warning) and invalid p: NumPy's path below
            views = _random.global_mt19937() if 0.0 < pf <= 1.0 else None
            if views is not None and 0 <= int(views[2][0]) <= _STATE_WORDS:
                bitgen, key, pos = views
                _release(self, "binary_mask", "output")
                mask = np.empty(inputs.shape)
                out = np.empty(inputs.shape)
                with bitgen.lock:
                    start = int(pos[0])
                    if 0 <= start <= _STATE_WORDS:
                        pos[0] = dropout_forward(key, start, pf, inputs, mask, out)
                    else:       # a state NumPy itself could not draw from: let it say so
                        mask = None
                if mask is not None:
                    self.inputs = inputs
                    self.binary_mask = mask
                    self.output = out
                    return
        # any other input or generator: the same draws through kernels.random's
        # own fallbacks (np.random.binomial itself where it cannot), NumPy's product
        x = _numeric(inputs, "inputs")
        mask = _random.dropout_mask(p, x.shape)
        out = x * mask
        self.inputs = inputs
        self.binary_mask = mask
        self.output = out

    def backward(self, dvalues):
        mask = self.binary_mask
        if type(dvalues) is np.ndarray and type(mask) is np.ndarray and \
                dvalues.shape == mask.shape:
            dt = dvalues.dtype
            if dt is F64:
                # the book's expression: one NumPy loop is as fast as a kernel
                # here (measured 2.4 us against the kernel's 2.2 us plus its
                # call at 300x64) and there is nothing to fuse
                self.__dict__.pop("dinputs", None)      # see _release
                self.dinputs = dvalues * mask
                return
            if dt is F32 and mask.dtype is F64 and _kernel_ready(dvalues) and \
                    _kernel_ready(mask):
                # float32 * float64: NumPy casts through buffers (measured 2x slower)
                _release(self, "dinputs")
                dinputs = np.empty(dvalues.shape)
                dropout_backward(dvalues, mask, dinputs)
                self.dinputs = dinputs
                return
        d = _numeric(dvalues, "dvalues")
        if d.shape != np.shape(mask):
            raise ValueError(f"dvalues have shape {d.shape} but the dropout mask of the last "
                             f"forward has shape {np.shape(mask)} (the shape of its inputs)")
        self.dinputs = d * mask
