"""``fastnn.sweep`` and ``fastnn sweep`` on a real Dask ``LocalCluster`` of two worker
processes: same bits as a serial run, no run lost or doubled when a worker is killed,
resume, warm-up without a compile stampede, and bad grids refused before anything runs."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import distributed  # in the test extra: these tests are required, never skipped
from fastnn import cli, experiments, grid, report, sweep
from fastnn import _sweep_worker as worker

EPOCHS = 300  # short runs: the tests check bookkeeping and bits, not training
CONFIGS = [experiments.config("SGD(decay=1e-3, momentum=0.9)"),
           experiments.config("Adam(lr=0.05, decay=5e-7)"),
           *grid.parse_grid("RMSProp:lr=0.02:decay=0,1e-4")]
VOLATILE = ("seconds", "pid", "host")  # what may differ between two runs of one run


def results(records):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in records]


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def client():
    """The sweep's own local cluster: two single-threaded worker processes."""
    cluster = sweep.local_cluster(2)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def serial():
    """The grid run in this process (default thread settings, no Dask)."""
    return sweep.run(CONFIGS, seeds=4, epochs=EPOCHS, serial=True, progress=False)


def test_cluster_results_equal_a_serial_run_bit_for_bit(client, serial, tmp_path):
    out = tmp_path / "runs.jsonl"
    records = sweep.run(CONFIGS, seeds=4, epochs=EPOCHS, client=client, out=out,
                        progress=False)
    assert results(records) == results(serial)  # losses, accuracies, curves, parameter hashes
    assert len({r["pid"] for r in records}) == 2, "both workers ran"
    assert {r["pid"] for r in records}.isdisjoint({os.getpid()})
    # the file holds the same records (JSON round-trips floats exactly)
    assert sorted(map(json.dumps, results(read_lines(out)))) == \
        sorted(map(json.dumps, results(serial)))
    # runs differ from each other: the hash would catch a worker running the wrong thing
    assert len({r["params_sha256"] for r in serial}) == len(serial)
    # workers ran with one BLAS and one Numba thread; this process with its defaults
    limits = client.run(_thread_limits)
    assert all(v == (1, 1) for v in limits.values()), limits


def _thread_limits():
    import numba
    from threadpoolctl import threadpool_info
    blas = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    return (max(blas), numba.config.NUMBA_NUM_THREADS)


def test_killed_worker_loses_no_run_and_writes_none_twice(client, tmp_path):
    configs = CONFIGS[:3]
    seeds = range(10)
    epochs = 2000  # ~30 ms a run: runs are surely in flight when the worker dies
    out = tmp_path / "runs.jsonl"
    pids = client.run(os.getpid)
    victim, victim_pid = sorted(pids.items())[0]
    killed = {}

    def kill_once(record):
        if not killed and record["pid"] == victim_pid:
            killed["in flight"] = list(client.processing(workers=[victim])[victim])
            os.kill(victim_pid, signal.SIGKILL)

    records = sweep.run(configs, seeds, epochs=epochs, client=client, out=out,
                        on_record=kill_once, progress=False)
    assert killed["in flight"], "no run was in flight on the killed worker"
    lines = read_lines(out)
    keys = [sweep.record_key(r) for r in lines]
    assert len(keys) == len(set(keys)) == len(configs) * len(seeds)
    # the victim really died with those runs assigned to it, so they ran again on a live
    # worker: the survivor or the nanny's restarted process (either is right; which
    # one depends on timing, and under load it is often the survivor)
    with pytest.raises(ProcessLookupError):
        os.kill(victim_pid, 0)
    expected = sweep.run(configs, seeds, epochs=epochs, serial=True, progress=False)
    assert results(records) == results(expected)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the next tests


