"""``fastnn sweep`` on Dask: throughput with 1 and 2 local workers, and the per-run cost
of scheduling and serialization.

Workload: the seed notebook's seven configurations x seeds, each run a 10000-epoch
``Model.train`` of the seed's 2-64-3 network (about 0.15 s), float64, with the results
written to a JSON-lines file as ``fastnn sweep --out`` does.

* **throughput**: runs per second of one sweep on a ``LocalCluster`` of 1 worker and of
  2 workers (``fastnn.sweep.local_cluster``: single-threaded processes).  Both clusters
  are started and warmed first (start-up is not a per-run cost), then the same sweep is
  timed on each in alternation, ``ROUNDS`` times, so slow drifts of this shared machine
  hit both alike; the best round of each (the least disturbed by other processes, whose
  load is recorded) and the medians.  Target: 2 workers >= 1.7x 1 worker on 2 cores.  The two
  sweeps' records must be identical (same bits whatever the worker count).
* **overhead**: on the 1-worker cluster, the same runs as one task per run (the sweep)
  and as a single task that loops over them in the worker (no per-run scheduling,
  serialization or file writing), alternated; overhead per run = (sweep - loop) / runs,
  as a share of one run.  Target: <= 5% of a 10000-epoch seed run.

``extra_info`` holds every figure; other processes' CPU use during each timing is
recorded too (``other_cpu_cores_during``): on a busy machine the 2-worker figure drops.

    pytest benchmarks/bench_sweep.py        # about 2 minutes
    python benchmarks/bench_sweep.py        # the same, printed as Markdown
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

if not __package__:  # run as a script: python benchmarks/bench_sweep.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import cpu_snapshot, other_cpu_since, settle  # noqa: E402
from fastnn import _sweep_worker as worker  # noqa: E402
from fastnn import experiments, sweep  # noqa: E402

EPOCHS = 10000
THROUGHPUT_SEEDS = 8   # 7 x 8 = 56 runs: ~8 s on one worker
OVERHEAD_SEEDS = 4     # 7 x 4 = 28 runs
ROUNDS = 5
SPEEDUP_TARGET = 1.7
OVERHEAD_TARGET = 0.05
VOLATILE = ("seconds", "pid", "host")


def _loop(runs):
    """The runs in one task: what the sweep does minus its per-run scheduling."""
    return [worker.task(r) for r in runs]


def _tree_cpu():
    """CPU seconds used so far by this process and all its descendants (the local
    clusters' nannies and workers), alive ones only: all of them stay up meanwhile."""
    import psutil  # a dependency of distributed

    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _timed(fn):
    """``(wall s, cores other processes kept busy, CPU s of ours, result)``."""
    snap, cpu0 = cpu_snapshot(), _tree_cpu()
    started = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - started
    ours = _tree_cpu() - cpu0
    busy = other_cpu_since(snap)  # minus this process only, not its workers
    other = None if busy is None else max(0.0, busy - (ours - _own_share(wall, snap)) / wall)
    return wall, other, ours, result


def _own_share(wall, snap):
    """CPU seconds of this process alone since ``snap`` (already left out of other_cpu)."""
    t0, t1 = snap[1], os.times()
    return (t1[0] - t0[0]) + (t1[1] - t0[1])


def measure(rounds=ROUNDS, log=print):
    import distributed

    configs = list(experiments.SEED_CONFIGS)
    clusters = {n: sweep.local_cluster(n) for n in (1, 2)}
    clients = {n: distributed.Client(c, set_as_default=False) for n, c in clusters.items()}
    tmp = tempfile.mkdtemp(prefix="bench-sweep-")
    try:
        warm = sweep.runs_for(configs[:1], [0], epochs=10)[0]
        for n, client in clients.items():  # warm every worker (cache loads, thread limits)
            client.wait_for_workers(n)
            client.gather([client.submit(worker.prepare, warm, workers=[a], pure=False)
                           for a in client.scheduler_info()["workers"]])
        throughput = {1: [], 2: []}
        busy = {1: [], 2: []}
        outputs = {}
        for i in range(rounds):
            for n, client in clients.items():
                settle()
                out = os.path.join(tmp, f"t{n}-{i}.jsonl")
                t, other, _, records = _timed(lambda: sweep.run(
                    configs, seeds=THROUGHPUT_SEEDS, epochs=EPOCHS, client=client, out=out,
                    progress=False))
                throughput[n].append(len(records) / t)
                busy[n].append(other)
                outputs[n] = [{k: v for k, v in r.items() if k not in VOLATILE} for r in records]
                log(f"round {i}: {n} worker(s) {len(records) / t:.2f} runs/s "
                    f"(other processes: {other:.2f} cores)")
        same_bits = outputs[1] == outputs[2]

        runs = sweep.runs_for(configs, range(100, 100 + OVERHEAD_SEEDS), epochs=EPOCHS)
        one = clients[1]
        swept, looped, cpu_swept, cpu_looped = [], [], [], []
        for i in range(rounds):
            settle()
            out = os.path.join(tmp, f"o-{i}.jsonl")
            t_sweep, _, c_sweep, _ = _timed(lambda: sweep.run(
                configs, seeds=range(100, 100 + OVERHEAD_SEEDS), epochs=EPOCHS, client=one,
                out=out, progress=False))
            settle()
            t_loop, _, c_loop, _ = _timed(lambda: one.submit(_loop, runs, pure=False).result())
            swept.append(t_sweep)
            looped.append(t_loop)
            cpu_swept.append(c_sweep)
            cpu_looped.append(c_loop)
            log(f"round {i}: sweep {t_sweep:.3f} s ({c_sweep:.3f} CPU s), one-task loop "
                f"{t_loop:.3f} s ({c_loop:.3f} CPU s), {len(runs)} runs")
    finally:
        for c in clients.values():
            c.close()
        for c in clusters.values():
            c.close()
    t_sweep, t_loop = statistics.median(swept), statistics.median(looped)
    per_run = t_loop / len(runs)
    overhead = (t_sweep - t_loop) / len(runs)
    # the same in CPU seconds of the client, scheduler, nanny and worker processes: on a
    # machine other processes keep busy, wall times swing by tens of percent, CPU less
    c_sweep, c_loop = statistics.median(cpu_swept), statistics.median(cpu_looped)
    cpu_overhead = (c_sweep - c_loop) / len(runs)
    # The best round of each (the least disturbed: other engineers' jobs share these two
    # cores, and a round they load hits the 2-worker sweep hardest), as the report's
    # --stat min; the medians beside them.
    rps = {n: max(v) for n, v in throughput.items()}
    med = {n: statistics.median(v) for n, v in throughput.items()}
    best_load = {n: busy[n][v.index(max(v))] for n, v in throughput.items()}
    return {
        "runs_per_s_1_worker": rps[1], "runs_per_s_2_workers": rps[2],
        "speedup_2_workers": rps[2] / rps[1], "same_bits_1_vs_2_workers": same_bits,
        "median_runs_per_s_1_worker": med[1], "median_runs_per_s_2_workers": med[2],
        "median_speedup_2_workers": med[2] / med[1], "other_cpu_cores_best_round": best_load,
        "throughput_runs": len(configs) * THROUGHPUT_SEEDS, "epochs": EPOCHS,
        "other_cpu_cores_during": {n: max(b for b in v if b is not None) if any(
            b is not None for b in v) else None for n, v in busy.items()},
        "run_s": per_run, "overhead_s_per_run": overhead, "overhead_share": overhead / per_run,
        "overhead_runs": len(runs), "sweep_s": swept, "loop_s": looped,
        "cpu_overhead_s_per_run": cpu_overhead, "cpu_run_s": c_loop / len(runs),
        "cpu_overhead_share": cpu_overhead / (c_loop / len(runs)),
        "sweep_cpu_s": cpu_swept, "loop_cpu_s": cpu_looped,
        "throughput_all": throughput,
    }


def markdown(m):
    met = lambda ok: "MET" if ok else "NOT MET"  # noqa: E731
    load = m["other_cpu_cores_best_round"]
    return "\n".join([
        f"| workers | runs/s, best of {ROUNDS} ({m['throughput_runs']} runs of {m['epochs']} "
        f"epochs) | other processes' cores then | runs/s, median |",
        "|--:|--:|--:|--:|",
        f"| 1 | {m['runs_per_s_1_worker']:.2f} | {load[1]:.2f} | "
        f"{m['median_runs_per_s_1_worker']:.2f} |",
        f"| 2 | {m['runs_per_s_2_workers']:.2f} | {load[2]:.2f} | "
        f"{m['median_runs_per_s_2_workers']:.2f} |",
        "",
        f"- **{met(m['speedup_2_workers'] >= SPEEDUP_TARGET)}** -- 2 workers >= "
        f"{SPEEDUP_TARGET}x 1 worker: {m['speedup_2_workers']:.2f}x (best rounds; medians "
        f"{m['median_speedup_2_workers']:.2f}x, other processes kept up to "
        f"{m['other_cpu_cores_during'][2]:.2f} cores busy during the 2-worker rounds); same "
        f"bits with 1 and 2 workers: {m['same_bits_1_vs_2_workers']}",
        f"- **{met(m['overhead_share'] <= OVERHEAD_TARGET)}** -- scheduling + serialization "
        f"per run <= {OVERHEAD_TARGET:.0%} of a {m['epochs']}-epoch seed run: "
        f"{m['overhead_s_per_run'] * 1e3:.2f} ms per run = {m['overhead_share']:.1%} of "
        f"{m['run_s'] * 1e3:.0f} ms (wall, medians); in CPU time of every process involved "
        f"{m['cpu_overhead_s_per_run'] * 1e3:.2f} ms = {m['cpu_overhead_share']:.1%} of "
        f"{m['cpu_run_s'] * 1e3:.0f} ms",
    ])


def bench_sweep_throughput_and_overhead(benchmark):
    import pytest
    pytest.importorskip("distributed")
    if benchmark.disabled:  # smoke mode: one small sweep on the cluster, untimed
        records = sweep.run(experiments.SEED_CONFIGS[:2], seeds=2, epochs=20, workers=2,
                            progress=False)
        assert len(records) == 4
        return
    result = {}
    benchmark.group = "sweep: runs on Dask | seed 7 x seeds, 10000 epochs | float64"
    benchmark.pedantic(lambda: result.update(measure(log=lambda *a: None)), rounds=1,
                       iterations=1)
    benchmark.extra_info.update({k: v for k, v in result.items()})
    assert result["same_bits_1_vs_2_workers"], "results depend on the worker count"


if __name__ == "__main__":
    print(markdown(measure()))
