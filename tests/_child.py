"""Tests that run a child Python process: one that prints a JSON line of results
(``run_json``; float32 runs after ``nnfs.init()``, which patches NumPy for the
whole process), and Ctrl-C during training as a user's terminal sends it
(``start``/``interrupt``: a child that prints ``ready`` when it starts training
and one line when interrupted)."""
import json
import signal
import subprocess
import sys
import time


def run_json(code, timeout=900):
    """Run ``code`` in a fresh interpreter; the JSON of the last line it prints."""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def start(code):
    """The child running ``code``.  SIGINT back to its default in the child: a shell
    without job control starts background commands with SIGINT ignored, and Python
    then keeps ignoring it."""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def interrupt(proc, after):
    """Wait for the child's ``ready``, send SIGINT ``after`` seconds later; return the
    words of the child's next line, which must start with ``interrupted``, and the
    seconds that line took to come."""
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    line = proc.stdout.readline().split()
    latency = time.perf_counter() - sent
    assert line[:1] == ["interrupted"], (line, proc.stderr.read())
    return line, latency
