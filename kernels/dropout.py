"""The dropout layer (chapter 15): the book's mask and its two products.

The book's forward is ``mask = np.random.binomial(1, p, x.shape) / p`` (p
the kept fraction) and ``out = x * mask``; its backward ``d * mask``.  The
mask is NumPy's legacy stream bit for bit (see ``random.py``: MT19937 and
the n = 1 inversion), drawn on the global generator's own state words; the
class holds the generator's lock around the call.  The mask is float64
whatever ``x`` is (int64 draws / a Python float), so a float32 ``x`` gives a
float64 ``out`` as in the book: ``x`` is converted exactly and the product
rounded once, as NumPy's mixed-dtype multiply does.
"""

from ._jit import kernel
from .random import fill_times


@kernel
def dropout_forward(key, pos, p, x, mask, out):
    """``mask`` = the book's mask drawn from ``(key, pos)``, ``out = x * mask``.

    ``x``: a C-contiguous float array; ``mask``, ``out``: float64 of its shape
    (the compiled ``Model`` passes its float32 workspace slots: the product
    is then taken in float64 and rounded once).  Returns the generator's new
    position, or -1, having drawn and written nothing, if the shapes differ.

    ``random.fill_times`` draws (read its docstring), storing the product
    beside each mask value.  ``tests/test_dropout.py`` holds it to
    ``np.random.binomial`` bit for bit, crafted restarts and straddling pairs
    included."""
    if mask.shape != x.shape or out.shape != x.shape:
        return -1
    return fill_times(key, pos, p, mask.reshape(-1), 1.0 / p, 0.0 / p, x.reshape(-1),
                      out.reshape(-1), True)


@kernel
def dropout_backward(dvalues, mask, dinputs):
    """``dinputs = dvalues * mask`` (float64 ``mask`` and ``dinputs``).

    Returns False, having written nothing, if the shapes differ."""
    if mask.shape != dvalues.shape or dinputs.shape != dvalues.shape:
        return False
    df = dvalues.reshape(-1)
    mf = mask.reshape(-1)
    of = dinputs.reshape(-1)
    for i in range(df.size):
        of[i] = df[i] * mf[i]
    return True


@kernel
def dropout_relu_backward(dvalues, mask, relu_out, dinputs):
    """The dropout backward and, before it in the network, a ReLU's backward in
    one pass: ``dinputs = dvalues * mask``, then 0 where ``relu_out <= 0``
    (the ReLU's output: 0 exactly where its input is <= 0, NaN where it is
    NaN, so a NaN passes as in ``relu_backward``).  All arrays of one shape
    (the compiled ``Model``'s fused table; callers check shapes)."""
    df = dvalues.reshape(-1)
    mf = mask.reshape(-1)
    rf = relu_out.reshape(-1)
    of = dinputs.reshape(-1)
    for i in range(df.size):
        v = df[i] * mf[i]
        of[i] = 0.0 if rf[i] <= 0.0 else v