def test_resume_skips_finished_runs(client, serial, tmp_path):
    out = tmp_path / "runs.jsonl"
    first = sweep.run(CONFIGS, seeds=2, epochs=EPOCHS, client=client, out=out, progress=False)
    before = out.read_text()
    # a crash while writing: a line cut short at the end of the file
    with open(out, "a") as f:
        f.write(json.dumps(first[0])[:40])
    ran = []
    records = sweep.run(CONFIGS, seeds=4, epochs=EPOCHS, client=client, out=out,
                        on_record=ran.append, progress=False)
    assert sorted((r["config"], r["seed"]) for r in ran) == \
        sorted((c.label, s) for c in CONFIGS for s in (2, 3))
    assert out.read_text().startswith(before)  # finished lines untouched, the cut one gone
    assert len(read_lines(out)) == len(CONFIGS) * 4
    assert results(records) == results(serial)
    # everything there: nothing runs, not even a cluster
    again = sweep.run(CONFIGS, seeds=4, epochs=EPOCHS, out=out, workers=1,
                      on_record=ran.append, progress=False)
    assert len(ran) == 2 * len(CONFIGS) and again == records


def test_resume_refuses_a_file_that_is_not_a_sweep(tmp_path):
    out = tmp_path / "notes.jsonl"
    out.write_text('{"final_loss": 1}\n')
    with pytest.raises(sweep.SweepError, match=r"notes.jsonl, line 1: not a fastnn sweep record"):
        sweep.run(CONFIGS, seeds=1, epochs=5, out=out, serial=True, progress=False)


