"""In-place optimizer updates: one pass over each parameter and its state.

Each rule is a pure function of (parameter, gradient, state, hyper-parameters)
over flat arrays (the parallel path hands each thread slices), written in exactly the reference's
operation order with the hyper-parameters first rounded to the parameter dtype
(NumPy 2 treats a Python float as a "weak" scalar of the array's dtype), so
float32 and float64 results match the NumPy twin bit for bit.  No fastmath:
these loops have no reductions, vectorize as they are, and must propagate NaN
and inf like NumPy.

Every public kernel updates a layer's weights *and* biases with their state
in one call, so ``update_params`` pays one dispatch.  Parameters with at least
``PARALLEL_MIN_SIZE`` elements are split into chunks shared by the threads;
smaller ones never touch the thread pool.  The public kernels are themselves
the ``parallel=True`` functions: a cached serial function that calls a cached
parallel one can crash on reload (numba issue 8578).

Arrays must be C-contiguous and of one float dtype (the callers in ``fastnn``
see to that); each public kernel checks the shapes itself and returns False,
having written nothing, when they do not match (Numba does no bounds checks).
"""
from math import sqrt

from numba import prange

from ._jit import kernel

# Below this many elements a parameter is updated on the calling thread:
# waking the thread pool costs more than the update (benchmarks/: see README).
PARALLEL_MIN_SIZE = 1 << 18
CHUNK = 1 << 16


@kernel
def n_chunks(n):
    """How many CHUNK-sized slices a parallel update of ``n`` elements uses (0: serial)."""
    return 0 if n < PARALLEL_MIN_SIZE else (n + CHUNK - 1) // CHUNK


@kernel
def sgd_rule(p, g, neg_lr):
    for i in range(p.size):
        p[i] += neg_lr * g[i]


@kernel
def sgd_momentum_rule(p, g, m, lr, momentum):
    for i in range(p.size):
        update = momentum * m[i] - lr * g[i]
        m[i] = update
        p[i] += update


@kernel
def adagrad_rule(p, g, c, neg_lr, eps):
    for i in range(p.size):
        gi = g[i]
        ci = c[i] + gi * gi
        c[i] = ci
        p[i] += neg_lr * gi / (sqrt(ci) + eps)


@kernel
def rmsprop_rule(p, g, c, neg_lr, eps, rho, one_minus_rho):
    for i in range(p.size):
        gi = g[i]
        ci = rho * c[i] + one_minus_rho * (gi * gi)
        c[i] = ci
        p[i] += neg_lr * gi / (sqrt(ci) + eps)


@kernel
def adam_rule(p, g, m, c, neg_lr, b1, one_minus_b1, b2, one_minus_b2, corr1, corr2, eps):
    for i in range(p.size):
        gi = g[i]
        mi = b1 * m[i] + one_minus_b1 * gi
        ci = b2 * c[i] + one_minus_b2 * (gi * gi)
        m[i] = mi
        c[i] = ci
        p[i] += neg_lr * (mi / corr1) / (sqrt(ci / corr2) + eps)


@kernel(parallel=True)
def sgd_update(w, dw, b, db, lr):
    """``w += -lr * dw``; ``b += -lr * db``."""
    if dw.shape != w.shape or db.shape != b.shape:
        return False
    neg_lr = w.dtype.type(-lr)
    wf, gf = w.reshape(-1), dw.reshape(-1)
    chunks = n_chunks(wf.size)
    if chunks == 0:
        sgd_rule(wf, gf, neg_lr)
    else:
        for k in prange(chunks):
            lo, hi = k * CHUNK, min(wf.size, (k + 1) * CHUNK)
            sgd_rule(wf[lo:hi], gf[lo:hi], neg_lr)
    sgd_rule(b.reshape(-1), db.reshape(-1), neg_lr)
    return True


@kernel(parallel=True)
def sgd_momentum_update(w, dw, mw, b, db, mb, lr, momentum):
    """``m = momentum * m - lr * d; p += m`` for weights and biases."""
    if dw.shape != w.shape or mw.shape != w.shape or db.shape != b.shape or mb.shape != b.shape:
        return False
    t = w.dtype.type
    lr_, mom = t(lr), t(momentum)
    wf, gf, mf = w.reshape(-1), dw.reshape(-1), mw.reshape(-1)
    chunks = n_chunks(wf.size)
    if chunks == 0:
        sgd_momentum_rule(wf, gf, mf, lr_, mom)
    else:
        for k in prange(chunks):
            lo, hi = k * CHUNK, min(wf.size, (k + 1) * CHUNK)
            sgd_momentum_rule(wf[lo:hi], gf[lo:hi], mf[lo:hi], lr_, mom)
    sgd_momentum_rule(b.reshape(-1), db.reshape(-1), mb.reshape(-1), lr_, mom)
    return True


