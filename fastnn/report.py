"""Results over seeds, as text and pictures: ``fastnn compare``'s table (fastnn against
NumPy, mean±sd over a few seeds), ``fastnn sweep``'s ranked summary, and band plots of
the spread over seeds, one small panel per configuration.

The sweep's functions read run records (:mod:`fastnn.sweep`): dicts with ``config``,
``final_accuracy``, ``final_loss``, ``seconds`` and the downsampled ``curve``.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["summarize", "format_summary", "plot_sweep", "plot_bands", "MAX_PANELS",
           "CHAOS_NOTE", "format_seed_table", "plot_spread"]

MAX_PANELS = 24  # a picture of more configurations is no longer readable at a glance


def _stats(values):
    v = np.asarray(values, np.float64)
    return dict(mean=float(v.mean()), sd=float(v.std(ddof=1)) if v.size > 1 else 0.0,
                min=float(v.min()), max=float(v.max()))


def summarize(records):
    """One row per configuration, best first (highest mean final accuracy, then
    lowest mean final loss): ``config``, ``runs``, ``accuracy`` and ``loss`` (each
    ``mean``, ``sd`` (sample), ``min``, ``max`` over seeds), ``seconds`` (mean per run)."""
    groups = {}
    for r in records:
        groups.setdefault(r["config"], []).append(r)
    rows = []
    for label, runs in groups.items():
        rows.append(dict(config=label, runs=len(runs),
                         accuracy=_stats([r["final_accuracy"] for r in runs]),
                         loss=_stats([r["final_loss"] for r in runs]),
                         seconds=float(np.mean([r["seconds"] for r in runs]))))
    rows.sort(key=lambda row: (-row["accuracy"]["mean"], row["loss"]["mean"]))
    return rows


def _spread(s, digits=3):
    if s["sd"] == 0.0 and s["min"] == s["max"]:
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f}±{s['sd']:.{digits}f}"


def _range(s, digits=3):
    return f"{s['min']:.{digits}f}-{s['max']:.{digits}f}"


def format_summary(rows):
    """The summary as a text table (about 95 columns for the seed's labels)."""
    head = ["configuration", "runs", "final acc", "min-max", "final loss", "min-max"]
    sub = ["(ranked)", "", "mean±sd", "", "mean±sd", ""]
    body = [[r["config"], str(r["runs"]), _spread(r["accuracy"]), _range(r["accuracy"]),
             _spread(r["loss"]), _range(r["loss"])] for r in rows]
    widths = [max(len(c) for c in col) for col in zip(head, sub, *body)]

    def fmt(cells):
        return "  ".join([cells[0].ljust(widths[0])] +
                         [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]).rstrip()

    runs = sum(r["runs"] for r in rows)
    seconds = sum(r["seconds"] * r["runs"] for r in rows) / max(runs, 1)
    lines = [fmt(head), fmt(sub), "  ".join("-" * w for w in widths)]
    lines += [fmt(b) for b in body]
    lines.append(f"{runs} runs, {seconds * 1e3:.0f} ms of training each on average; final = "
                 "last epoch's forward pass, sd over seeds")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- picture

def curves(records):
    """``(epochs, loss, accuracy)`` of the records' curves: arrays of shape
    (runs, points); the records must share their epochs."""
    epochs = np.asarray(records[0]["curve"]["epoch"])
    for r in records:
        if r["curve"]["epoch"] != records[0]["curve"]["epoch"]:
            raise ValueError(f"{r['config']}: runs with different epochs cannot share a band")
    loss = np.array([r["curve"]["loss"] for r in records], np.float64)
    acc = np.array([r["curve"]["accuracy"] for r in records], np.float64)
    return epochs, loss, acc


def plot_sweep(path, fmt, records, title):
    """One small panel per configuration (ranked as the table, at most
    ``MAX_PANELS``): accuracy over loss against epochs, the median over seeds as a
    line, the interquartile range and the min-max range as bands."""
    rows = summarize(records)
    by_config = {}
    for r in records:
        by_config.setdefault(r["config"], []).append(r)
    panels = []
    for row in rows[:MAX_PANELS]:
        a = row["accuracy"]
        note = f"final acc {_spread(a)} ({row['runs']} seeds)"
        panels.append((row["config"], note, [("fastnn", curves(by_config[row["config"]]))]))
    if len(rows) > MAX_PANELS:
        title += f" -- best {MAX_PANELS} of {len(rows)} configurations"
    plot_bands(path, fmt, panels, title)


def plot_bands(path, fmt, panels, title, ncols=4):
    """Draw ``panels``: ``[(label, note, [(series name, (epochs, loss, acc))])]``,
    each a small accuracy axis above a small loss axis (log scale), every panel on
    the same scales so they compare at a glance.  One colour per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    n = len(panels)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = plt.figure(figsize=(3.4 * ncols + 0.4, 3.0 * nrows + 0.9))
    outer = fig.add_gridspec(nrows, ncols, hspace=0.38, wspace=0.22)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = []
    acc_axes, loss_axes = [], []
    for i, (label, note, series) in enumerate(panels):
        inner = outer[i // ncols, i % ncols].subgridspec(2, 1, height_ratios=(3, 2), hspace=0.08)
        ax_acc = fig.add_subplot(inner[0], sharey=acc_axes[0] if acc_axes else None)
        ax_loss = fig.add_subplot(inner[1], sharex=ax_acc,
                                  sharey=loss_axes[0] if loss_axes else None)
        acc_axes.append(ax_acc)
        loss_axes.append(ax_loss)
        for name, (epochs, loss, acc) in series:
            if name not in names:
                names.append(name)
            color = colors[names.index(name) % len(colors)]
            for ax, values in ((ax_acc, acc), (ax_loss, loss)):
                lo, q1, med, q3, hi = np.percentile(values, [0, 25, 50, 75, 100], axis=0)
                ax.fill_between(epochs, lo, hi, color=color, alpha=0.15, lw=0)
                ax.fill_between(epochs, q1, q3, color=color, alpha=0.35, lw=0)
                # the second series dashed: where two medians coincide both stay visible
                ax.plot(epochs, med, color=color, lw=1.2, ls="-" if names.index(name) == 0
                        else "--")
        ax_acc.set_title(f"{label}\n{note}", fontsize=8.5)
        ax_acc.tick_params(labelbottom=False, labelsize=7)
        ax_loss.tick_params(labelsize=7)
        ax_loss.set_yscale("log")
        # plain numbers on the log axis: "0.3", not "3 x 10^-1", and no minor labels
        ax_loss.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax_loss.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax_loss.yaxis.set_minor_formatter(NullFormatter())
        if i % ncols == 0:
            ax_acc.set_ylabel("accuracy", fontsize=8)
            ax_loss.set_ylabel("loss", fontsize=8)
        if i // ncols == nrows - 1 or i + ncols >= n:
            ax_loss.set_xlabel("epoch", fontsize=8)
        for ax in (ax_acc, ax_loss):
            ax.grid(alpha=0.3)
    # Every loss starts at ln(3) = 1.1 (three classes, tiny weights); a few optimizers
    # overshoot for some epochs at the start.  Above 2 nothing is read, and showing it
    # would squash the part that decides between configurations.
    lowest = min(float(np.min(s[1][1])) for _, _, series in panels for s in series)
    loss_axes[0].set_ylim(max(lowest * 0.8, 1e-6), 2.0)
    handles = [plt.Line2D([], [], color=colors[k % len(colors)], lw=2,
                          ls="-" if k == 0 else "--", label=name)
               for k, name in enumerate(names)] if len(names) > 1 else []
    handles += [Patch(color="grey", alpha=0.35, label="25-75% of seeds"),
                Patch(color="grey", alpha=0.15, label="min-max"),
                plt.Line2D([], [], color="grey", lw=1.2, label="median")]
    fig.suptitle(title, fontsize=10)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
               frameon=False)
    fig.subplots_adjust(top=1 - 0.75 / fig.get_figheight(), bottom=0.75 / fig.get_figheight(),
                        left=0.06, right=0.98)
    try:
        fig.savefig(path, format=fmt, dpi=110)
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- over seeds

# One line under every table of final results: a reader comparing two single runs
# (fastnn's and NumPy's, say) otherwise takes chaos for a bug.  Measured (seed 0, 10000
# epochs): the NumPy twin against itself, one initial weight moved by one ulp, SGD() ends
# at 0.587 accuracy instead of 0.613 (fastnn: 0.620); issue 12 saw 0.573 against 0.720.
CHAOS_NOTE = ("Single runs of this problem diverge chaotically: compare the spread over "
              "seeds, not single runs.")


def _spread_cell(values):
    """``mean±sd`` (sample sd over seeds, two decimals) or the value of a single run."""
    v = np.asarray(values, np.float64)
    if v.size == 1:
        return f"{v[0]:.3f}"
    return f"{v.mean():.3f}±{v.std(ddof=1):.2f}"


def format_seed_table(rows, reference, mu="µ"):
    """The ``fastnn compare`` table over seeds: per configuration, the final accuracy
    and loss of fastnn (and of the NumPy twin) as mean±sd over the seeds, and fastnn's
    speed-up over NumPy with ``Model.train`` and with the per-op classes (import swap);
    without ``reference``, fastnn's microseconds per epoch instead.  At most 100 columns
    for the seed's labels.  ``rows``: dicts with ``label`` and lists ``fast_acc``,
    ``fast_loss`` (``ref_*`` too) and ``fast_us`` (``perop_us``, ``ref_us``)."""
    if reference:
        groups = [("", 1), ("accuracy", 2), ("loss", 2), ("speed-up", 2)]
        head = ["optimizer", "fastnn", "NumPy", "fastnn", "NumPy", "train", "per-op"]
    else:
        groups = [("", 1), ("accuracy", 1), ("loss", 1), ("", 1)]
        head = ["optimizer", "fastnn", "fastnn", f"{mu}s/epoch"]
    body = []
    for r in rows:
        line = [r["label"], _spread_cell(r["fast_acc"])]
        if reference:
            line += [_spread_cell(r["ref_acc"]), _spread_cell(r["fast_loss"]),
                     _spread_cell(r["ref_loss"]), f"{r['ref_us'] / r['fast_us']:.1f}x",
                     f"{r['ref_us'] / r['perop_us']:.1f}x"]
        else:
            line += [_spread_cell(r["fast_loss"]), f"{r['fast_us']:.1f}"]
        body.append(line)
    widths = [max(len(c) for c in col) for col in zip(head, *body)]

    def fmt(cells):
        return "  ".join([cells[0].ljust(widths[0])] +
                         [c.rjust(w) for c, w in zip(cells[1:], widths[1:])])

    top, col = [], 0
    for name, span in groups:  # a group's name centred over its columns
        width = sum(widths[col:col + span]) + 2 * (span - 1)
        top.append(name.center(width) if name else " " * width)
        col += span
    lines = ["  ".join(top).rstrip(), fmt(head), "  ".join("-" * w for w in widths)]
    lines += [fmt(line) for line in body]
    return "\n".join(lines)


def plot_spread(path, fmt, epochs, panels, title):
    """Curves over seeds into ``path``: one small panel per configuration, each
    implementation's median as a line and its spread over seeds as bands.
    ``panels``: ``[(label, {"fastnn": (loss, accuracy), "NumPy": ...})]`` with arrays
    of shape (seeds, len(epochs))."""
    drawn = []
    for label, curves in panels:
        acc = curves["fastnn"][1][:, -1]
        note = f"final acc {_spread_cell(acc)} ({len(acc)} seeds)"
        drawn.append((label, note, [(name, (epochs, np.asarray(loss), np.asarray(accuracy)))
                                    for name, (loss, accuracy) in curves.items()]))
    plot_bands(path, fmt, drawn, title)
