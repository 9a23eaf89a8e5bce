"""Sweeps: many ``Model.train`` runs, over a grid of configurations x seeds, on Dask.

Chapter 10 asks which optimizer and which hyper-parameters to choose, and training
this problem is chaotic (``/work/shared/reference-api.md``: two correct runs drift
apart), so one run per configuration cannot answer it: a distribution over seeds can.
:func:`run` trains every (configuration, seed) pair and returns one record per run::

    from fastnn import sweep
    records = sweep.run(seeds=20, epochs=10000, out="runs.jsonl")   # the seed's seven
    print(sweep.format_summary(sweep.summarize(records)))

**What a run is.**  A pure function of (configuration, seed, epochs, dtype, samples):
NumPy's global generator is seeded with the run's seed, the spiral data and then the
two layers' initial weights are drawn from it as the notebook does
(:func:`fastnn.experiments.seed_data`), and :func:`fastnn.experiments.seed_model`
trains for ``epochs`` epochs.  So a run gives the same bits wherever it runs, and a
serial run (``serial=True``) reproduces any worker's.  ``build=`` replaces the seed
network by the caller's (see :func:`run`).

**Where it runs.**  On Dask distributed: an embedded ``LocalCluster`` of ``workers``
single-threaded processes by default, an existing scheduler (``scheduler=ADDRESS``:
``dask-jobqueue``, Kubernetes, a cloud) or a ``client`` of yours; ``serial=True``
runs in this process without Dask.  Dask is the optional extra ``nnfs-fast[sweep]``.
Each task prepares its worker once (:mod:`fastnn._sweep_worker`): one BLAS and one
Numba thread, and the Numba cache warmed by one worker per cache directory at a time.

**Where results go.**  ``out=FILE.jsonl``: one JSON line per run, appended as runs
finish (Dask gets them in tasks of about half a second each, :class:`_Batches`);
running again with the same file skips the runs already in it (resume after a crash,
or extend a sweep with more seeds).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from itertools import islice

from . import _sweep_worker as worker
from .experiments import CLASSES, EPOCHS, HIDDEN, INPUTS, SAMPLES, OptimizerConfig
from .grid import config_key
from .report import format_summary, plot_sweep, summarize

__all__ = ["Run", "run", "runs_for", "run_one", "ResultsFile", "MissingDask", "SweepError",
           "summarize", "format_summary", "plot_sweep", "SEED_NETWORK"]

SEED_NETWORK = f"spiral {INPUTS}-{HIDDEN}-{CLASSES}"  # the `network` of the default build
DIST = "nnfs-fast"
# Tasks in flight per worker thread.  Dask keeps about one task queued behind each
# running one (worker-saturation 1.1), so a few per thread keep every worker busy
# while the client holds only a bounded window of futures, not the whole grid.
WINDOW_PER_THREAD = 4


class SweepError(RuntimeError):
    """A sweep that cannot go on (the message names the problem)."""


class MissingDask(ImportError):
    """Dask distributed is not installed: the message says how to get it."""


@dataclass(frozen=True)
class Run:
    """One run: a configuration (its notebook call) and a seed, and what is trained."""
    call: str
    seed: int
    epochs: int = EPOCHS
    dtype: str = "float64"
    samples: int = SAMPLES
    network: str = SEED_NETWORK

    @property
    def config(self):
        return OptimizerConfig(self.call, None)

    @property
    def key(self):
        """Identifies the run in a results file: equal keys, equal results."""
        return (config_key(self.config), self.seed, self.epochs, self.dtype, self.samples,
                self.network)


def record_key(record):
    """:attr:`Run.key` of a results-file record."""
    kwargs = tuple(sorted((k, float(v)) for k, v in record["kwargs"].items()))
    return ((record["optimizer"], kwargs), record["seed"], record["epochs"], record["dtype"],
            record["samples"], record["network"])


def runs_for(configs, seeds, *, epochs=EPOCHS, dtype="float64", samples=SAMPLES,
             network=SEED_NETWORK):
    """The runs of a grid, configuration-major: ``configs`` x ``seeds``."""
    return [Run(c.call("notebook"), int(s), epochs, str(dtype), samples, network)
            for c in configs for s in seeds]


def run_one(run, build=None, curve_points=worker.CURVE_POINTS):
    """Train one run in this process and return its record (see :mod:`_sweep_worker`)."""
    return worker.run_one(run, build, curve_points)


# ----------------------------------------------------------------------------- the file

class ResultsFile:
    """A JSON-lines file of run records, appended one whole line at a time.

    A crash can leave a last line without its newline: it is dropped when the file
    is opened (its run is simply run again).  Any other line that is not a record
    stops the sweep with its line number: the file is not one of ours."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.records = {}
        self.versions = set()
        self._load()
        self._file = open(self.path, "a", encoding="utf-8")

    def _load(self):
        try:
            with open(self.path, "rb+") as f:
                data = f.read()
                if data and not data.endswith(b"\n"):  # a line cut short by a crash
                    f.truncate(data.rfind(b"\n") + 1)
                    data = data[:data.rfind(b"\n") + 1]
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SweepError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key = record_key(rec)
            except (ValueError, KeyError, TypeError, AttributeError):
                raise SweepError(f"{self.path}, line {n}: not a fastnn sweep record; "
                                 "choose another --out file") from None
            self.records.setdefault(key, rec)  # a duplicate line: the first one counts
            self.versions.add((rec.get("fastnn"), rec.get("numba"), rec.get("numpy")))

    def append(self, record):
        key = record_key(record)
        if key in self.records:  # never written twice (e.g. a task Dask ran again)
            return False
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        self.records[key] = record
        return True

    def close(self):
        self._file.close()


