"""How many BLAS threads a piece of work may wake: the thread policy.

Small products lose badly to BLAS thread wake-ups, most of all on a loaded
machine: a 2-64-64-3 ``Model.train`` epoch measured 1247 us with OpenBLAS's
default two threads against 291 us with one (2 cores, load 3.5), while a
128x784x128 product still gained from the second thread.  So work whose
largest product is below ``BLAS_THREADS_MIN_MADDS`` multiply-adds runs with
one BLAS thread; larger work keeps the user's setting.  Products below
``kernels.dense.BLAS_MIN_MADDS`` never reach BLAS, and Numba's own thread
pool is only used by the optimizers above ``PARALLEL_MIN_SIZE`` elements.

The limit goes through ``threadpoolctl`` (the libraries' own
``*_set_num_threads``), scoped to the call and restored after it, so it
composes with a user's own ``threadpool_limits``.  Its controller scans the
loaded libraries once (milliseconds), on the first call that needs it.
"""
import contextlib

from .kernels.dense import BLAS_MIN_MADDS

BLAS_THREADS_MIN_MADDS = 1 << 23

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
