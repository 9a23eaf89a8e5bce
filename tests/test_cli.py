"""``fastnn compare`` (console script and ``python -m fastnn``), on few epochs, and the
command's manners as a Unix tool (exit statuses, closed and broken streams, Ctrl-C)."""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import fastnn.reference as R
from fastnn import cli, experiments, report
from fastnn.experiments import SEED_CONFIGS, OptimizerConfig

LABELS = [c.label for c in SEED_CONFIGS]
NUM = r"(\d+\.\d+)"
CELL = rf"{NUM}(?:±\d\.\d\d)?"  # a single run's value, or mean±sd over seeds: the mean
# optimizer, fastnn acc, NumPy acc, fastnn loss, NumPy loss, speed-up train, per-op
ROW_FULL = re.compile(rf"^(\S+)\s+{CELL}\s+{CELL}\s+{CELL}\s+{CELL}\s+{NUM}x\s+{NUM}x$")
# optimizer, fastnn acc, fastnn loss, µs/epoch
ROW_FAST = re.compile(rf"^(\S+)\s+{CELL}\s+{CELL}\s+{NUM}$")


def table_rows(out, pattern):
    rows = {}
    for line in out.splitlines():
        m = pattern.match(line)
        if m:
            rows[m.group(1)] = [float(v) for v in m.groups()[1:]]
    return rows


def reference_run(epochs, dtype, seed=0):
    """The seed notebook's loop on the NumPy twin, on the data and initial weights
    ``fastnn compare`` says it uses: NumPy's global generator seeded, spiral data
    first, then dense1's and dense2's weights."""
    X, y, w1, w2 = experiments.seed_data(100, seed, np.dtype(dtype))
    results = {}
    for cfg in SEED_CONFIGS:
        losses, accs, _ = experiments.run_notebook_loop(R, cfg, X, y, w1, w2, epochs)
        results[cfg.label] = (accs[-1], losses[-1])
    return results


