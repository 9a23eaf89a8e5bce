"""The ``fastnn`` command.  ``fastnn compare`` runs the seed notebook's experiment.

Results go to standard output, everything else (progress, the one-line note that Numba is
compiling, errors) to standard error.  Exit status:

- 0: done;
- 1: a runtime error (a one-line message on stderr; a bug still shows its traceback);
- 2: a usage error (argparse's usage line and the message on stderr), including a
  ``--plot`` file that cannot be written, found before anything is trained;
- 130: interrupted (Ctrl-C, SIGINT);
- 141: standard output's reader went away (``fastnn compare | head -1``).  141 is
  128 + SIGPIPE, what a shell reports for a C tool killed by SIGPIPE, so a pipeline
  under ``set -o pipefail`` sees the same as with coreutils; nothing is printed.
"""
import argparse
import contextlib
import errno
import os
import platform
import select
import sys

import numpy as np

from . import experiments
from . import reference as numpy_twin
from .experiments import CLASSES, HIDDEN, INPUTS, SEED_CONFIGS

DIST = "nnfs-fast"  # the distribution's name: PyPI's 'fastnn' is an unrelated project
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141

# Bounds of the options.  Seeds: what np.random.seed accepts.  Epochs: every run keeps
# its history in memory (Model.train: 64 bytes an epoch at its peak), so 10**7 epochs
# (1000x the notebook's) take 640 MB; beyond that the run would take hours anyway.
# Samples: about 4.5 kB of data and activations a sample, 1.4 GB at 10**5 a class.
MAX_SEED = 2**32 - 1
MAX_EPOCHS = 10**7
MAX_SAMPLES = 10**5
PLOT_POINTS = 10000  # epochs kept per curve for --plot (evenly spaced beyond that)

# Not taken from the module's docstring: under ``python -OO`` docstrings are None.
DESCRIPTION = """\
The seed notebook (chapter 10, "Optimizers") trains a 2-64-3 network on spiral
data (100 samples per class, 3 classes) for 10000 epochs with seven optimizer
configurations.  'fastnn compare' trains each of them with fastnn.Model (the
whole loop compiled) and with the notebook's per-op loop on the NumPy twin
fastnn.reference, from the same data and initial weights, and prints one table
row per configuration: final accuracy and loss of both, microseconds per epoch
of both, and the speed-up."""
EPILOG = ("exit status: 0 done, 1 runtime error, 2 usage error, 130 interrupted, "
          "141 standard output closed by its reader")


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


def version_text():
    """``fastnn X (nnfs-fast; numpy Y, numba Z, Python W)``, from the installed
    distributions' metadata (nothing is imported for it)."""
    from importlib import metadata

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    ours, dist = version(DIST), DIST
    if ours is None:  # run from a source tree that is not installed
        from . import __version__ as ours
        dist = "not installed"
    return (f"fastnn {ours} ({dist}; numpy {version('numpy')}, numba {version('numba')}, "
            f"Python {platform.python_version()})")


