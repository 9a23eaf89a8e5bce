"""Memory-bandwidth probes for the optimizer roofline.

An optimizer update is a single streaming pass: per parameter element it must
read the parameter, its gradient and its state, and write back the parameter
and the state.  Its memory roofline is therefore

    roofline time = bytes the update must move / sustainable bandwidth

where the bandwidth is measured, in the same run and with the same thread
count as fastnn's parallel kernels, on two simple one-pass kernels:

* copy  ``a[i] = b[i]``        counted as 2 streams (STREAM convention);
* triad ``a[i] += s * b[i]``   3 streams, in place like the optimizer updates
  (the written array is read first, so there is no hidden write-allocate
  traffic).

Each probe's two arrays together span as much memory as the arrays the update
touches (``probe_size``).  The roofline bandwidth is the larger of the two
probes (the stricter target).  Both are Numba ``prange`` loops, so they use
Numba's thread pool exactly as the optimizer kernels do.  The probes and the
update are timed in alternation (``interleaved_roofline``), since this VM's
memory bandwidth drifts over minutes.
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit, prange

from benchmarks._common import cpu_snapshot, other_cpu_since

# distinct arrays an update touches (parameter, gradient, state...)
ARRAYS = {"sgd": 2, "sgd_momentum": 3, "adagrad": 3, "rmsprop": 3, "adam": 4}

# elements read + written per parameter element, weights and biases alike
STREAMS = {
    "sgd": 3,            # read w, dw; write w
    "sgd_momentum": 5,   # read w, dw, m; write w, m
    "adagrad": 5,        # read w, dw, c; write w, c
    "rmsprop": 5,        # read w, dw, c; write w, c
    "adam": 7,           # read w, dw, m, c; write w, m, c
}


@njit(parallel=True, cache=True)
def copy_kernel(dst, src):
    for i in prange(dst.size):
        dst[i] = src[i]


@njit(parallel=True, cache=True)
def triad_kernel(a, b, s):
    for i in prange(a.size):
        a[i] += s * b[i]


def probe_arrays(n, dtype):
    a = np.ones(n, dtype)
    b = np.full(n, 1e-9, dtype)
    return a, b


def interleaved_roofline(fn, rule, n_params, dtype, rounds):
    """Roofline fraction of ``fn`` (one update), measured interleaved with the probes.

    Each round times one copy, one triad and one update back to back, so the
    three see the same machine (a VM's memory bandwidth drifts with its
    neighbours).  Bandwidth = the better probe's median; fraction =
    (bytes / bandwidth) / median update time.
    """
    n = probe_size(rule, n_params)
    a, b = probe_arrays(n, dtype)
    s = np.dtype(dtype).type(1e-3)
    item = np.dtype(dtype).itemsize
    copy_kernel(a, b)
    triad_kernel(a, b, s)
    fn()
    tc, tt, tu = [], [], []
    pc = time.perf_counter
    snap = cpu_snapshot()
    for _ in range(rounds):
        t0 = pc()
        copy_kernel(a, b)
        t1 = pc()
        triad_kernel(a, b, s)
        t2 = pc()
        fn()
        t3 = pc()
        tc.append(t1 - t0)
        tt.append(t2 - t1)
        tu.append(t3 - t2)
    during = other_cpu_since(snap)
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    copy_bw = 2 * n * item / med(tc)
    triad_bw = 3 * n * item / med(tt)
    bw = max(copy_bw, triad_bw)
    nbytes = update_bytes(rule, n_params, dtype)
    t = med(tu)
    return {"probe_elements": n, "copy_bw": copy_bw, "triad_bw": triad_bw, "bandwidth": bw,
            "roofline_s": nbytes / bw, "interleaved_update_s": t,
            "roofline_fraction": nbytes / bw / t, "achieved_bw": nbytes / t,
            "interleaved_rounds": rounds,
            "interleaved_other_cpu_cores": None if during is None else round(during, 3)}


def probe_size(rule, n_params):
    """Probe length whose two arrays span the same memory as the update's arrays.

    Caches (and this VM's host) are large enough that a 10M-element update's
    footprint and a probe's can sit on different sides of a cache boundary;
    equal footprints keep the comparison about the same level of the memory
    hierarchy.
    """
    return (ARRAYS[rule] * n_params + 1) // 2


def update_bytes(rule, n_params, dtype):
    """Bytes an update of ``n_params`` elements must move (no temporaries)."""
    return STREAMS[rule] * n_params * np.dtype(dtype).itemsize