def test_compare_table(capsys):
    assert cli.main(["compare", "--epochs", "30", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "30 epochs, float64, seed 0" in out
    lines = out.splitlines()
    head = lines.index(next(l for l in lines if l.startswith("optimizer")))
    assert re.split(r"\s{2,}", lines[head - 1].strip()) == ["accuracy", "loss", "speed-up"]
    assert re.split(r"\s{2,}", lines[head]) == [
        "optimizer", "fastnn", "NumPy", "fastnn", "NumPy", "train", "per-op"]
    rows = table_rows(out, ROW_FULL)
    assert list(rows) == LABELS, out
    expected = reference_run(30, "float64")
    for label, (f_acc, r_acc, f_loss, r_loss, train, per_op) in rows.items():
        # the NumPy columns are the reference loop's last epoch
        assert (r_acc, r_loss) == (round(expected[label][0], 3), round(expected[label][1], 3))
        # fastnn agrees with it after 30 epochs (float64: to ~1e-12, so to the printed digits
        # but for a rounding tie)
        assert abs(f_acc - r_acc) <= 0.0015 and abs(f_loss - r_loss) <= 0.0015, label
        assert train > 0 and per_op > 0
    assert re.search(r"overall speed-up over NumPy: Model.train \d+\.\dx, per-op classes "
                     r"\(import swap\) \d+\.\dx", out)


def test_compare_over_seeds_shows_the_spread(capsys):
    """--seeds K: mean±sd over seeds SEED..SEED+K-1 (the NumPy columns are the reference
    loop's, seed by seed), the chaos note right under the table, 100 columns at most."""
    assert cli.main(["compare", "--epochs", "20", "--seed", "4", "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    assert "20 epochs, float64, seeds 4..6" in out
    per_seed = [reference_run(20, "float64", seed) for seed in (4, 5, 6)]
    table = [l for l in out.splitlines() if ROW_FULL.match(l)]
    assert [l.split()[0] for l in table] == LABELS
    for line in table:
        label, f_acc, r_acc, f_loss, r_loss, train, per_op = line.split()
        acc = np.array([run[label][0] for run in per_seed])
        loss = np.array([run[label][1] for run in per_seed])
        assert r_acc == f"{acc.mean():.3f}±{acc.std(ddof=1):.2f}", label
        assert r_loss == f"{loss.mean():.3f}±{loss.std(ddof=1):.2f}", label
        assert "±" in f_acc and "±" in f_loss
    after = out.split(table[-1] + "\n", 1)[1].splitlines()
    assert after[:2] == ["", report.CHAOS_NOTE]
    assert "diverge chaotically" in report.CHAOS_NOTE
    assert max(map(len, out.splitlines())) <= 100, max(out.splitlines(), key=len)


def test_compare_seeds_past_numpys_last_seed_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", "--seed", str(2**32 - 2), "--seeds", "3"])
    assert info.value.code == 2
    assert "argument --seeds: seeds 4294967294..4294967296 go past 4294967295" in \
        capsys.readouterr().err


def test_compare_fastnn_only_float32(capsys):
    assert cli.main(["compare", "--epochs", "12", "--no-reference", "--dtype", "float32",
                     "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "12 epochs, float32, seeds 3..7" in out  # --seeds 5 by default
    assert "NumPy" not in out
    rows = table_rows(out, ROW_FAST)
    assert list(rows) == LABELS, out
    assert all(0 <= acc <= 1 and loss > 0 and us > 0 for acc, loss, us in rows.values())


def test_compare_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    assert cli.main(["compare", "--epochs", "15", "--plot", str(png)]) == 0
    assert f"wrote {png}" in capsys.readouterr().out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_compare_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    png = tmp_path / "curves.png"
    assert cli.main(["compare", "--epochs", "5", "--plot", str(png)]) == 2
    captured = capsys.readouterr()
    assert "needs matplotlib" in captured.err and "pip install matplotlib" in captured.err
    assert "pip install -e '.[plot]'" in captured.err
    assert captured.out == "" and not png.exists()  # refused before training anything


@pytest.mark.parametrize("argv", [[], ["compare", "--epochs", "0"],
                                  ["compare", "--dtype", "float16"], ["train"]])
def test_bad_command_lines(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "usage: fastnn" in capsys.readouterr().err


def _run(cmd):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                          cwd=pathlib.Path(__file__).resolve().parent)


def test_console_script_and_module():
    """The installed ``fastnn`` script and ``python -m fastnn`` both run the comparison."""
    script = _script()
    for cmd in ([script, "compare", "--epochs", "8", "--no-reference"],
                [sys.executable, "-m", "fastnn", "compare", "--epochs", "8"]):
        proc = _run(cmd)
        assert proc.returncode == 0, proc.stderr
        rows = table_rows(proc.stdout, ROW_FAST if "--no-reference" in cmd else ROW_FULL)
        assert list(rows) == LABELS, proc.stdout


# ----------------------------------------------------------------------------- the table

def test_seed_configs_spell_the_same_optimizer_both_ways():
    """Each seed configuration's notebook call and book call build the same optimizer
    (the reference keeps the book's attribute names in both spellings)."""
    assert len(SEED_CONFIGS) == 7
    for cfg in SEED_CONFIGS:
        nb, book = cfg.make(R, "notebook"), cfg.make(R, "book")
        assert type(nb).__name__ == cfg.class_name("notebook")
        assert vars(nb) == vars(book), cfg.label


def test_optimizer_config_reads_its_kwargs_from_the_call():
    cfg = OptimizerConfig("RMSProp(lr=0.02, decay=1e-5, rho=0.999)", None)
    assert cfg.label == "RMSProp(lr=0.02,decay=1e-5,rho=0.999)"
    assert cfg.kwargs() == {"lr": 0.02, "decay": 1e-5, "rho": 0.999}
    cfg.kwargs()["lr"] = 5          # a fresh dict each time
    assert cfg.kwargs()["lr"] == 0.02
    with pytest.raises(ValueError, match="no 'book' spelling"):
        cfg.kwargs("book")
    with pytest.raises(ValueError, match=r"'SGD\(0\.5\)' is not of the form"):
        OptimizerConfig("SGD(0.5)", None)


# ----------------------------------------------------------------------------- usage errors

@pytest.mark.parametrize("option,value,expected", [
    ("--seed", "-1", "must be 0..4294967295 (NumPy's seeds), got -1"),
    ("--seed", "1.5", "expected an integer, got '1.5'"),
    ("--seed", str(2**32), "must be 0..4294967295 (NumPy's seeds), got 4294967296"),
    ("--epochs", str(10**15), f"must be 1..{cli.MAX_EPOCHS} (the per-epoch history of each run "
                              f"is kept in memory), got {10**15}"),
    ("--samples", str(10**9), f"must be 1..{cli.MAX_SAMPLES} (the data and the activations"),
])
def test_out_of_range_options_are_usage_errors(option, value, expected, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", option, value])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage: fastnn compare" in captured.err
    assert f"argument {option}: {expected}" in captured.err, captured.err


def _script():
    script = shutil.which("fastnn", path=str(pathlib.Path(sys.executable).parent))
    assert script, "the fastnn console script is not installed next to this Python"
    return script


def _popen(cmd, **env):
    """Start ``cmd`` with pipes.  SIGINT goes back to its default in the child: a shell
    without job control starts background commands with SIGINT ignored, and Python
    then never raises KeyboardInterrupt."""
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONIOENCODING="utf-8", **env),
        cwd=pathlib.Path(__file__).resolve().parent,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _clean(err):
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_usage_error_in_a_process():
    proc = _run([_script(), "compare", "--seed", "-1"])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("usage: fastnn compare")
    assert "argument --seed: must be 0..4294967295" in proc.stderr
    _clean(proc.stderr)


# ----------------------------------------------------------------------------- streams

@pytest.mark.parametrize("epochs", ["3", "1000000"])
def test_stdout_reader_gone_exits_141_quietly(epochs):
    """``fastnn compare | head -1``: the reader takes one line and exits.  The run
    ends with 141 (128 + SIGPIPE) and no traceback, at the table's write (3 epochs)
    or early, without training on (10**6 epochs: minutes if it did)."""
    proc = _popen([_script(), "compare", "--epochs", epochs, "--no-reference"])
    try:
        assert proc.stdout.readline().startswith("fastnn compare:")
        proc.stdout.close()
        start = time.monotonic()
        proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        proc.kill()
    assert proc.returncode == 141, err
    assert time.monotonic() - start < 60
    _clean(err)


def test_closed_stdout_is_refused_before_training():
    proc = _run(["sh", "-c", 'exec "$0" "$@" >&-', _script(), "compare", "--epochs", "2"])
    assert proc.returncode == 1
    assert proc.stderr == ("fastnn: standard output is closed: nowhere to write the results "
                           "(redirect it to a file or to /dev/null)\n")


def test_closed_stderr_still_gives_the_results():
    proc = _run(["sh", "-c", 'exec "$0" "$@" 2>&-', _script(), "compare", "--epochs", "2",
                 "--no-reference"])
    assert proc.returncode == 0
    assert list(table_rows(proc.stdout, ROW_FAST)) == LABELS, proc.stdout
    proc = _run(["sh", "-c", 'exec "$0" "$@" 2>&-', _script(), "compare", "--seed", "-1"])
    assert proc.returncode == 2 and proc.stdout == ""


def test_ctrl_c_exits_130_with_one_line():
    proc = _popen([_script(), "compare", "--epochs", "1000000", "--no-reference"])
    try:
        assert proc.stdout.readline().startswith("fastnn compare:")  # training starts now
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.endswith("fastnn: interrupted\n")
    _clean(err)


def test_cold_cache_says_it_is_compiling(tmp_path):
    """A first run (empty Numba cache) says so on stderr before it compiles; then
    interrupted, so the test does not wait for the whole compilation."""
    proc = _popen([_script(), "compare", "--epochs", "2", "--no-reference"],
                  NUMBA_CACHE_DIR=str(tmp_path))
    try:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "compiling" in line:
                break
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert lines and lines[-1] == "fastnn: compiling kernels, first run only...\n", lines
    assert proc.returncode == 130


def test_warm_cache_says_nothing():
    cmd = [_script(), "compare", "--epochs", "2", "--no-reference"]
    _run(cmd)  # fills the cache, if this is the checkout's first run
    proc = _run(cmd)
    assert proc.returncode == 0 and proc.stderr == ""


def test_runs_under_python_OO():
    """No help text comes from a docstring (None under -OO)."""
    proc = _run([sys.executable, "-OO", "-m", "fastnn", "compare", "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "The seed notebook (chapter 10" in proc.stdout
    proc = _run([sys.executable, "-OO", "-m", "fastnn", "compare", "--epochs", "2",
                 "--no-reference"])
    assert proc.returncode == 0, proc.stderr
    assert list(table_rows(proc.stdout, ROW_FAST)) == LABELS


def test_version():
    import platform
    from importlib import metadata

    import numba

    proc = _run([_script(), "--version"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == (f"fastnn {metadata.version(cli.DIST)} ({cli.DIST}; numpy "
                           f"{metadata.version('numpy')}, numba {numba.__version__}, "
                           f"Python {platform.python_version()})\n")
    assert metadata.version(cli.DIST) == __import__("fastnn").__version__


@pytest.mark.parametrize("fail,message", [
    ("seed_data", "fastnn: out of memory: try fewer --epochs or --samples\n"),
    ("plot_spread", "fastnn: cannot write {png}: No space left on device\n"),
])
def test_runtime_errors_exit_1_with_one_line(fail, message, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    exc = MemoryError() if fail == "seed_data" else OSError(28, "No space left on device")

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(experiments if fail == "seed_data" else report, fail, boom)
    png = tmp_path / "c.png"
    assert cli.main(["compare", "--epochs", "2", "--no-reference", "--plot", str(png)]) == 1
    assert capsys.readouterr().err == message.format(png=png)


# ----------------------------------------------------------------------------- --plot

def _plot_usage_error(target, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", "--epochs", "5", "--plot", str(target)])
    captured = capsys.readouterr()
    assert info.value.code == 2
    assert captured.out == "", "trained before refusing the --plot file"
    assert "usage: fastnn compare" in captured.err
    return captured.err.splitlines()[-1]


@pytest.mark.parametrize("case,problem", [
    ("missing directory", "No such file or directory"),
    ("under a file", "Not a directory"),
    ("a directory", "Is a directory"),
])
def test_plot_file_checked_before_training(case, problem, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir.png").mkdir()
    target = {"missing directory": tmp_path / "no-such-dir" / "c.png",
              "under a file": tmp_path / "file.txt" / "c.png",
              "a directory": tmp_path / "dir.png"}[case]
    assert _plot_usage_error(target, capsys) == (
        f"fastnn compare: error: argument --plot: cannot write {target}: {problem}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_plot_into_read_only_directory(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        line = _plot_usage_error(ro / "c.png", capsys)
    finally:
        ro.chmod(stat.S_IRWXU)
    assert line.endswith(f"cannot write {ro / 'c.png'}: Permission denied")


def test_plot_unknown_format(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    line = _plot_usage_error(tmp_path / "c.xyz", capsys)
    assert f"argument --plot: {tmp_path / 'c.xyz'}: unknown image format 'xyz'" in line
    assert "png" in line and "svg" in line


def test_plot_check_leaves_files_as_they_were(tmp_path):
    pytest.importorskip("matplotlib")
    new, old = tmp_path / "new.png", tmp_path / "old.svg"
    old.write_text("keep")
    assert cli.plot_target(str(new)) == (str(new), "png") and not new.exists()
    assert cli.plot_target(str(old)) == (str(old), "svg") and old.read_text() == "keep"


def test_plot_without_extension_reports_the_file_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["compare", "--epochs", "5", "--no-reference", "--plot",
                     str(tmp_path / "curves")]) == 0
    png = tmp_path / "curves.png"
    assert f"\nwrote {png}\n" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


def test_plot_keeps_a_bounded_number_of_points(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(cli, "PLOT_POINTS", 4)
    kept = []
    real = report.plot_spread
    monkeypatch.setattr(report, "plot_spread",
                        lambda path, fmt, epochs, panels, title: (
                            kept.append((epochs, panels)), real(path, fmt, epochs, panels, title)))
    assert cli.main(["compare", "--epochs", "10", "--seeds", "2",
                     "--plot", str(tmp_path / "c.png")]) == 0
    epochs, panels = kept[0]
    assert epochs.tolist() == [1, 4, 7, 10]
    assert [label for label, _ in panels] == LABELS
    # fastnn's and NumPy's curves, one row per seed, the kept epochs only
    assert all(list(curves) == ["fastnn", "NumPy"] for _, curves in panels)
    assert all(a.shape == (2, 4) for _, curves in panels for pair in curves.values()
               for a in pair)


# ----------------------------------------------------------------------------- sweep

def test_sweep_ctrl_c_exits_130_and_leaves_no_process_or_half_line(tmp_path):
    """Ctrl-C in the middle of a sweep on its local cluster: exit 130 with one line, the
    cluster's processes gone, every line of --out a whole record, and a rerun resumes."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "runs.jsonl"
    cmd = [_script(), "sweep", "--seeds", "1000", "--epochs", "10000", "--workers", "2",
           "--out", str(out)]
    # in a session of its own, so that SIGINT goes to its whole process group, workers
    # included, as Ctrl-C in a terminal does
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline().startswith("fastnn sweep:")
        deadline = time.monotonic() + 120
        while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.2)  # runs are finishing
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2, children  # nannies and workers
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == "fastnn: interrupted\n"  # and nothing from the workers or Dask
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, alive
    lines = out.read_text().splitlines()
    assert lines and all(json.loads(line)["epochs"] == 10000 for line in lines)
    # resume: the runs done are not run again, the others are
    done = {(r["config"], r["seed"]) for r in map(json.loads, lines)}
    missing = {("SGD()", 0), ("SGD()", 1)} - done
    proc = _run([_script(), "sweep", "--grid", "SGD()", "--seeds", "2", "--epochs", "10000",
                 "--serial", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr
    new = [json.loads(line) for line in out.read_text().splitlines()[len(lines):]]
    assert {(r["config"], r["seed"]) for r in new} == missing and len(new) == len(missing)