class _Memory:
    """The results of a sweep without ``out``: kept in memory only."""

    def __init__(self):
        self.records, self.versions = {}, set()

    def append(self, record):
        return self.records.setdefault(record_key(record), record) is record

    def close(self):
        pass


# ----------------------------------------------------------------------------- running

def _import_dask():
    try:
        import distributed
    except ImportError:
        raise MissingDask(
            "fastnn sweep runs on Dask distributed, which is not installed.\n"
            f"Install it with:  pip install \"{DIST}[sweep]\"   (in a clone of fastnn: "
            "pip install -e '.[sweep]'; or: pip install 'dask[distributed]'),\n"
            "or run every run in this process without Dask: --serial "
            "(sweep.run(..., serial=True))") from None
    return distributed


def local_cluster(workers=None):
    """A ``LocalCluster`` of ``workers`` (default: all cores) single-threaded worker
    processes on this machine: one run per core, no Python threads contending."""
    distributed = _import_dask()
    n = workers or os.cpu_count() or 1
    return distributed.LocalCluster(
        # ":0": any free port (None still starts the scheduler's HTTP server on 8787,
        # which another cluster on the machine may hold)
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
        # what goes wrong reaches the caller as an exception; the workers' own logs
        # (a heartbeat that meets the scheduler already closing) would only be noise
        silence_logs=logging.CRITICAL, preload=["fastnn._sweep_worker"],
        # before Numba is imported in the worker: no Numba thread pool at all
        env={"NUMBA_NUM_THREADS": "1"})


def run(configs=None, seeds=5, *, epochs=EPOCHS, dtype="float64", samples=SAMPLES, out=None,
        workers=None, scheduler=None, client=None, serial=False, build=None, network=None,
        progress=True, on_record=None, curve_points=worker.CURVE_POINTS):
    """Train every configuration of ``configs`` (default: the seed notebook's seven)
    with every seed, and return the records, configuration-major.

    ``seeds``: a count K (seeds 0..K-1) or the seeds themselves.  Runs already in
    ``out`` are not run again.  Execution: ``serial=True`` in this process;
    ``client=`` a ``distributed.Client``; ``scheduler=ADDRESS`` an existing cluster;
    else a ``LocalCluster`` of ``workers`` processes, closed afterwards.
    ``build(cfg, seed, dtype, samples) -> (model, X, y)`` trains your own finalized
    ``fastnn.Model`` instead of the seed's network (a module-level function, so workers
    can import it; ``network`` names it in the records).  ``on_record(record)`` is
    called with each new record as it is written.
    """
    from .grid import configs_from

    configs = configs_from() if configs is None else list(configs)
    seeds = range(seeds) if isinstance(seeds, int) else list(seeds)
    if not configs or not len(seeds):
        raise SweepError("nothing to run: no configurations or no seeds")
    if network is None:
        network = SEED_NETWORK if build is None else f"{build.__module__}.{build.__qualname__}"
    runs = runs_for(configs, seeds, epochs=epochs, dtype=dtype, samples=samples,
                    network=network)
    if len({r.key for r in runs}) != len(runs):
        raise SweepError("the grid names one run twice (a repeated seed?)")
    store = ResultsFile(out) if out is not None else _Memory()
    try:
        pending = [r for r in runs if r.key not in store.records]
        _warn_mixed_versions(store)
        with _progress_bar(len(runs), len(runs) - len(pending), progress) as bar:
            def take(record):
                if store.append(record):
                    bar.update(1)
                    if on_record is not None:
                        on_record(record)

            if serial:
                for r in pending:
                    worker.prepare(r, build, limit_threads=False)
                    take(run_one(r, build, curve_points))
            elif pending:
                _run_on_dask(pending, build, curve_points, take, client, scheduler, workers)
        return [store.records[r.key] for r in runs]
    finally:
        store.close()


