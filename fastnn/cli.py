"""The ``fastnn`` command.  ``fastnn compare`` runs the seed notebook's experiment over a
few seeds; ``fastnn sweep`` (``fastnn/cli_sweep.py``) runs grids of configurations x seeds.

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
import platform
import sys

import numpy as np

from . import experiments, report
from . import reference as numpy_twin
from ._cli_io import (_announce_compilation, _bounded_int, _check_matplotlib, _flush,
                      _guard_standard_streams, _mu, _raise_if_reader_gone, _say,
                      _silence_output, plot_target)
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
# compare --seeds: every seed is three full runs (Model.train, the per-op loop on
# fastnn's classes and on NumPy's), about 1.7 s at the notebook's 10000 epochs
MAX_COMPARE_SEEDS = 1000
PLOT_POINTS = 10000  # epochs kept per curve for --plot (evenly spaced beyond that)

# Not taken from the module's docstring: under ``python -OO`` docstrings are None.
DESCRIPTION = """\
The seed notebook (chapter 10, "Optimizers") trains a 2-64-3 network on spiral
data (100 samples per class, 3 classes) for 10000 epochs with seven optimizer
configurations.  'fastnn compare' trains each of them, for each of --seeds seeds
(data and initial weights drawn from NumPy's generator seeded with it), three
ways: with fastnn.Model (the whole loop compiled), with the notebook's per-op
loop on fastnn's classes (the import swap), and with that loop on the NumPy twin
fastnn.reference.  It prints one row per configuration: final accuracy and loss
of fastnn and NumPy (mean and sd over the seeds), and the speed-up of each
fastnn path over NumPy.  Training this problem is chaotic: single runs of two
correct implementations drift apart, so compare the spreads, not single runs
('fastnn sweep' runs larger grids on Dask).""" 
EPILOG = ("exit status: 0 done, 1 runtime error, 2 usage error, 130 interrupted, "
          "141 standard output closed by its reader")



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
    p.add_argument("--seeds", type=_bounded_int(1, MAX_COMPARE_SEEDS), default=5,
                   help="runs per configuration, with seeds SEED, SEED+1, ... (default: "
                        "%(default)s; one run of this chaotic problem says little)")
    p.add_argument("--samples", type=_bounded_int(1, MAX_SAMPLES, " (the data and the "
                                                  "activations are kept in memory)"),
                   default=experiments.SAMPLES,
                   help=f"spiral samples per class, at most {MAX_SAMPLES} "
                        f"(default: %(default)s)")
    p.add_argument("--no-reference", action="store_true",
                   help="train with fastnn.Model only (no NumPy and no per-op columns)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="write loss and accuracy curves of every configuration (needs "
                        "matplotlib; in a clone: pip install -e '.[plot]'); without an "
                        "extension, FILE.png")
    p.set_defaults(run=compare, parser=p)  # the subcommand's parser reports its usage errors
    from . import cli_sweep
    cli_sweep.add_parser(sub, EPILOG)
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


def compare(args, parser):
    """Train every configuration for every seed, print the table; returns the exit status."""
    if sys.stdout is None:
        _say("standard output is closed: nowhere to write the results "
             "(redirect it to a file or to /dev/null)")
        return EXIT_ERROR
    if args.seed + args.seeds - 1 > MAX_SEED:
        parser.error(f"argument --seeds: seeds {args.seed}..{args.seed + args.seeds - 1} go "
                     f"past {MAX_SEED}, NumPy's last seed")
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

    import fastnn

    dtype = np.dtype(args.dtype)
    reference = not args.no_reference
    seeds = range(args.seed, args.seed + args.seeds)
    data = [experiments.seed_data(args.samples, s, dtype) for s in seeds]
    seed_text = f"seed {args.seed}" if args.seeds == 1 else \
        f"seeds {args.seed}..{args.seed + args.seeds - 1}"
    title = (f"spiral data {args.samples} x {CLASSES} classes, network {INPUTS}-{HIDDEN}-{CLASSES}, "
             f"{args.epochs} epochs, {dtype.name}, {seed_text}")
    print(f"fastnn compare: {title}")
    print("fastnn: fastnn.Model.train, the whole loop compiled (speed-up: 'train')")
    if reference:
        print("per-op: the notebook's loop on fastnn's classes (import swap); NumPy: that loop "
              "on fastnn.reference")
    sys.stdout.flush()

    X, y, w1, w2 = data[0]
    with _announce_compilation():
        # compile (or load from Numba's cache) before anything is timed
        for cfg in SEED_CONFIGS:
            experiments.seed_model(cfg, w1, w2).train(X, y, epochs=1, verbose=False)
            if reference:
                experiments.run_notebook_loop(fastnn, cfg, X, y, w1, w2, 1)

    # the epochs kept for the plot: all of them up to PLOT_POINTS, so memory stays bounded
    kept = np.unique(np.linspace(0, args.epochs - 1, min(args.epochs, PLOT_POINTS))
                     .round().astype(np.int64))
    paths = [("fast", experiments.run_model)]
    if reference:
        paths += [("perop", lambda *a: experiments.run_notebook_loop(fastnn, *a)),
                  ("ref", lambda *a: experiments.run_notebook_loop(numpy_twin, *a))]
    names = {"fast": "fastnn", "perop": "per-op", "ref": "NumPy"}
    rows, panels = [], []
    with tqdm(total=len(SEED_CONFIGS) * len(paths) * len(seeds) * args.epochs, unit="epoch",
              unit_scale=True, file=sys.stderr, dynamic_ncols=True, disable=None,
              desc="compare") as bar:
        done = [0]

        def progress(epochs_done):  # cumulative within a run, as Model.train's callback
            _raise_if_reader_gone(sys.stdout)
            bar.update(epochs_done - done[0])
            done[0] = epochs_done

        for cfg in SEED_CONFIGS:
            row = {"label": cfg.label}
            curves = {}
            for name, train in paths:
                losses, accs, secs = [], [], 0.0
                for seed, (X, y, w1, w2) in zip(seeds, data):
                    bar.set_postfix_str(f"{cfg.label} {names[name]} seed {seed}", refresh=False)
                    done[0] = 0
                    loss, acc, sec = train(cfg, X, y, w1, w2, args.epochs, progress)
                    losses.append(loss[kept] if plot else loss[-1:])
                    accs.append(acc[kept] if plot else acc[-1:])
                    secs += sec
                row[f"{name}_loss"] = [float(v[-1]) for v in losses]
                row[f"{name}_acc"] = [float(v[-1]) for v in accs]
                row[f"{name}_us"] = secs / (args.epochs * len(seeds)) * 1e6
                if name != "perop":
                    curves[names[name]] = (np.asarray(losses), np.asarray(accs))
            rows.append(row)
            if plot:
                panels.append((cfg.label, curves))

    print()
    print(report.format_seed_table(rows, reference, _mu(sys.stdout)))
    print(f"\n{report.CHAOS_NOTE}")
    if reference:
        us = {k: sum(r[f"{k}_us"] for r in rows) for k in ("fast", "perop", "ref")}
        print(f"overall speed-up over NumPy: Model.train {us['ref'] / us['fast']:.1f}x, "
              f"per-op classes (import swap) {us['ref'] / us['perop']:.1f}x")
    if plot:
        path, fmt = plot
        try:
            report.plot_spread(path, fmt, kept + 1, panels, f"fastnn compare: {title}")
        except OSError as exc:  # e.g. the disk filled up while training
            _say(f"cannot write {path}: {exc.strerror or exc}")
            return EXIT_ERROR
        print(f"\nwrote {path}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
