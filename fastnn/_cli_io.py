"""The command line's manners as a Unix tool, shared by its commands (``fastnn.cli``,
``fastnn.cli_sweep``): the standard streams (closed, broken, not UTF-8), one-line
messages on stderr, the note that Numba is compiling, bounded integer options and the
``--plot`` file checked before anything runs."""
import argparse
import contextlib
import errno
import os
import select
import sys


def _bounded_int(low, high, why=""):
    """An argparse ``type``: an integer in ``low..high``, else a message naming both."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}{why}, got {value}")
        return value
    return parse



# ----------------------------------------------------------------------------- the streams

def _guard_standard_streams():
    """Make a closed stdin/stdout/stderr harmless.  Python leaves ``sys.stdout`` (or
    stderr) None when the process starts with that descriptor closed (``>&-``); the
    descriptor is then reopened on /dev/null, so no file opened later can take it and
    receive what is written to "stdout".  stderr falls back to /dev/null (messages are
    lost; the exit status still tells); a closed stdout is refused by ``compare``."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")


def _flush(stream):
    if stream is not None:
        stream.flush()


def _say(message):
    """One line on stderr, prefixed 'fastnn: '.  A failure to write it is ignored:
    stderr's troubles must not end a run whose results go to stdout."""
    try:
        print(f"fastnn: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def _silence_output():
    """The Python docs' recipe for a broken pipe: point stdout (and stderr) at
    /dev/null, so the interpreter's final flush of what is still buffered cannot
    fail again and print a traceback of its own."""
    null = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(null, stream.fileno())
        except (AttributeError, OSError, ValueError):
            pass  # not a real file (captured in tests, or None)
    os.close(null)


def _raise_if_reader_gone(stream):
    """Raise BrokenPipeError as soon as ``stream`` is a pipe nobody reads any more
    (``| head -1`` has exited), instead of training for minutes and finding out at the
    first write of the table: poll() reports POLLERR on such a pipe."""
    if not hasattr(select, "poll"):
        return
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    poller = select.poll()
    poller.register(fd, 0)  # no events asked for: only POLLERR/POLLHUP/POLLNVAL come back
    if any(event & select.POLLERR for _, event in poller.poll(0)):
        raise BrokenPipeError(errno.EPIPE, "standard output's reader has gone")


@contextlib.contextmanager
def _announce_compilation():
    """Say once on stderr when Numba starts compiling: on a cold (or stale) cache the
    first run otherwise sits silent for ~15 s.  Numba's event API fires "numba:compile"
    only for a real compilation, never for a load from its on-disk cache, so a warm run
    says nothing, wherever the cache lives (NUMBA_CACHE_DIR or beside the kernels)."""
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover (the event API exists since numba 0.53)
        yield
        return

    class Once(event.Listener):
        told = False

        def on_start(self, ev):
            if not self.told:
                self.told = True
                _say("compiling kernels, first run only...")

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Once()):
        yield


# ----------------------------------------------------------------------------- compare

def _check_matplotlib(command="compare"):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return (f"{command} --plot needs matplotlib, which is not installed.\n"
                "Install it with:  pip install matplotlib   (or, in a clone of fastnn: "
                "pip install -e '.[plot]', the extra of nnfs-fast)")
    return None


def plot_target(value):
    """``(path, format)`` that ``--plot value`` will write, checked now: the format
    matplotlib takes from the extension (none: ``.png`` appended, as matplotlib does),
    and the path can be written (opened for appending, and removed again if it did not
    exist).  Raises ValueError naming the problem."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = os.path.splitext(value)[1][1:].lower()
    if not fmt:
        value, fmt = value.rstrip(".") + ".png", "png"
    elif fmt not in formats:
        raise ValueError(f"{value}: unknown image format {fmt!r} (from the extension); "
                         f"matplotlib writes {', '.join(sorted(formats))}")
    existed = os.path.lexists(value)
    try:
        with open(value, "ab"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write {value}: {exc.strerror or exc}") from None
    if not existed:
        os.remove(value)
    return value, fmt


def _mu(stream):
    """The micro sign if ``stream`` can print it, else 'u'."""
    try:
        "µ".encode(getattr(stream, "encoding", None) or "ascii")
        return "µ"
    except (UnicodeEncodeError, LookupError):
        return "u"