class _VersionAction(argparse.Action):
    """``--version``: argparse's own action re-wraps the line to the terminal's width."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the versions of fastnn, numpy, numba and Python, and exit"):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text(), file=sys.stdout or sys.stderr)  # stderr if closed, as --help
        parser.exit()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastnn", epilog=EPILOG,
        description="fastnn: the classes of 'Neural Networks from Scratch in Python', compiled.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser(
        "compare", help="the seed notebook's seven optimizers: fastnn vs the NumPy reference",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=_bounded_int(1, MAX_EPOCHS, " (the per-epoch history of "
                                                 "each run is kept in memory)"),
                   default=experiments.EPOCHS,
                   help=f"epochs per configuration, at most {MAX_EPOCHS} (default: %(default)s, "
                        f"as the notebook)")
    p.add_argument("--dtype", choices=experiments.DTYPES, default="float64",
                   help="precision of data and weights (default: %(default)s; the notebook "
                        "without nnfs.init() is float64)")
    p.add_argument("--seed", type=_bounded_int(0, MAX_SEED, " (NumPy's seeds)"),
                   default=experiments.SEED,
                   help="seed of NumPy's global generator for the data and initial weights, "
                        f"0..{MAX_SEED} (default: %(default)s)")
    p.add_argument("--samples", type=_bounded_int(1, MAX_SAMPLES, " (the data and the "
                                                  "activations are kept in memory)"),
                   default=experiments.SAMPLES,
                   help=f"spiral samples per class, at most {MAX_SAMPLES} "
                        f"(default: %(default)s)")
    p.add_argument("--no-reference", action="store_true",
                   help="train with fastnn only (no NumPy columns)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="write loss and accuracy curves of every configuration (needs "
                        "matplotlib; in a clone: pip install -e '.[plot]'); without an "
                        "extension, FILE.png")
    p.set_defaults(run=compare, parser=p)  # the subcommand's parser reports its usage errors
    return parser


def main(argv=None):
    """Run the command line; returns the exit status (argparse raises SystemExit for
    --help, --version and usage errors)."""
    _guard_standard_streams()
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        finally:
            # --help/--version into a closed pipe fail here, not in the interpreter's exit
            _flush(sys.stdout)
        status = args.run(args, args.parser)
        _flush(sys.stdout)
        return status
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_output()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        _say("out of memory: try fewer --epochs or --samples")
        return EXIT_ERROR


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

def _check_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ("compare --plot needs matplotlib, which is not installed.\n"
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


def compare(args, parser):
    """Train every configuration, print the table; returns the exit status."""
    if sys.stdout is None:
        _say("standard output is closed: nowhere to write the results "
             "(redirect it to a file or to /dev/null)")
        return EXIT_ERROR
    plot = None
    if args.plot:  # everything about --plot is checked before the first epoch
        problem = _check_matplotlib()
        if problem:
            _say(problem)
            return EXIT_USAGE
        try:
            plot = plot_target(args.plot)
        except ValueError as exc:
            parser.error(f"argument --plot: {exc}")
    from tqdm import tqdm

    dtype = np.dtype(args.dtype)
    reference = not args.no_reference
    X, y, w1, w2 = experiments.seed_data(args.samples, args.seed, dtype)
    title = (f"spiral data {args.samples} x {CLASSES} classes, network {INPUTS}-{HIDDEN}-{CLASSES}, "
             f"{args.epochs} epochs, {dtype.name}, seed {args.seed}")
    print(f"fastnn compare: {title}")
    print("fastnn: fastnn.Model.train (one compiled loop)" +
          ("; NumPy: the notebook's per-op loop on fastnn.reference" if reference else ""))
    sys.stdout.flush()

    with _announce_compilation():
        # compile (or load from Numba's cache) before anything is timed
        for cfg in SEED_CONFIGS:
            experiments.seed_model(cfg, w1, w2).train(X, y, epochs=1, verbose=False)

    # the epochs kept for the plot: all of them up to PLOT_POINTS, so memory stays bounded
    kept = np.unique(np.linspace(0, args.epochs - 1, min(args.epochs, PLOT_POINTS))
                     .round().astype(np.int64))
    runs = len(SEED_CONFIGS) * (2 if reference else 1)
    rows, curves = [], []
    with tqdm(total=runs * args.epochs, unit="epoch", unit_scale=True, file=sys.stderr,
              dynamic_ncols=True, disable=None, desc="compare") as bar:
        done = [0]

        def progress(epochs_done):  # cumulative within a run, as Model.train's callback
            _raise_if_reader_gone(sys.stdout)
            bar.update(epochs_done - done[0])
            done[0] = epochs_done

        for cfg in SEED_CONFIGS:
            bar.set_postfix_str(f"{cfg.label} fastnn", refresh=False)
            done[0] = 0
            f_loss, f_acc, f_sec = experiments.run_model(cfg, X, y, w1, w2, args.epochs,
                                                         progress)
            row = dict(label=cfg.label, fast_loss=float(f_loss[-1]), fast_acc=float(f_acc[-1]),
                       fast_us=f_sec / args.epochs * 1e6)
            ref = None
            if reference:
                bar.set_postfix_str(f"{cfg.label} NumPy", refresh=False)
                done[0] = 0
                r_loss, r_acc, r_sec = experiments.run_notebook_loop(
                    numpy_twin, cfg, X, y, w1, w2, args.epochs, progress)
                row.update(ref_loss=float(r_loss[-1]), ref_acc=float(r_acc[-1]),
                           ref_us=r_sec / args.epochs * 1e6)
                ref = (r_loss[kept], r_acc[kept])
            rows.append(row)
            if plot:
                curves.append((cfg.label, (f_loss[kept], f_acc[kept]), ref))

    print()
    print(experiments.format_table(rows, reference, _mu(sys.stdout)))
    if reference:
        fast_total = sum(r["fast_us"] for r in rows)
        ref_total = sum(r["ref_us"] for r in rows)
        print(f"\noverall speedup: {ref_total / fast_total:.1f}x "
              f"(accuracy and loss are those of the last epoch's forward pass)")
    if plot:
        path, fmt = plot
        try:
            experiments.plot_curves(path, fmt, kept + 1, curves, f"fastnn compare: {title}")
        except OSError as exc:  # e.g. the disk filled up while training
            _say(f"cannot write {path}: {exc.strerror or exc}")
            return EXIT_ERROR
        print(f"\nwrote {path}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
