"""How many BLAS threads a piece of work may wake: the thread policy.

Products of the book's sizes lose badly to BLAS thread wake-ups, most of all
on a loaded machine: a 2-64-64-3 ``Model.train`` epoch measured 1247 us with
OpenBLAS's default two threads against 291 us with one (2 cores, load 3.5),
and a chapter-19 step (784-128-128-10, batch 128: 12.8M multiply-adds in its
largest product) 2.8-6.0 ms against 0.67 ms.  A second thread gains at most
about 2x on a quiet machine, and loses 4-10x on a busy one, so work whose
largest product is below ``BLAS_THREADS_MIN_MADDS`` multiply-adds (a
512x512x512 product) runs with one BLAS thread; larger work keeps the
user's setting.  Products below
``kernels.dense.BLAS_MIN_MADDS`` never reach BLAS, and Numba's own thread
pool is only used by the optimizers above ``PARALLEL_MIN_SIZE`` elements.

``set_blas_thread_policy(min_madds)`` (exported as
``fastnn.set_blas_thread_policy``) moves that threshold: on an idle
multi-core machine a chapter-19 epoch (784-128-128-10, batch 128) ran 1.7x
faster with BLAS's two threads (177 ms against 304 ms, 2 cores, load 0.5),
so ``set_blas_thread_policy(0)`` (BLAS keeps the user's thread count for all
work) suits a machine of one's own; the default suits a shared one.  In
float32 OpenBLAS's sums differ in their last bits between one and two
threads, so a float32 run's numbers depend on the policy (as they depend on
the thread count in NumPy).

The limit goes through ``threadpoolctl`` (the libraries' own
``*_set_num_threads``), scoped to the call and restored after it, so it
composes with a user's own ``threadpool_limits``.  Its controller scans the
loaded libraries once (milliseconds), on the first call that needs it.
"""
import contextlib

import numpy as np

from .kernels.dense import BLAS_MIN_MADDS

DEFAULT_BLAS_THREADS_MIN_MADDS = 1 << 27
BLAS_THREADS_MIN_MADDS = DEFAULT_BLAS_THREADS_MIN_MADDS


def set_blas_thread_policy(min_madds=DEFAULT_BLAS_THREADS_MIN_MADDS):
    """Run work whose largest matrix product has fewer than ``min_madds``
    multiply-adds with one BLAS thread (default ``2**27``, a 512x512x512
    product); ``0`` leaves BLAS its own thread count for all work.  Returns
    the previous threshold.  Applies to ``Model`` and to the per-op layers."""
    global BLAS_THREADS_MIN_MADDS
    if isinstance(min_madds, bool) or not isinstance(min_madds, (int, np.integer)):
        raise TypeError(f"set_blas_thread_policy: min_madds must be an int, got "
                        f"{type(min_madds).__name__} {min_madds!r}")
    if min_madds < 0:
        raise ValueError(f"set_blas_thread_policy: min_madds must be >= 0, got {min_madds}")
    previous, BLAS_THREADS_MIN_MADDS = BLAS_THREADS_MIN_MADDS, int(min_madds)
    return previous

_controller = None


def _blas_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def blas_threads_for(madds):
    """A context that runs work whose largest product has ``madds``
    multiply-adds with the BLAS threads it should use."""
    if madds < BLAS_MIN_MADDS or madds >= BLAS_THREADS_MIN_MADDS:
        return contextlib.nullcontext()
    controller = _blas_controller()
    if all(lib.num_threads == 1 for lib in controller.lib_controllers):
        return contextlib.nullcontext()
    return controller.limit(limits=1)


# ------------------------------------------------------------- per-op layers

# The BLAS libraries whose threads a per-op dense call limits: the one Numba's
# kernels call (SciPy's, see kernels/blas.py) when it can be told apart from
# NumPy's, else every BLAS library loaded.  None until first needed.
_kernel_blas_libs = None


def _kernel_libs():
    global _kernel_blas_libs
    if _kernel_blas_libs is None:
        libs = list(_blas_controller().lib_controllers)
        scipy_own = [lib for lib in libs if "scipy.libs" in lib.filepath.replace("\\", "/")]
        _kernel_blas_libs = scipy_own or libs
    return _kernel_blas_libs


def dense_uses_blas(m, k, n, backward):
    """Whether ``kernels.dense`` sends an (m, k) @ (k, n) layer's forward (or
    backward) to BLAS: its routing, for the thread policy (keep in step with
    ``dense_forward_act`` and ``_backward``).  The thin shapes never go there,
    at any batch size (chapters 14-15's 2->64 and 64->3 layers)."""
    if m * k * n < BLAS_MIN_MADDS:
        return False
    if backward:
        return not ((n == 3 and k >= 3) or (k == 2 and n > 2))
    return not ((n >= k and k <= 3) or (n == 3 and k > 3))


def call_with_blas_threads_for(madds, fn, *args):
    """``fn(*args)`` (a dense kernel whose largest product has ``madds``
    multiply-adds) with the BLAS threads the policy gives that work.

    For the per-op layers: ``blas_threads_for``'s threadpoolctl context costs
    ~9 us a call, more than many of the products it guards, so the libraries'
    own get/set functions are called directly (~1.5 us for the pair) and the
    previous count restored.  A count the user already limited to 1 (e.g. by
    ``threadpool_limits``) is left alone."""
    if madds < BLAS_MIN_MADDS or madds >= BLAS_THREADS_MIN_MADDS:
        return fn(*args)
    changed = []
    try:
        for lib in _kernel_libs():
            n = lib.get_num_threads()
            if n is not None and n > 1:
                lib.set_num_threads(1)
                changed.append((lib, n))
        return fn(*args)
    finally:
        for lib, n in changed:
            lib.set_num_threads(n)