def _deeper(cfg, seed, dtype, samples):
    """A user's own network for ``build=``: 2-16-16-3 on the seed's data."""
    import fastnn
    X, y = experiments.spiral(samples, 3, seed, dtype)  # then the weights, from the same stream
    dense = [fastnn.Layer_Dense(2, 16), fastnn.Layer_Dense(16, 16), fastnn.Layer_Dense(16, 3)]
    for layer in dense:
        layer.weights, layer.biases = layer.weights.astype(dtype), layer.biases.astype(dtype)
    model = fastnn.Model()
    for layer in (dense[0], fastnn.Activation_ReLU(), dense[1], fastnn.Activation_ReLU(),
                  dense[2], fastnn.Activation_Softmax()):
        model.add(layer)
    model.set(loss=fastnn.Loss_CategoricalCrossentropy(), optimizer=cfg.make(fastnn),
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    return model, X, y


def test_a_model_of_your_own(client):
    configs = CONFIGS[1:2]
    kw = dict(seeds=3, epochs=50, build=_deeper, progress=False)
    on_cluster = sweep.run(configs, client=client, **kw)
    assert results(on_cluster) == results(sweep.run(configs, serial=True, **kw))
    assert on_cluster[0]["network"] == f"{__name__}._deeper"
    assert on_cluster[0]["params_sha256"] != sweep.run(configs, seeds=3, epochs=50, serial=True,
                                                       progress=False)[0]["params_sha256"]


def test_one_compile_per_cache_directory(tmp_path, monkeypatch):
    """A cold cache and two workers warming up at the same moment: one compiles, the
    other waits for it and loads what it saved (without the lock both compile)."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))  # the workers inherit it
    run = sweep.runs_for(CONFIGS[:1], [0], epochs=5)[0]
    cluster = sweep.local_cluster(2)
    try:
        with distributed.Client(cluster) as c:
            c.wait_for_workers(2)
            pinned = [c.submit(worker.task, run, key=f"warm-{i}", workers=[address], pure=False)
                      for i, address in enumerate(sorted(c.scheduler_info()["workers"]))]
            assert results(c.gather(pinned)) == results([sweep.run_one(run)] * 2)
            warm = [w for ws in c.run(worker.warmups).values() for w in ws]
    finally:
        cluster.close()
    assert len(warm) == 2, warm
    compiler, loader = sorted(warm, key=lambda w: -w["compiled"])
    assert compiler["compiled"] > 10 and loader["compiled"] == 0, warm
    assert loader["waited"] > 0.5 * compiler["seconds"], warm  # it queued behind the compile
    assert loader["seconds"] < 0.5 * compiler["seconds"], warm
    assert any(name.endswith(".nbc") for name in os.listdir(next((tmp_path / "numba").iterdir())))


# ----------------------------------------------------------------------------- grids

def test_grid_specs():
    labels = [c.label for c in grid.parse_grid("Adam:learning_rate=0.01,0.05:decay=0,5e-7")]
    assert labels == ["Adam(lr=0.01,decay=0)", "Adam(lr=0.01,decay=5e-7)",
                      "Adam(lr=0.05,decay=0)", "Adam(lr=0.05,decay=5e-7)"]
    (c,) = grid.parse_grid("Optimizer_Adam:beta_1=0.8")
    assert (c.book, c.notebook) == ("Optimizer_Adam(beta_1=0.8)", "Adam(beta1=0.8)")
    # RMSProp's learning rate defaults differ between the spellings: written out
    assert grid.parse_grid("RMSProp")[0].label == "RMSProp(lr=1.0)"
    assert grid.parse_grid("Optimizer_RMSprop")[0].label == "RMSProp(lr=0.001)"
    # the notebook's own call, and duplicates across spellings run once
    both = grid.configs_from(["SGD(decay=1e-3)", "sgd:decay=0.001"])
    assert [c.label for c in both] == ["SGD(decay=1e-3)"]
    assert grid.configs_from() == list(experiments.SEED_CONFIGS)


def test_grid_files(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text('[[grid]]\noptimizer = "Adam"\nlr = [0.01, 0.05]\ndecay = 5e-7\n\n'
                    '[[grid]]\noptimizer = "SGD"\nmomentum = [0.5, 0.9]\n')
    assert [c.label for c in grid.load_grid_file(toml)] == [
        "Adam(lr=0.01,decay=5e-07)", "Adam(lr=0.05,decay=5e-07)",
        "SGD(momentum=0.5)", "SGD(momentum=0.9)"]
    js = tmp_path / "g.json"
    js.write_text(json.dumps({"grid": ["AdaGrad:decay=1e-4", {"optimizer": "Optimizer_SGD"}]}))
    assert [c.label for c in grid.load_grid_file(js)] == ["AdaGrad(decay=1e-4)", "SGD()"]


@pytest.mark.parametrize("spec,message", [
    ("Adamm:lr=1", "unknown optimizer 'Adamm'; known: SGD, AdaGrad"),
    ("Adam:lr=0.1,x", "lr: 'x' is not a number"),
    ("Adam:rho=0.9", "Adam has no parameter 'rho'; it takes lr/learning_rate, decay"),
    ("Adam:lr", "'lr' is not PARAM=V1,V2,..."),
    ("Adam:lr=1:learning_rate=2", "parameter 'learning_rate' given twice"),
    ("Adam:lr=inf", "'inf' is not a number"),
    ("SGD(0.5)", "nor a call NAME(param=value, ...)"),
    ("SGD:decay=" + ",".join(["1"] * 101) + ":momentum=" + ",".join(["0"] * 100),
     "10100 configurations, more than 10000"),
])
def test_bad_grid_is_refused_before_anything_runs(spec, message, tmp_path, capsys, monkeypatch):
    with pytest.raises(grid.GridError, match=None) as info:
        grid.parse_grid(spec)
    assert message in str(info.value) and repr(spec)[:20] in str(info.value)
    # the command: a usage error naming it; no cluster, no file
    monkeypatch.setattr(sweep, "local_cluster", lambda *a: pytest.fail("started a cluster"))
    out = tmp_path / "runs.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sweep", "--grid", "SGD()", "--grid", spec, "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "usage: fastnn sweep" in err and message in err
    assert not out.exists()


def test_bad_grid_file(tmp_path, capsys):
    bad = tmp_path / "g.toml"
    bad.write_text('[[grid]]\nlr = 0.1\n')
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--grid-file", str(bad)])
    assert f"grid file {bad}, entry 1: needs optimizer = \"NAME\"" in capsys.readouterr().err
    bad.write_text('grid = [1')
    with pytest.raises(grid.GridError, match="g.toml: "):
        grid.load_grid_file(bad)


# ----------------------------------------------------------------------------- the command

def test_sweep_command_table_file_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "runs.jsonl", tmp_path / "bands.png"
    argv = ["sweep", "--grid", "SGD:decay=1e-3:momentum=0.5,0.9", "--grid", "Adam:lr=0.05",
            "--seeds", "3", "--epochs", "200", "--workers", "2", "--out", str(out),
            "--plot", str(png)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "3 configurations x 3 seeds, 200 epochs" in text and "local Dask cluster of 2" in text
    rows = [line.split() for line in text.splitlines() if line.startswith(("SGD(", "Adam("))]
    assert [r[0] for r in rows] == [s["config"] for s in sweep.summarize(read_lines(out))]
    means = [float(r[2].split("±")[0]) for r in rows]
    assert means == sorted(means, reverse=True) and all(r[1] == "3" for r in rows)
    assert report.CHAOS_NOTE in text and f"wrote {png}" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(read_lines(out)) == 9
    assert max(len(line) for line in text.splitlines() if str(tmp_path) not in line) <= 100


def test_without_dask_the_message_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(sweep.MissingDask, match=r'pip install "nnfs-fast\[sweep\]"'):
        sweep.run(CONFIGS, seeds=1, epochs=5, progress=False)
    assert cli.main(["sweep", "--seeds", "1", "--epochs", "5"]) == 2
    err = capsys.readouterr().err
    assert "Dask distributed, which is not installed" in err
    assert "--serial" in err
    # --serial needs no Dask
    assert cli.main(["sweep", "--seeds", "1", "--epochs", "5", "--serial",
                     "--grid", "SGD"]) == 0


def test_unreachable_scheduler_is_one_line(capsys):
    started = time.perf_counter()
    with pytest.raises(sweep.SweepError, match="cannot connect to the Dask scheduler"):
        import dask
        with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
            sweep.run(CONFIGS[:1], seeds=1, epochs=5, scheduler="tcp://127.0.0.1:9",
                      progress=False)
    assert time.perf_counter() - started < 30


def test_console_script_sweep_in_a_process(tmp_path):
    """The installed command spawns its workers itself (multiprocessing's spawn
    re-imports the script: it must not start a second sweep)."""
    out = tmp_path / "runs.jsonl"
    script = os.path.join(os.path.dirname(sys.executable), "fastnn")
    proc = subprocess.run([script, "sweep", "--grid", "Adam", "--seeds", "2", "--epochs", "20",
                           "--workers", "2", "--out", str(out)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "\nAdam()  " in proc.stdout and len(read_lines(out)) == 2


def test_batches_carry_about_half_a_second_and_keep_the_end_balanced():
    runs = sweep.runs_for(CONFIGS, range(25), epochs=10)  # 100 runs
    batches = sweep._Batches(runs, threads=2)
    first = next(batches)
    assert first == runs[:1]  # nothing measured yet: one run a task
    batches.measured(0.1)  # 0.1 s a run: 5 runs make half a second
    sizes = [len(b) for b in batches]
    assert sizes[0] == 5 and sum(sizes) == 99
    assert sizes[-4:] == [1, 1, 1, 1]  # the last ones small: no worker idles at the end
    rebuilt = sweep._Batches(runs, threads=2)
    assert [r for b in rebuilt for r in b] == runs  # every run once, in the grid's order


def test_workers_of_other_versions_are_named(client, capsys, monkeypatch):
    here = worker.versions()
    monkeypatch.setattr(sweep, "_local_versions", lambda: dict(here, numba="0.0.1"))
    sweep.run(CONFIGS[:1], seeds=1, epochs=5, client=client, progress=False)
    err = capsys.readouterr().err
    assert "some Dask workers run other versions" in err and '"numba": "0.0.1"' in err
    assert f'"numba": "{here["numba"]}"' in err
    monkeypatch.undo()
    sweep.run(CONFIGS[:1], seeds=2, epochs=5, client=client, progress=False)
    assert "other versions" not in capsys.readouterr().err


def test_grid_names_every_optimizer_of_the_registry_in_both_spellings():
    import fastnn
    from fastnn import registry
    books = {spec.cls.__name__ for spec in registry.OPTIMIZERS}
    assert set(grid._PAIRS.values()) == books
    for nb, book in grid._PAIRS.items():
        assert issubclass(getattr(fastnn, nb), getattr(fastnn, book))
        assert grid.parse_grid(nb)[0].make(fastnn).__class__ is getattr(fastnn, nb)
