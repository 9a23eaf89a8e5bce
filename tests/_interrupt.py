"""Ctrl-C during training, as a user's terminal sends it: a child Python process that
prints ``ready`` when it starts training and one line when interrupted."""
import signal
import subprocess
import sys
import time


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