def _run_on_dask(pending, build, curve_points, take, client, scheduler, workers):
    distributed = _import_dask()
    own_cluster = own_client = None
    try:
        if client is None:
            if scheduler is None:
                own_cluster = local_cluster(workers)
            try:
                own_client = client = distributed.Client(scheduler or own_cluster,
                                                         set_as_default=False)
            except OSError as exc:  # refused, unreachable, timed out
                raise SweepError(f"cannot connect to the Dask scheduler {scheduler}: "
                                 f"{exc}") from None
            try:
                client.wait_for_workers(1, timeout=120)
            except TimeoutError:
                raise SweepError(f"no Dask worker joined the scheduler {scheduler} within "
                                 "120 s (start some: dask worker ADDRESS --nthreads 1)") from None
        _check_workers(client)
        threads = max(1, sum(client.nthreads().values()))
        batches = _Batches(pending, threads)

        def submit(runs):
            key = "fastnn-runs-" + hashlib.sha1(repr([r.key for r in runs]).encode()).hexdigest()
            return client.submit(worker.task_batch, runs, build, curve_points, key=key[:40],
                                 pure=False, retries=0)

        # with_results: results come back in the background, not one round trip per wait
        futures = distributed.as_completed(
            [submit(b) for b in islice(batches, WINDOW_PER_THREAD * threads)],
            loop=client.loop, with_results=True)
        try:
            for _, records in futures:  # raises a run's own exception, if any
                for record in records:
                    batches.measured(record["seconds"])
                    take(record)
                nxt = next(batches, None)
                if nxt is not None:
                    futures.add(submit(nxt))
        except BaseException:
            client.cancel(list(futures.futures))
            raise
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _local_versions():
    return worker.versions()


def _check_workers(client):
    """fastnn runs on the workers, in the versions of this process (else say so): on a
    cluster of your own, a worker without fastnn would fail every task it gets, and other
    versions may give other bits."""
    here = _local_versions()
    try:
        theirs = client.run(worker.versions)
    except Exception as exc:  # noqa: BLE001 -- e.g. ModuleNotFoundError on the worker
        raise SweepError(f"cannot run fastnn on the Dask workers ({type(exc).__name__}: {exc}); "
                         f"install {DIST} {here['fastnn']} there") from None
    other = sorted({json.dumps(v, sort_keys=True) for v in theirs.values() if v != here})
    if other:
        print(f"fastnn: some Dask workers run other versions ({'; '.join(other)}) than this "
              f"process ({json.dumps(here, sort_keys=True)}): their runs may differ in the "
              "last bits", file=sys.stderr)


class _Batches:
    """The pending runs in tasks of a few runs each, sized as the sweep goes.

    Each Dask task costs a few milliseconds of scheduling, serialization and result
    transfer across the client, scheduler and worker (measured: about 5 ms CPU a task on
    this 2-core machine, 3% of a 10000-epoch seed run).  So a task carries as many runs as
    fit in ``TASK_SECONDS`` of training, judged from the runs done so far (the first
    window: one run a task), but never so many that a worker thread would get fewer
    than two tasks of what is left (the end of a sweep stays balanced)."""

    TASK_SECONDS = 0.5

    def __init__(self, pending, threads):
        self._todo = list(reversed(pending))  # pop() from the end: the grid's order
        self._threads = threads
        self._seconds = []

    def measured(self, seconds):
        self._seconds.append(seconds)

    def __iter__(self):
        return self

    def __next__(self):
        if not self._todo:
            raise StopIteration
        size = 1
        if self._seconds:
            per_run = max(sum(self._seconds) / len(self._seconds), 1e-6)
            size = int(self.TASK_SECONDS / per_run)
        size = max(1, min(size, len(self._todo) // (2 * self._threads)))
        return [self._todo.pop() for _ in range(min(size, len(self._todo)))]


def _progress_bar(total, done, enabled):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="run", file=sys.stderr, dynamic_ncols=True,
                disable=None if enabled else True, desc="sweep")


def _warn_mixed_versions(store):
    here = worker.versions()
    other = {v for v in store.versions if v != (here["fastnn"], here["numba"], here["numpy"])}
    if other:
        print(f"fastnn: {getattr(store, 'path', 'the results')} holds runs of other versions "
              f"(fastnn, numba, numpy: {sorted(map(str, other))}); they are kept, not rerun",
              file=sys.stderr)
