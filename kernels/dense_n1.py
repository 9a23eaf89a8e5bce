"""The dense layer with one output (N == 1): chapter 16's 64->1 and chapter 17's 64->1.

With one output the general routines waste most of their time: the forward's
dot products run one row at a time (each ends in a horizontal sum of its
vector partial sums), and the backward transposes ``w``, allocates a zero
row and a transposed ``dweights``, and sums the bias gradient through memory
(a store and a load per sample).  Here:

* ``forward_n1``: four rows' dot products per pass over ``w`` (one load of
  ``w[p]`` feeds four of them), measured 2x faster at 200x64->1;
* ``backward_n1``: both products in one pass over the rows of ``x`` and
  ``dinputs`` (``_products_n1``), without temporaries, and the bias gradient
  as NumPy's pairwise sum of the column.
"""
from ._jit import kernel
from .gemm import relu_if
from .reduction import TERM_VALUE, pairwise_sum
from .regularization import regularize_inplace


@kernel(reductions=True)
def forward_n1(x, w, b, out, relu):
    """``out = x @ w + b`` (then ``max(0, out)`` if ``relu``) for w (K, 1).

    The four sums of a pass are registers (no store in the loop), so the
    vectorized loop needs no run-time overlap check and its order depends on
    K only."""
    m, k = x.shape
    wf = w.reshape(-1)
    bias = b[0, 0]
    zero = out.dtype.type(0.0)
    i = 0
    while i + 4 <= m:
        s0 = s1 = s2 = s3 = zero
        for p in range(k):
            wp = wf[p]
            s0 += x[i, p] * wp
            s1 += x[i + 1, p] * wp
            s2 += x[i + 2, p] * wp
            s3 += x[i + 3, p] * wp
        out[i, 0] = relu_if(s0 + bias, relu)
        out[i + 1, 0] = relu_if(s1 + bias, relu)
        out[i + 2, 0] = relu_if(s2 + bias, relu)
        out[i + 3, 0] = relu_if(s3 + bias, relu)
        i += 4
    while i < m:
        s0 = zero
        for p in range(k):
            s0 += x[i, p] * wf[p]
        out[i, 0] = relu_if(s0 + bias, relu)
        i += 1


@kernel(reductions=True)
def _products_n1(x, wf, df, g, dinputs, want_dinputs):
    """``g = x.T @ df`` and (if ``want_dinputs``) ``dinputs = outer(df, wf)``, in
    one pass over the rows of ``x`` and ``dinputs``, four at a time: each block
    of ``x`` rows is read from L2 once, while it is cache-hot the block of
    ``dinputs`` rows is written.  Two passes (``gemm_tn``, then
    ``gemm_nn_small_k`` adding each product to a zero row) measured 1.2 us
    each at 200x64->1, this pass ~1.3 us for both.  ``dinputs`` holds the
    products themselves, as NumPy's one-term ``np.dot`` gives them."""
    m, k = x.shape
    for j in range(k):
        g[j] = 0.0
    i = 0
    while i + 4 <= m:
        d0, d1, d2, d3 = df[i], df[i + 1], df[i + 2], df[i + 3]
        if want_dinputs:
            for j in range(k):
                wj = wf[j]
                dinputs[i, j] = d0 * wj
                dinputs[i + 1, j] = d1 * wj
                dinputs[i + 2, j] = d2 * wj
                dinputs[i + 3, j] = d3 * wj
        for j in range(k):
            g[j] += d0 * x[i, j] + d1 * x[i + 1, j] + d2 * x[i + 2, j] + d3 * x[i + 3, j]
        i += 4
    while i < m:
        d0 = df[i]
        if want_dinputs:
            for j in range(k):
                dinputs[i, j] = d0 * wf[j]
        for j in range(k):
            g[j] += d0 * x[i, j]
        i += 1


@kernel
def backward_n1(x, w, dvalues, dweights, dbiases, dinputs, want_dinputs, b, reg):
    """``dweights = x.T @ dvalues``, ``dbiases = sum(dvalues)``, ``dinputs =
    dvalues @ w.T`` (if ``want_dinputs``) for w (K, 1), plus the L1/L2 terms
    of ``reg`` (see ``dense._backward``)."""
    # np.sum(dvalues, axis=0) of an (N, 1) array is NumPy's pairwise sum of the
    # column: the same bits (a left-to-right sum differed in the last bits, and
    # its chain of dependent additions took 0.2 us at 200 samples)
    dbiases[0, 0] = pairwise_sum(dvalues.reshape(-1), TERM_VALUE)
    # (K, 1) C arrays are flat rows: dweights is written directly, w read as w.T
    _products_n1(x, w.reshape(-1), dvalues.reshape(-1), dweights.reshape(-1), dinputs,
                 want_dinputs)
    wl1, wl2, bl1, bl2 = reg
    if wl1 > 0.0 or wl2 > 0.0:
        regularize_inplace(dweights, w, wl1, wl2, wl1 > 0.0, wl2 > 0.0)
    if bl1 > 0.0 or bl2 > 0.0:
        regularize_inplace(dbiases, b, bl1, bl2, bl1 > 0.0, bl2 > 0.0)
