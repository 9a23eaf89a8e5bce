"""``fastnn sweep``: a grid of configurations x seeds, run on Dask (``fastnn.sweep``).

Same manners as ``fastnn compare`` (``fastnn/_cli_io.py``): the summary on stdout,
progress and messages on stderr, usage errors (a bad grid, a ``--plot`` or ``--out``
file that cannot be written, Dask missing) found before anything runs.
"""
import argparse
import os
import sys

from . import experiments, report
from ._cli_io import _bounded_int, _check_matplotlib, _say, plot_target

MAX_SEED = 2**32 - 1
MAX_SEEDS = 10**6
MAX_EPOCHS = 10**7

DESCRIPTION = """\
Train a grid of optimizer configurations, each with --seeds seeds, every run a
fastnn.Model.train of the seed notebook's network (spiral data, 2-64-3) whose data
and initial weights come from NumPy's generator seeded with the run's seed.  The
runs go to Dask distributed: a local cluster of --workers processes, or the
cluster of --scheduler ADDRESS.  Each run is a line of --out (JSON lines, written
as runs finish; run again with the same --out to resume).  Prints a table of the
final accuracy and loss per configuration (mean, sd, min-max over seeds), best
first.

grid: the notebook's seven configurations, unless --grid or --grid-file say:
  --grid 'Adam:learning_rate=0.01,0.05:decay=0,5e-7'   (4 configurations)
  --grid 'SGD(decay=1e-3, momentum=0.9)'                (1, as the notebook writes it)
  --grid-file sweep.toml   ([[grid]] tables: optimizer = "Adam", lr = [0.01, 0.05])"""


def add_parser(sub, epilog):
    p = sub.add_parser("sweep", help="a grid of configurations x seeds on Dask: the spread "
                                     "of final accuracy and loss", description=DESCRIPTION,
                       epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grid", action="append", default=[], metavar="SPEC",
                   help="NAME[:PARAM=V1,V2,...]... or NAME(param=value, ...); repeatable")
    p.add_argument("--grid-file", action="append", default=[], metavar="FILE",
                   help="a TOML (.toml) or JSON file with a list 'grid'; repeatable")
    p.add_argument("--seeds", type=_bounded_int(1, MAX_SEEDS), default=10, metavar="K",
                   help="runs per configuration (default: %(default)s)")
    p.add_argument("--first-seed", type=_bounded_int(0, MAX_SEED, " (NumPy's seeds)"),
                   default=0, metavar="S",
                   help="the seeds are S, S+1, ..., S+K-1 (default: %(default)s)")
    p.add_argument("--epochs", type=_bounded_int(1, MAX_EPOCHS), default=experiments.EPOCHS,
                   help="epochs per run (default: %(default)s, as the notebook)")
    p.add_argument("--dtype", choices=experiments.DTYPES, default="float64",
                   help="precision of data and weights (default: %(default)s)")
    p.add_argument("--samples", type=_bounded_int(1, 10**5), default=experiments.SAMPLES,
                   help="spiral samples per class (default: %(default)s)")
    p.add_argument("--out", metavar="FILE.jsonl",
                   help="append one JSON line per run; runs already in FILE are skipped")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_bounded_int(1, 1024), metavar="N",
                       help="worker processes of the local Dask cluster (default: one per "
                            "core)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://scheduler-host:8786")
    where.add_argument("--serial", action="store_true",
                       help="run in this process, without Dask")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw accuracy and loss over epochs, one panel per configuration, "
                        "the spread over seeds as bands (needs matplotlib: pip install -e "
                        "'.[plot]')")
    p.set_defaults(run=sweep_command, parser=p)
    return p


def _check_out(path):
    """``--out`` can be appended to (checked before anything runs)."""
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory")
    existed = os.path.lexists(path)
    try:
        with open(path, "a"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not existed:
        os.remove(path)


def sweep_command(args, parser):
    from . import grid, sweep

    if sys.stdout is None:
        _say("standard output is closed: nowhere to write the summary")
        return 1
    if args.first_seed + args.seeds - 1 > MAX_SEED:
        parser.error(f"argument --seeds: the last seed would be past {MAX_SEED}")
    try:
        configs = grid.configs_from(args.grid, args.grid_file)
    except grid.GridError as exc:
        parser.error(str(exc))
    plot = None
    if args.plot:
        problem = _check_matplotlib("sweep")
        if problem:
            _say(problem)
            return 2
        try:
            plot = plot_target(args.plot)
        except ValueError as exc:
            parser.error(f"argument --plot: {exc}")
    if args.out:
        try:
            _check_out(args.out)
        except ValueError as exc:
            parser.error(f"argument --out: {exc}")
    if not args.serial:
        try:
            sweep._import_dask()
        except sweep.MissingDask as exc:
            _say(str(exc))
            return 2
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    where = ("this process" if args.serial else f"Dask scheduler {args.scheduler}"
             if args.scheduler else f"a local Dask cluster of {args.workers or os.cpu_count()} "
             "workers")
    plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"  # noqa: E731
    title = (f"{plural(len(configs), 'configuration')} x {plural(len(seeds), 'seed')}, "
             f"{args.epochs} epochs, "
             f"{args.dtype}, spiral {args.samples} x {experiments.CLASSES}")
    print(f"fastnn sweep: {title}\nrunning on {where}", flush=True)
    try:
        records = sweep.run(configs, seeds, epochs=args.epochs, dtype=args.dtype,
                            samples=args.samples, out=args.out, workers=args.workers,
                            scheduler=args.scheduler, serial=args.serial)
    except sweep.SweepError as exc:
        _say(str(exc))
        return 1
    print()
    print(sweep.format_summary(sweep.summarize(records)))
    print(f"\n{report.CHAOS_NOTE}")
    if args.out:
        print(f"runs in {args.out}")
    if plot:
        path, fmt = plot
        try:
            sweep.plot_sweep(path, fmt, records, f"fastnn sweep: {title}")
        except OSError as exc:
            _say(f"cannot write {path}: {exc.strerror or exc}")
            return 1
        print(f"wrote {path}")
    return 0
