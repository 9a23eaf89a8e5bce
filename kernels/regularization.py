"""L1/L2 regularization (chapter 14): the gradient terms and the penalty sums.

The book adds to the dense layer's gradients, in this order,

    dweights += l1 * dL1        (dL1 = 1, or -1 where weights < 0)
    dweights += 2 * l2 * weights

and the same on the biases, each only when its coefficient is > 0.  The
dense backward kernels apply ``regularized`` to each gradient value as they
store it (no pass of its own, no call of its own); the penalty of
``Loss.regularization_loss`` is ``l1 * sum(|W|) + l2 * sum(W * W)`` with
NumPy's own summation order (``pairwise_sum``), so it comes out bit for bit.

These kernels are compiled without any fastmath flag: NumPy rounds
``2 * l2 * W`` (and ``W * W``) to the array dtype before adding, and an FMA
contraction of the product into the sum would round once instead of twice.
``regularized`` stays a function of its own (``inline="never"``) for that
reason: inlined at Numba level into a caller compiled with
``reductions=True`` it would take on the caller's contraction flag.
"""

from ._jit import kernel
from .reduction import TERM_ABS, TERM_SQUARE, pairwise_sum

# the coefficients argument of a layer without regularization
NO_REGULARIZATION = (0.0, 0.0, 0.0, 0.0)


@kernel
def regularized(g, w, l1, l2x2, on_l1, on_l2):
    """Gradient ``g`` of parameter ``w`` plus the book's terms, rounded as NumPy does.

    ``l1`` and ``l2x2`` (``2 * l2``, as Python computes it) are already in the
    dtype of ``g``; ``on_l1``/``on_l2``: the coefficient is > 0 (decided on the
    user's value, not on its rounding to float32)."""
    if on_l1:
        # l1 * dL1: +l1, or -l1 where w < 0 (NaN and -0.0 are not < 0)
        g = g + (-l1 if w < 0.0 else l1)
    if on_l2:
        g = g + l2x2 * w
    return g


@kernel
def regularize_inplace(grad, param, l1, l2x2, on_l1, on_l2):
    """``grad = regularized(grad, param)`` elementwise (2-D arrays of one shape),
    for the backward routines that accumulate into ``grad`` itself."""
    l1t = grad.dtype.type(l1)
    l2t = grad.dtype.type(l2x2)
    for i in range(grad.shape[0]):
        for j in range(grad.shape[1]):
            grad[i, j] = regularized(grad[i, j], param[i, j], l1t, l2t, on_l1, on_l2)


@kernel
def regularization_sums(w, b, out, wl1, wl2, bl1, bl2):
    """``out[0, :4] = sum|w|, sum w*w, sum|b|, sum b*b``, each only where its
    coefficient is > 0 (the others are left as they are): the sums of the
    book's ``Loss.regularization_loss``, exactly as ``np.sum`` gives them.
    ``w``, ``b``: C-contiguous arrays of any shape.  Returns False, having
    written nothing, if ``out`` does not have 4 elements."""
    if out.size != 4:
        return False
    o = out.reshape(-1)
    wf = w.reshape(-1)
    bf = b.reshape(-1)
    if wl1 > 0.0:
        o[0] = pairwise_sum(wf, TERM_ABS)
    if wl2 > 0.0:
        o[1] = pairwise_sum(wf, TERM_SQUARE)
    if bl1 > 0.0:
        o[2] = pairwise_sum(bf, TERM_ABS)
    if bl2 > 0.0:
        o[3] = pairwise_sum(bf, TERM_SQUARE)
    return True


@kernel
def regularization_penalty(w, b, start, wl1, wl2, bl1, bl2):
    """``start`` plus the book's penalty of one layer, ``l1 * sum|w| + l2 *
    sum(w * w)`` and the same on ``b``, each term only where its strength is
    > 0, added one after the other as the book's ``+=`` does: for float64
    parameters and strengths, the NumPy scalars' arithmetic exactly (no
    fastmath here: nothing is contracted), in one call instead of
    ``regularization_sums`` and four NumPy scalar products and sums in Python.
    ``w``, ``b``: C-contiguous arrays of any shape."""
    wf = w.reshape(-1)
    bf = b.reshape(-1)
    acc = start
    if wl1 > 0.0:
        acc = acc + wl1 * pairwise_sum(wf, TERM_ABS)
    if wl2 > 0.0:
        acc = acc + wl2 * pairwise_sum(wf, TERM_SQUARE)
    if bl1 > 0.0:
        acc = acc + bl1 * pairwise_sum(bf, TERM_ABS)
    if bl2 > 0.0:
        acc = acc + bl2 * pairwise_sum(bf, TERM_SQUARE)
    return acc