@kernel(parallel=True)
def adagrad_update(w, dw, cw, b, db, cb, lr, epsilon):
    """``c += d**2; p += -lr * d / (sqrt(c) + epsilon)``."""
    if dw.shape != w.shape or cw.shape != w.shape or db.shape != b.shape or cb.shape != b.shape:
        return False
    t = w.dtype.type
    neg_lr, eps = t(-lr), t(epsilon)
    wf, gf, cf = w.reshape(-1), dw.reshape(-1), cw.reshape(-1)
    chunks = n_chunks(wf.size)
    if chunks == 0:
        adagrad_rule(wf, gf, cf, neg_lr, eps)
    else:
        for k in prange(chunks):
            lo, hi = k * CHUNK, min(wf.size, (k + 1) * CHUNK)
            adagrad_rule(wf[lo:hi], gf[lo:hi], cf[lo:hi], neg_lr, eps)
    adagrad_rule(b.reshape(-1), db.reshape(-1), cb.reshape(-1), neg_lr, eps)
    return True


@kernel(parallel=True)
def rmsprop_update(w, dw, cw, b, db, cb, lr, epsilon, rho):
    """``c = rho * c + (1 - rho) * d**2; p += -lr * d / (sqrt(c) + epsilon)``."""
    if dw.shape != w.shape or cw.shape != w.shape or db.shape != b.shape or cb.shape != b.shape:
        return False
    t = w.dtype.type
    neg_lr, eps, r, omr = t(-lr), t(epsilon), t(rho), t(1.0 - rho)
    wf, gf, cf = w.reshape(-1), dw.reshape(-1), cw.reshape(-1)
    chunks = n_chunks(wf.size)
    if chunks == 0:
        rmsprop_rule(wf, gf, cf, neg_lr, eps, r, omr)
    else:
        for k in prange(chunks):
            lo, hi = k * CHUNK, min(wf.size, (k + 1) * CHUNK)
            rmsprop_rule(wf[lo:hi], gf[lo:hi], cf[lo:hi], neg_lr, eps, r, omr)
    rmsprop_rule(b.reshape(-1), db.reshape(-1), cb.reshape(-1), neg_lr, eps, r, omr)
    return True


@kernel(parallel=True)
def adam_update(w, dw, mw, cw, b, db, mb, cb, lr, beta1, beta2, epsilon, corr1, corr2):
    """Adam with bias correction; ``corr1 = 1 - beta1**(t+1)``, ``corr2 = 1 - beta2**(t+1)``.

    Each parameter's rule computes in its gradient's dtype (the state has it
    too), the hyper-parameters rounded to it: NumPy's dtype for the book's
    expressions.  That is the parameter's own dtype, except for float32
    biases with a float64 gradient and state (chapter 17's last layer after
    ``nnfs.init()``), whose float64 update is rounded as it is added, as the
    book's ``+=`` does."""
    if (dw.shape != w.shape or mw.shape != w.shape or cw.shape != w.shape
            or db.shape != b.shape or mb.shape != b.shape or cb.shape != b.shape):
        return False
    t = dw.dtype.type
    h = (t(-lr), t(beta1), t(1.0 - beta1), t(beta2), t(1.0 - beta2), t(corr1), t(corr2),
         t(epsilon))
    tb = db.dtype.type
    hb = (tb(-lr), tb(beta1), tb(1.0 - beta1), tb(beta2), tb(1.0 - beta2), tb(corr1),
          tb(corr2), tb(epsilon))
    wf, gf, mf, cf = w.reshape(-1), dw.reshape(-1), mw.reshape(-1), cw.reshape(-1)
    chunks = n_chunks(wf.size)
    if chunks == 0:
        adam_rule(wf, gf, mf, cf, *h)
    else:
        for k in prange(chunks):
            lo, hi = k * CHUNK, min(wf.size, (k + 1) * CHUNK)
            adam_rule(wf[lo:hi], gf[lo:hi], mf[lo:hi], cf[lo:hi], *h)
    adam_rule(b.reshape(-1), db.reshape(-1), mb.reshape(-1), cb.reshape(-1), *hb)
    return True
