"""When fastnn's parallel kernels may run at the same time in several threads.

Parameters of ``PARALLEL_MIN_SIZE`` elements or more are updated by
``parallel=True`` kernels on Numba's thread pool.  Two of Numba's threading
layers, ``tbb`` and ``omp``, take parallel regions from several Python threads
at once; ``workqueue`` (the fallback when neither library is installed, or
chosen with ``NUMBA_THREADING_LAYER=workqueue``) is not thread-safe and aborts
the whole process ("Concurrent access has been detected") when two threads
enter a parallel region together.  So under any layer but tbb and omp,
parallel-sized calls take one process-wide lock, and they run one after the
other instead of crashing.  Smaller calls never touch the pool and never
take the lock.

The policy in one place, for the per-op optimizers and ``Model`` alike:

* ``parallel_section(n_elements)``: a context manager around a call that may
  run a parallel kernel over ``n_elements`` (for ``Model.train``: the largest
  weight array it updates); it holds the lock only when it must;
* ``enter(n_elements)`` / ``leave()``: the same as two calls, for the
  optimizers' fast path (``held = SERIALIZE and enter(n)``, then ``leave()``
  in a ``finally`` if ``held``), which cannot afford a context manager;
* ``SERIALIZE``: False once the layer is known to be thread-safe (reading it
  is the fast path's whole cost); True until then, or under workqueue.

The lock is reentrant, so a section inside a section of the same thread is
fine.  Deciding starts Numba's thread pool (``get_num_threads``): the layer
is chosen then, and the first parallel kernel call would start it anyway.
"""
import threading
from contextlib import contextmanager

import numba

from .kernels.optimizers import PARALLEL_MIN_SIZE

# Numba's threading layers that take parallel regions from several threads at
# once (Numba's documentation, "The Threading Layers"); any other is serialized.
THREAD_SAFE_LAYERS = frozenset({"tbb", "omp"})

SERIALIZE = True  # until decided: True means "ask serialize_parallel()"
_decided = None
_lock = threading.RLock()


def serialize_parallel():
    """Whether parallel kernel calls must take turns (Numba's layer is not thread-safe)."""
    global SERIALIZE, _decided
    if _decided is None:
        numba.get_num_threads()  # starts the pool, which chooses the layer
        _decided = numba.threading_layer() not in THREAD_SAFE_LAYERS
        SERIALIZE = _decided
    return _decided


def enter(n_elements):
    """Take the lock if a parallel kernel over ``n_elements`` must not run
    concurrently; returns whether it was taken (then call ``leave()``)."""
    # decided first: once it is (False), the fast path no longer calls this
    if not serialize_parallel() or n_elements < PARALLEL_MIN_SIZE:
        return False
    _lock.acquire()
    return True


def leave():
    _lock.release()


@contextmanager
def parallel_section(n_elements):
    """Hold the lock around a call that may run a parallel kernel over
    ``n_elements``, when (and only when) the threading layer needs it."""
    held = enter(n_elements)
    try:
        yield held
    finally:
        if held:
            leave()
