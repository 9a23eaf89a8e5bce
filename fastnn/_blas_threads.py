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

The limit goes through ``threadpoolctl`` (the libraries' own
``*_set_num_threads``), scoped to the call and restored after it, so it
composes with a user's own ``threadpool_limits``.  Its controller scans the
loaded libraries once (milliseconds), on the first call that needs it.
"""
import contextlib

from .kernels.dense import BLAS_MIN_MADDS

BLAS_THREADS_MIN_MADDS = 1 << 27

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
