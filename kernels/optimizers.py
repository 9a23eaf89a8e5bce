"""In-place optimizer updates: one pass over each parameter and its state.

Every public kernel updates a layer's weights *and* biases (and their state
arrays) in one call, so a Python ``update_params`` pays one dispatch.  The
per-element rules are written in exactly the reference's operation order, with
the hyper-parameters rounded to the parameter dtype first (NumPy 2 treats a
Python float as a "weak" scalar of the array's dtype), so float32 and float64
results match the NumPy twin bit for bit.  No fastmath: these loops have no
reductions, vectorize as they are, and must propagate NaN/inf like NumPy.

Arrays must be C-contiguous, of one float dtype, and of matching shapes; the
callers in ``fastnn`` validate that (Numba does no bounds checks).
"""
from math import sqrt

from numba import njit, prange

# Below this many elements a parameter is updated on the calling thread:
# waking the thread pool costs more than the update (measured: see README).
PARALLEL_MIN_SIZE = 1 << 18
_CHUNK = 1 << 15


@njit(cache=True, inline="always")
def _chunk_bounds(n, chunk_index):
    lo = chunk_index * _CHUNK
    return lo, min(n, lo + _CHUNK)


@njit(cache=True)
def _sgd_range(p, g, lo, hi, neg_lr):
    for i in range(lo, hi):
        p[i] += neg_lr * g[i]


@njit(cache=True)
def _sgd_momentum_range(p, g, m, lo, hi, lr, momentum):
    for i in range(lo, hi):
        update = momentum * m[i] - lr * g[i]
        m[i] = update
        p[i] += update


@njit(cache=True)
def _adagrad_range(p, g, c, lo, hi, neg_lr, eps):
    for i in range(lo, hi):
        gi = g[i]
        ci = c[i] + gi * gi
        c[i] = ci
        p[i] += neg_lr * gi / (sqrt(ci) + eps)


@njit(cache=True)
def _rmsprop_range(p, g, c, lo, hi, neg_lr, eps, rho, one_minus_rho):
    for i in range(lo, hi):
        gi = g[i]
        ci = rho * c[i] + one_minus_rho * (gi * gi)
        c[i] = ci
        p[i] += neg_lr * gi / (sqrt(ci) + eps)


@njit(cache=True)
def _adam_range(p, g, m, c, lo, hi, neg_lr, b1, one_minus_b1, b2, one_minus_b2,
                corr1, corr2, eps):
    for i in range(lo, hi):
        gi = g[i]
        mi = b1 * m[i] + one_minus_b1 * gi
        ci = b2 * c[i] + one_minus_b2 * (gi * gi)
        m[i] = mi
        c[i] = ci
        p[i] += neg_lr * (mi / corr1) / (sqrt(ci / corr2) + eps)


# --- one driver per rule: serial for small arrays, chunked prange for large ---

