"""The fastnn command.  'fastnn compare' runs the seed notebook's experiment.

The seed notebook (chapter 10, "Optimizers") trains a 2-64-3 network on spiral
data (100 samples per class, 3 classes) for 10000 epochs with seven optimizer
configurations.  'fastnn compare' trains each of them with fastnn.Model (the
whole loop compiled) and with the notebook's per-op loop on the NumPy twin
fastnn.reference, from the same data and initial weights, and prints one table
row per configuration: final accuracy and loss of both, microseconds per epoch
of both, and the speed-up.
"""
import argparse
import sys
import time

import numpy as np

# The seed notebook's seven optimizer cells: (label, notebook class name, kwargs)
CONFIGS = [
    ("SGD()", "SGD", {}),
    ("SGD(decay=1e-3)", "SGD", dict(decay=1e-3)),
    ("SGD(decay=1e-3,momentum=0.5)", "SGD", dict(decay=1e-3, momentum=0.5)),
    ("SGD(decay=1e-3,momentum=0.9)", "SGD", dict(decay=1e-3, momentum=0.9)),
    ("AdaGrad(decay=1e-4)", "AdaGrad", dict(decay=1e-4)),
    ("RMSProp(lr=0.02,decay=1e-5,rho=0.999)", "RMSProp", dict(lr=0.02, decay=1e-5, rho=0.999)),
    ("Adam(lr=0.05,decay=5e-7)", "Adam", dict(lr=0.05, decay=5e-7)),
]
HIDDEN = 64
CLASSES = 3


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fastnn",
        description="fastnn: the classes of 'Neural Networks from Scratch in Python', compiled.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser(
        "compare", help="the seed notebook's seven optimizers: fastnn vs the NumPy reference",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=_positive_int, default=10000,
                   help="epochs per configuration (default: %(default)s, as the notebook)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="precision of data and weights (default: %(default)s; the notebook "
                        "without nnfs.init() is float64)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of NumPy's global generator for the data and initial weights "
                        "(default: %(default)s)")
    p.add_argument("--samples", type=_positive_int, default=100,
                   help="spiral samples per class (default: %(default)s)")
    p.add_argument("--no-reference", action="store_true",
                   help="train with fastnn only (no NumPy columns)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="write loss and accuracy curves of every configuration (needs "
                        "matplotlib: pip install 'fastnn[plot]')")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "compare":
        return compare(args)
    return 2  # pragma: no cover (argparse rejects unknown commands)


# ----------------------------------------------------------------------------- compare

def _data(samples, seed, dtype):
    """Spiral data and the notebook's initial weights, from NumPy's seeded global generator
    (data first, then dense1's and dense2's weights, as the notebook draws them)."""
    from nnfs.datasets import spiral_data

    np.random.seed(seed)
    X, y = spiral_data(samples=samples, classes=CLASSES)
    w1 = 0.01 * np.random.randn(2, HIDDEN)
    w2 = 0.01 * np.random.randn(HIDDEN, CLASSES)
    return X.astype(dtype), y, w1.astype(dtype), w2.astype(dtype)


def _layers(mod, w1, w2):
    dense1 = mod.DenseLayer(*w1.shape)
    dense2 = mod.DenseLayer(*w2.shape)
    dense1.weights, dense2.weights = w1.copy(), w2.copy()
    dense1.biases = np.zeros((1, w1.shape[1]), w1.dtype)
    dense2.biases = np.zeros((1, w2.shape[1]), w2.dtype)
    return dense1, dense2


def _model(opt_name, kwargs, w1, w2):
    import fastnn

    dense1, dense2 = _layers(fastnn, w1, w2)
    model = fastnn.Model()
    for layer in (dense1, fastnn.ReLU(), dense2, fastnn.SoftMax()):
        model.add(layer)
    model.set(loss=fastnn.CategoricalCrossEntropy(),
              optimizer=getattr(fastnn, opt_name)(**kwargs),
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    return model


def run_fastnn(opt_name, kwargs, X, y, w1, w2, epochs, progress):
    """``fastnn.Model.train``: (loss per epoch, accuracy per epoch, seconds)."""
    model = _model(opt_name, kwargs, w1, w2)
    chunk = max(1, epochs // 50)
    state = {"done": 0}

    def advance(done):
        progress(done - state["done"])
        state["done"] = done

    start = time.perf_counter()
    history = model.train(X, y, epochs=epochs, print_every=chunk, verbose=False,
                          callback=advance)
    seconds = time.perf_counter() - start
    return history.loss, history.accuracy, seconds


def run_reference(opt_name, kwargs, X, y, w1, w2, epochs, progress):
    """The seed notebook's per-op loop on ``fastnn.reference``: (losses, accuracies, seconds)."""
    from . import reference as R

    dense1, dense2 = _layers(R, w1, w2)
    activation1 = R.ReLU()
    activation_loss = R.SoftMaxCategoricalCrossEntropy()
    optimizer = getattr(R, opt_name)(**kwargs)
    losses = np.empty(epochs)
    accuracies = np.empty(epochs)
    chunk = max(1, epochs // 50)
    start = time.perf_counter()
    for epoch in range(epochs):
        dense1.forward(X)
        activation1.forward(dense1.output)
        dense2.forward(activation1.output)
        loss = activation_loss.forward(dense2.output, y)
        predictions = np.argmax(activation_loss.output, axis=1)
        accuracy = np.mean(predictions == y)
        losses[epoch] = loss
        accuracies[epoch] = accuracy
        activation_loss.backward(activation_loss.output, y)
        dense2.backward(activation_loss.dinputs)
        activation1.backward(dense2.dinputs)
        dense1.backward(activation1.dinputs)
        optimizer.preUpdateParams()
        optimizer.updateParams(dense1)
        optimizer.updateParams(dense2)
        optimizer.postUpdateParams()
        if (epoch + 1) % chunk == 0 or epoch + 1 == epochs:
            progress(chunk if (epoch + 1) % chunk == 0 else epochs % chunk)
    seconds = time.perf_counter() - start
    return losses, accuracies, seconds


def _check_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ("fastnn compare --plot needs matplotlib, which is not installed.\n"
                "Install it with:  pip install 'fastnn[plot]'   (or: pip install matplotlib)")
    return None


def _mu(stream):
    """The micro sign if ``stream`` can print it, else 'u'."""
    try:
        "µ".encode(getattr(stream, "encoding", None) or "ascii")
        return "µ"
    except (UnicodeEncodeError, LookupError):
        return "u"


def format_table(rows, reference, mu="µ"):
    """The result table as text: one row per configuration."""
    head = ["optimizer", "fastnn acc", "fastnn loss"]
    if reference:
        head += ["NumPy acc", "NumPy loss"]
    head += [f"fastnn {mu}s/epoch"]
    if reference:
        head += [f"NumPy {mu}s/epoch", "speedup"]
    body = []
    for r in rows:
        line = [r["label"], f"{r['fast_acc']:.3f}", f"{r['fast_loss']:.3f}"]
        if reference:
            line += [f"{r['ref_acc']:.3f}", f"{r['ref_loss']:.3f}"]
        line += [f"{r['fast_us']:.1f}"]
        if reference:
            line += [f"{r['ref_us']:.1f}", f"{r['ref_us'] / r['fast_us']:.1f}x"]
        body.append(line)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body)]

    def fmt(cells):
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return "  ".join([first] + rest)

    lines = [fmt(head), "  ".join("-" * w for w in widths)]
    lines += [fmt(line) for line in body]
    return "\n".join(lines)


def plot_curves(path, curves, epochs, title):
    """Loss and accuracy per epoch of every configuration into ``path`` (PNG).

    One colour per configuration; fastnn solid, the NumPy reference dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 5.6))
    x = np.arange(1, epochs + 1)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    handles = []
    for i, (label, fast, ref) in enumerate(curves):
        color = colors[i % len(colors)]
        for ax, k in ((ax_loss, 0), (ax_acc, 1)):
            ax.plot(x, fast[k], color=color, lw=1.1)
            if ref is not None:
                ax.plot(x, ref[k], color=color, lw=1.0, ls="--", alpha=0.8)
        handles.append(Line2D([], [], color=color, lw=2, label=label))
    handles.append(Line2D([], [], color="black", lw=1.1, label="fastnn"))
    if any(ref is not None for _, _, ref in curves):
        handles.append(Line2D([], [], color="black", lw=1.0, ls="--", label="NumPy reference"))
    ax_loss.set(xlabel="epoch", ylabel="loss (log scale)", title="loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compare(args):
    """Train every configuration, print the table; returns the exit status."""
    if args.plot:
        problem = _check_matplotlib()
        if problem:
            print(problem, file=sys.stderr)
            return 2
    from tqdm import tqdm

    dtype = np.dtype(args.dtype)
    reference = not args.no_reference
    X, y, w1, w2 = _data(args.samples, args.seed, dtype)
    title = (f"spiral data {args.samples} x {CLASSES} classes, network 2-{HIDDEN}-{CLASSES}, "
             f"{args.epochs} epochs, {dtype.name}, seed {args.seed}")
    print(f"fastnn compare: {title}")
    print("fastnn: fastnn.Model.train (one compiled loop)" +
          ("; NumPy: the notebook's per-op loop on fastnn.reference" if reference else ""))
    sys.stdout.flush()

    # compile (or load from Numba's cache) before anything is timed
    for _, opt_name, kwargs in CONFIGS:
        _model(opt_name, kwargs, w1, w2).train(X, y, epochs=1, verbose=False)

    runs = len(CONFIGS) * (2 if reference else 1)
    rows, curves = [], []
    with tqdm(total=runs * args.epochs, unit="epoch", unit_scale=True, file=sys.stderr,
              dynamic_ncols=True, disable=None, desc="compare") as bar:
        for label, opt_name, kwargs in CONFIGS:
            bar.set_postfix_str(f"{label} fastnn", refresh=False)
            f_loss, f_acc, f_sec = run_fastnn(opt_name, kwargs, X, y, w1, w2, args.epochs,
                                              bar.update)
            row = dict(label=label, fast_loss=float(f_loss[-1]), fast_acc=float(f_acc[-1]),
                       fast_us=f_sec / args.epochs * 1e6)
            ref = None
            if reference:
                bar.set_postfix_str(f"{label} NumPy", refresh=False)
                r_loss, r_acc, r_sec = run_reference(opt_name, kwargs, X, y, w1, w2,
                                                     args.epochs, bar.update)
                row.update(ref_loss=float(r_loss[-1]), ref_acc=float(r_acc[-1]),
                           ref_us=r_sec / args.epochs * 1e6)
                ref = (r_loss, r_acc)
            rows.append(row)
            curves.append((label, (f_loss, f_acc), ref))

    print()
    print(format_table(rows, reference, _mu(sys.stdout)))
    if reference:
        fast_total = sum(r["fast_us"] for r in rows)
        ref_total = sum(r["ref_us"] for r in rows)
        print(f"\noverall speedup: {ref_total / fast_total:.1f}x "
              f"(accuracy and loss are those of the last epoch's forward pass)")
    if args.plot:
        plot_curves(args.plot, curves, args.epochs, f"fastnn compare: {title}")
        print(f"\nwrote {args.plot}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
