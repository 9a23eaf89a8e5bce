"""What a sweep worker does: prepare its process once, then train runs.

Kept apart from :mod:`fastnn.sweep` so that a worker imports no Dask client code
and the pure function of a run (:func:`run_one`) reads on its own.

Preparing a worker (:func:`prepare`, at the start of every task, cheap after the first):

- **One thread of each kind.**  Each worker process runs one run at a time on one
  core; a BLAS or Numba thread pool on top only wakes threads that fight the other
  workers for the cores (``fastnn/_blas_threads.py``: a small epoch measured several
  times slower that way).  BLAS is limited process-wide with ``threadpoolctl``; Numba's
  limit is per thread in Numba, so it is set on the thread that runs the task, every
  time (``LocalCluster`` workers also start with ``NUMBA_NUM_THREADS=1``).  The limits
  cannot change a run's bits: the seed's products never reach BLAS, and Numba's
  threads only run optimizer updates of large layers, split by element.
- **One compile per cache directory.**  On a cold cache every worker process would
  compile the same kernels at once (about 20 CPU seconds each, for the same files).
  The first task of a process takes an exclusive ``flock`` on a file in fastnn's
  kernel cache directory (``kernels/_cache.py``) and trains the run's network for two
  epochs, compiling and saving the kernels; the others wait for the lock, then load
  what it saved.  Each process logs what its warm-up took (:func:`warmups`).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time

import numpy as np

CURVE_POINTS = 101  # epochs kept per run for the curves (evenly spaced, first and last)
WARM_EPOCHS = 2
_LOCK_NAME = "fastnn-warmup.lock"

_prepared = threading.Lock()
_limits = None          # the process-wide threadpoolctl limit (kept alive)
_warm = set()           # (dtype, network) warmed in this process
_warmups = []           # what each warm-up took


def dask_setup(worker):
    """Run in each worker process of ``fastnn.sweep.local_cluster`` (Dask's ``preload``):
    Ctrl-C in a terminal reaches the whole process group, and a worker interrupted in the
    middle of a run would die with a traceback while the client is already shutting the
    cluster down in order.  The client decides; the workers ignore SIGINT."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def versions():
    import numba

    from . import __version__
    return {"fastnn": __version__, "numba": numba.__version__, "numpy": np.__version__}


def seed_network(cfg, seed, dtype, samples):
    """The default ``build``: the seed notebook's data and 2-64-3 network for ``seed``."""
    from . import experiments

    X, y, w1, w2 = experiments.seed_data(samples, seed, dtype)
    return experiments.seed_model(cfg, w1, w2), X, y


def run_one(run, build=None, curve_points=CURVE_POINTS):
    """Train ``run`` (a :class:`fastnn.sweep.Run`) and return its record: a dict of
    JSON types.  Nothing here depends on the process, its threads or its history."""
    cfg = run.config
    model, X, y = (build or seed_network)(cfg, run.seed, np.dtype(run.dtype), run.samples)
    started = time.perf_counter()
    history = model.train(X, y, epochs=run.epochs, print_every=None, verbose=False)
    seconds = time.perf_counter() - started
    loss, acc = np.asarray(history.loss), np.asarray(history.accuracy)
    kept = np.unique(np.linspace(0, run.epochs - 1, min(run.epochs, curve_points))
                     .round().astype(np.int64)) if curve_points else np.empty(0, np.int64)
    digest = hashlib.sha256()
    for layer in model.trainable_layers:  # the trained parameters, to compare runs bit for bit
        digest.update(np.ascontiguousarray(layer.weights).tobytes())
        digest.update(np.ascontiguousarray(layer.biases).tobytes())
    best_loss, best_acc = int(np.argmin(loss)), int(np.argmax(acc))
    return {
        "config": cfg.label, "optimizer": cfg.class_name(), "kwargs": cfg.kwargs(),
        "seed": run.seed, "epochs": run.epochs, "dtype": run.dtype, "samples": run.samples,
        "network": run.network,
        "final_loss": float(loss[-1]), "final_accuracy": float(acc[-1]),
        "best_loss": float(loss[best_loss]), "best_loss_epoch": best_loss + 1,
        "best_accuracy": float(acc[best_acc]), "best_accuracy_epoch": best_acc + 1,
        "seconds": seconds, "params_sha256": digest.hexdigest(),
        **versions(), "host": socket.gethostname(), "pid": os.getpid(),
        "curve": {"epoch": (kept + 1).tolist(), "loss": loss[kept].tolist(),
                  "accuracy": acc[kept].tolist()},
    }


def task(run, build=None, curve_points=CURVE_POINTS):
    """A Dask task: prepare this worker, then :func:`run_one`."""
    prepare(run, build)
    return run_one(run, build, curve_points)


def task_batch(runs, build=None, curve_points=CURVE_POINTS):
    """A Dask task of several runs (``fastnn.sweep._Batches``): their records."""
    return [task(r, build, curve_points) for r in runs]


def prepare(run, build=None, limit_threads=True):
    """Limit this worker's threads and warm its compile cache (see the module's doc).
    ``limit_threads=False`` (a serial sweep in the caller's process) only warms, so
    that the first run's ``seconds`` do not include loading the kernels."""
    global _limits
    import numba

    if limit_threads:
        numba.set_num_threads(1)  # thread-local in Numba: the thread running this task
    if (run.dtype, run.network) in _warm and (_limits is not None or not limit_threads):
        return
    with _prepared:  # a worker with several threads warms once
        if _limits is None and limit_threads:
            from threadpoolctl import threadpool_limits
            _limits = threadpool_limits(limits=1)
        if (run.dtype, run.network) in _warm:
            return
        asked = time.perf_counter()
        with _cache_lock():
            started = time.perf_counter()
            with _count_compiles() as compiled:
                model, X, y = (build or seed_network)(run.config, run.seed, np.dtype(run.dtype),
                                                      run.samples)
                model.train(X, y, epochs=WARM_EPOCHS, print_every=None, verbose=False)
            done = time.perf_counter()
        _warm.add((run.dtype, run.network))
        _warmups.append({"host": socket.gethostname(), "pid": os.getpid(),
                         "dtype": run.dtype, "network": run.network,
                         "waited": started - asked, "seconds": done - started,
                         "compiled": compiled[0]})


def warmups():
    """What this process's warm-ups took: ``[{pid, dtype, waited, seconds, compiled}]``
    (``client.run(warmups)`` asks every worker)."""
    return list(_warmups)


@contextlib.contextmanager
def _cache_lock():
    """An exclusive lock on the kernel cache directory, for one process's warm-up;
    released by the OS if that process dies.  No cache directory (or no ``fcntl``,
    i.e. Windows): nothing is shared, so nothing to wait for."""
    from .kernels import _cache

    path = _cache.cache_dir()
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        fcntl = None
    if path is None or fcntl is None:
        yield
        return
    with open(os.path.join(path, _LOCK_NAME), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def _count_compiles():
    """``[n]``: how many functions Numba compiled (not loaded from its cache) meanwhile."""
    from numba.core import event

    count = [0]

    class Counter(event.Listener):
        def on_start(self, ev):
            count[0] += 1

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Counter()):
        yield count
