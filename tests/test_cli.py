"""``fastnn compare`` (console script and ``python -m fastnn``), on few epochs."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from fastnn import cli

LABELS = [c[0] for c in cli.CONFIGS]
NUM = r"(\d+\.\d+)"
ROW_FULL = re.compile(rf"^(\S+)\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}\s+{NUM}x$")
ROW_FAST = re.compile(rf"^(\S+)\s+{NUM}\s+{NUM}\s+{NUM}$")


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
    X, y, w1, w2 = cli._data(100, seed, np.dtype(dtype))
    results = {}
    for label, opt_name, kwargs in cli.CONFIGS:
        losses, accs, _ = cli.run_reference(opt_name, kwargs, X, y, w1, w2, epochs,
                                            lambda n: None)
        results[label] = (accs[-1], losses[-1])
    return results


def test_compare_table(capsys):
    assert cli.main(["compare", "--epochs", "30"]) == 0
    out = capsys.readouterr().out
    assert "30 epochs, float64, seed 0" in out
    head = next(l for l in out.splitlines() if l.startswith("optimizer"))
    assert re.split(r"\s{2,}", head) == [
        "optimizer", "fastnn acc", "fastnn loss", "NumPy acc", "NumPy loss",
        "fastnn µs/epoch", "NumPy µs/epoch", "speedup"]
    rows = table_rows(out, ROW_FULL)
    assert list(rows) == LABELS, out
    expected = reference_run(30, "float64")
    for label, (f_acc, f_loss, r_acc, r_loss, f_us, r_us, speedup) in rows.items():
        # the NumPy columns are the reference loop's last epoch
        assert (r_acc, r_loss) == (round(expected[label][0], 3), round(expected[label][1], 3))
        # fastnn agrees with it after 30 epochs (float64: to ~1e-12, so to the printed digits
        # but for a rounding tie)
        assert abs(f_acc - r_acc) <= 0.0015 and abs(f_loss - r_loss) <= 0.0015, label
        assert f_us > 0 and r_us > 0
        assert speedup == pytest.approx(r_us / f_us, rel=0.05, abs=0.06)
    assert re.search(r"overall speedup: \d+\.\dx", out)


def test_compare_fastnn_only_float32(capsys):
    assert cli.main(["compare", "--epochs", "12", "--no-reference", "--dtype", "float32",
                     "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "12 epochs, float32, seed 3" in out
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
    assert "needs matplotlib" in captured.err and "pip install 'fastnn[plot]'" in captured.err
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
    script = shutil.which("fastnn", path=str(pathlib.Path(sys.executable).parent))
    assert script, "the fastnn console script is not installed next to this Python"
    for cmd in ([script, "compare", "--epochs", "8", "--no-reference"],
                [sys.executable, "-m", "fastnn", "compare", "--epochs", "8"]):
        proc = _run(cmd)
        assert proc.returncode == 0, proc.stderr
        rows = table_rows(proc.stdout, ROW_FAST if "--no-reference" in cmd else ROW_FULL)
        assert list(rows) == LABELS, proc.stdout