@njit(cache=True, parallel=True)
def _sgd_flat(p, g, neg_lr):
    n = p.size
    if n < PARALLEL_MIN_SIZE:
        _sgd_range(p, g, 0, n, neg_lr)
    else:
        for k in prange((n + _CHUNK - 1) // _CHUNK):
            lo, hi = _chunk_bounds(n, k)
            _sgd_range(p, g, lo, hi, neg_lr)


@njit(cache=True, parallel=True)
def _sgd_momentum_flat(p, g, m, lr, momentum):
    n = p.size
    if n < PARALLEL_MIN_SIZE:
        _sgd_momentum_range(p, g, m, 0, n, lr, momentum)
    else:
        for k in prange((n + _CHUNK - 1) // _CHUNK):
            lo, hi = _chunk_bounds(n, k)
            _sgd_momentum_range(p, g, m, lo, hi, lr, momentum)


@njit(cache=True, parallel=True)
def _adagrad_flat(p, g, c, neg_lr, eps):
    n = p.size
    if n < PARALLEL_MIN_SIZE:
        _adagrad_range(p, g, c, 0, n, neg_lr, eps)
    else:
        for k in prange((n + _CHUNK - 1) // _CHUNK):
            lo, hi = _chunk_bounds(n, k)
            _adagrad_range(p, g, c, lo, hi, neg_lr, eps)


@njit(cache=True, parallel=True)
def _rmsprop_flat(p, g, c, neg_lr, eps, rho, one_minus_rho):
    n = p.size
    if n < PARALLEL_MIN_SIZE:
        _rmsprop_range(p, g, c, 0, n, neg_lr, eps, rho, one_minus_rho)
    else:
        for k in prange((n + _CHUNK - 1) // _CHUNK):
            lo, hi = _chunk_bounds(n, k)
            _rmsprop_range(p, g, c, lo, hi, neg_lr, eps, rho, one_minus_rho)


@njit(cache=True, parallel=True)
def _adam_flat(p, g, m, c, neg_lr, b1, one_minus_b1, b2, one_minus_b2, corr1, corr2, eps):
    n = p.size
    if n < PARALLEL_MIN_SIZE:
        _adam_range(p, g, m, c, 0, n, neg_lr, b1, one_minus_b1, b2, one_minus_b2,
                    corr1, corr2, eps)
    else:
        for k in prange((n + _CHUNK - 1) // _CHUNK):
            lo, hi = _chunk_bounds(n, k)
            _adam_range(p, g, m, c, lo, hi, neg_lr, b1, one_minus_b1, b2, one_minus_b2,
                        corr1, corr2, eps)


# --- public kernels: weights and biases in one call ---

@njit(cache=True)
def sgd_update(w, dw, b, db, lr):
    """``w += -lr * dw``; ``b += -lr * db``."""
    neg_lr = w.dtype.type(-lr)
    _sgd_flat(w.reshape(-1), dw.reshape(-1), neg_lr)
    _sgd_flat(b.reshape(-1), db.reshape(-1), neg_lr)


@njit(cache=True)
def sgd_momentum_update(w, dw, mw, b, db, mb, lr, momentum):
    """``m = momentum * m - lr * d; p += m`` for weights and biases."""
    t = w.dtype.type
    _sgd_momentum_flat(w.reshape(-1), dw.reshape(-1), mw.reshape(-1), t(lr), t(momentum))
    _sgd_momentum_flat(b.reshape(-1), db.reshape(-1), mb.reshape(-1), t(lr), t(momentum))


@njit(cache=True)
def adagrad_update(w, dw, cw, b, db, cb, lr, epsilon):
    """``c += d**2; p += -lr * d / (sqrt(c) + epsilon)``."""
    t = w.dtype.type
    _adagrad_flat(w.reshape(-1), dw.reshape(-1), cw.reshape(-1), t(-lr), t(epsilon))
    _adagrad_flat(b.reshape(-1), db.reshape(-1), cb.reshape(-1), t(-lr), t(epsilon))


@njit(cache=True)
def rmsprop_update(w, dw, cw, b, db, cb, lr, epsilon, rho):
    """``c = rho * c + (1 - rho) * d**2; p += -lr * d / (sqrt(c) + epsilon)``."""
    t = w.dtype.type
    _rmsprop_flat(w.reshape(-1), dw.reshape(-1), cw.reshape(-1),
                  t(-lr), t(epsilon), t(rho), t(1.0 - rho))
    _rmsprop_flat(b.reshape(-1), db.reshape(-1), cb.reshape(-1),
                  t(-lr), t(epsilon), t(rho), t(1.0 - rho))


@njit(cache=True)
def adam_update(w, dw, mw, cw, b, db, mb, cb, lr, beta1, beta2, epsilon, corr1, corr2):
    """Adam with bias correction; ``corr1 = 1 - beta1**(t+1)``, ``corr2 = 1 - beta2**(t+1)``."""
    t = w.dtype.type
    _adam_flat(w.reshape(-1), dw.reshape(-1), mw.reshape(-1), cw.reshape(-1),
               t(-lr), t(beta1), t(1.0 - beta1), t(beta2), t(1.0 - beta2),
               t(corr1), t(corr2), t(epsilon))
    _adam_flat(b.reshape(-1), db.reshape(-1), mb.reshape(-1), cb.reshape(-1),
               t(-lr), t(beta1), t(1.0 - beta1), t(beta2), t(1.0 - beta2),
               t(corr1), t(corr2), t(epsilon))
