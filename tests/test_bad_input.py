"""Bad input: a clear exception, and nothing changed.

Every bad call must raise ValueError or TypeError (never crash, never an
IndexError from deep inside, never a silent broadcast), with a message that
names the problem and the shapes or values involved, and must leave the
layer's parameters, gradients and optimizer state exactly (bit for bit) as
they were before the call, including the optimizer's iteration counter and
learning rate, and without creating state arrays.

NaN and inf are not bad input: they propagate as in NumPy, which is checked
against the reference (``fastnn.reference``) with NaN and +-inf positions
compared exactly.

Sizes are small and distinctive so that messages can be checked for them:
N = 5 samples, 7 inputs, 4 neurons, 3 classes.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import reference
from fastnn.experiments import SEED_CONFIGS, OptimizerConfig, config

N, NIN, NOUT, C = 5, 7, 4, 3
ERRORS = (ValueError, TypeError)

PARAM_NAMES = ("weights", "biases", "weight_momentums", "bias_momentums",
               "weight_cache", "bias_cache", "dweights", "dbiases")
OPT_NAMES = ("lr", "learning_rate", "lr_curr", "current_learning_rate", "decay",
             "iteration", "iterations", "momentum", "epsilon", "rho",
             "beta1", "beta2", "beta_1", "beta_2")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def snapshot(obj, names):
    snap = {}
    for n in names:
        try:
            v = getattr(obj, n)
        except AttributeError:
            continue
        if isinstance(v, np.ndarray):
            snap[n] = ("array", v.dtype, v.shape, v.tobytes(), v.flags.writeable)
        else:
            snap[n] = ("value", type(v), repr(v))
    return snap


def assert_unchanged(before, obj, names, what):
    after = snapshot(obj, names)
    appeared = sorted(set(after) - set(before))
    vanished = sorted(set(before) - set(after))
    assert not appeared, f"{what}: the failed call created {appeared}"
    assert not vanished, f"{what}: the failed call removed {vanished}"
    for n in before:
        assert after[n] == before[n], (
            f"{what}: the failed call changed {n} "
            f"({'contents' if before[n][:3] == after[n][:3] else 'dtype/shape/type'})")


def check_raises(fn, *mentions, what=""):
    """``fn()`` raises ValueError/TypeError whose message contains, for each entry of
    ``mentions``, the string or (for a tuple) any one of the strings."""
    with pytest.raises(ERRORS) as info:
        fn()
    msg = str(info.value)
    assert msg.strip(), f"{what}: empty exception message"
    for m in mentions:
        alts = m if isinstance(m, tuple) else (m,)
        assert any(a in msg for a in alts), \
            f"{what}: message {msg!r} does not mention {' or '.join(map(repr, alts))}"
    return msg


def rng():
    return np.random.default_rng(42)


def dense(mod=fastnn, name="DenseLayer", seed=0):
    np.random.seed(seed)
    return getattr(mod, name)(NIN, NOUT)


def trained_dense(mod=fastnn, name="DenseLayer"):
    """A layer after one forward and backward (so it has gradients)."""
    r = rng()
    layer = dense(mod, name)
    layer.forward(r.standard_normal((N, NIN)))
    layer.backward(r.standard_normal((N, NOUT)))
    return layer


def labels_ok():
    return np.array([0, 2, 1, 1, 0])


def probs_ok():
    p = rng().random((N, C)) + 0.1
    return p / p.sum(axis=1, keepdims=True)


def guarded(layer, opt=None):
    """Snapshots of everything a failed call must not touch."""
    s = [snapshot(layer, PARAM_NAMES)]
    if opt is not None:
        s.append(snapshot(opt, OPT_NAMES))
    return s


def assert_guarded(snaps, layer, opt=None, what=""):
    assert_unchanged(snaps[0], layer, PARAM_NAMES, what + " [layer]")
    if opt is not None:
        assert_unchanged(snaps[1], opt, OPT_NAMES, what + " [optimizer]")


# ---------------------------------------------------------------------------
# Dense layer
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["DenseLayer", "Layer_Dense"])
def test_dense_forward_wrong_width(name):
    layer = trained_dense(name=name)
    snaps = guarded(layer)
    X = rng().standard_normal((N, 11))
    check_raises(lambda: layer.forward(X), "11", "7", what="dense forward (5, 11) into 7 inputs")
    assert_guarded(snaps, layer, what="dense forward wrong width")


@pytest.mark.parametrize("shape", [(2, N, NIN), (1, 1, N, NIN), ()])
def test_dense_forward_wrong_ndim(shape):
    layer = trained_dense()
    snaps = guarded(layer)
    X = np.ones(shape)
    check_raises(lambda: layer.forward(X), (str(shape), "ndim", "-D", "dimension"),
                 what=f"dense forward with shape {shape}")
    assert_guarded(snaps, layer, what=f"dense forward shape {shape}")


def test_dense_forward_1d_input_like_reference_or_clear_error():
    """np.dot(1-D, W) + b gives one row in the reference; fastnn may do the same or refuse."""
    x = rng().standard_normal(NIN)
    f, r = dense(), dense(reference)
    r.forward(x)
    try:
        f.forward(x)
    except ERRORS as exc:
        assert str(NIN) in str(exc) or "(7,)" in str(exc), str(exc)
        return
    np.testing.assert_allclose(f.output, r.output, rtol=1e-12, atol=1e-15)
    assert f.output.shape == r.output.shape


@pytest.mark.parametrize("bad", [np.array([["a"] * NIN] * N), np.full((N, NIN), None),
                                 "not an array"], ids=["str", "object", "string"])
def test_dense_forward_non_numeric(bad):
    layer = trained_dense()
    snaps = guarded(layer)
    with pytest.raises(ERRORS):
        layer.forward(bad)
    assert_guarded(snaps, layer, what="dense forward non-numeric")


@pytest.mark.parametrize("shape,mention", [
    ((N, 9), "5, 9"),            # wrong width
    ((6, NOUT), "6, 4"),         # wrong batch
    ((NOUT,), "(4,)"),           # 1-D
    ((N, NOUT, 1), "5, 4, 1"),   # 3-D
])
def test_dense_backward_wrong_dvalues(shape, mention):
    layer = trained_dense()
    snaps = guarded(layer)
    d = np.ones(shape)
    check_raises(lambda: layer.backward(d), mention, what=f"dense backward dvalues {shape}")
    assert_guarded(snaps, layer, what=f"dense backward dvalues {shape}")


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ReLU", "Activation_ReLU", "SoftMax", "Activation_Softmax"])
@pytest.mark.parametrize("shape,mention", [((N, 2), "5, 2"), ((6, C), "6, 3"), ((C,), "(3,)")])
def test_activation_backward_wrong_dvalues(name, shape, mention):
    act = getattr(fastnn, name)()
    act.forward(rng().standard_normal((N, C)))
    out = act.output.copy()
    check_raises(lambda: act.backward(np.ones(shape)), mention, ("5, 3",),
                 what=f"{name}.backward {shape} after forward (5, 3)")
    np.testing.assert_array_equal(act.output, out)


# ---------------------------------------------------------------------------
# Losses: labels
# ---------------------------------------------------------------------------

BAD_LABELS = [
    ("too large", np.array([0, 1, 2, 7, 1]), ("7",)),
    ("negative", np.array([0, -2, 1, 1, 0]), ("-2",)),
    ("uint8 too large", np.array([0, 1, 255, 1, 0], dtype=np.uint8), ("255",)),
    ("equal to classes", np.array([0, 1, 3, 1, 0]), ("3",)),
    ("wrong length", np.array([0, 1, 2, 1, 0, 1, 2, 0]), ("8",)),
    ("one-hot too wide", np.eye(6)[[0, 1, 2, 1, 0]], ("6",)),
    ("one-hot too long", np.eye(C)[[0, 1, 2, 1, 0, 1, 2, 0]], ("8",)),
    ("3-D", np.zeros((N, C, 1)), ("5, 3, 1",)),
    ("float indices", np.array([0., 1., 2., 1., 0.]), ("float", "integer", "dtype")),
]
_bad_ids = [b[0] for b in BAD_LABELS]


def _loss_calls(name):
    p = probs_ok()
    logits = rng().standard_normal((N, C))
    if name in ("CategoricalCrossEntropy", "Loss_CategoricalCrossentropy"):
        def calls(obj, y):
            return {"forward": lambda: obj.forward(p, y),
                    "calculate": lambda: obj.calculate(p, y),
                    "backward": lambda: obj.backward(p, y)}
    else:
        def calls(obj, y):
            return {"forward": lambda: obj.forward(logits, y),
                    "backward": lambda: obj.backward(p, y)}
    return calls


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "Loss_CategoricalCrossentropy",
                                  "SoftMaxCategoricalCrossEntropy",
                                  "Activation_Softmax_Loss_CategoricalCrossentropy"])
@pytest.mark.parametrize("case", BAD_LABELS, ids=_bad_ids)
def test_loss_bad_labels(name, case):
    label, y, mentions = case
    obj = getattr(fastnn, name)()
    for call, fn in _loss_calls(name)(obj, y).items():
        check_raises(fn, mentions, what=f"{name}.{call} with labels {label} {y.shape}")


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "SoftMaxCategoricalCrossEntropy"])
@pytest.mark.parametrize("shape,mention", [((N,), "(5,)"), ((N, C, 1), "5, 3, 1")])
def test_loss_predictions_wrong_ndim(name, shape, mention):
    obj = getattr(fastnn, name)()
    x = np.full(shape, 1 / 3)
    y = labels_ok()
    check_raises(lambda: obj.forward(x, y), (mention, "ndim", "-D"), what=f"{name}.forward {shape}")
    check_raises(lambda: obj.backward(x, y), (mention, "ndim", "-D"),
                 what=f"{name}.backward {shape}")


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "Loss_CategoricalCrossentropy",
                                  "SoftMaxCategoricalCrossEntropy",
                                  "Activation_Softmax_Loss_CategoricalCrossentropy"])
def test_loss_backward_dvalues_labels_mismatch(name):
    obj = getattr(fastnn, name)()
    d = probs_ok()[:4]            # 4 rows, 5 labels
    check_raises(lambda: obj.backward(d, labels_ok()), "5", "4",
                 what=f"{name}.backward 4 rows / 5 labels")
    check_raises(lambda: obj.backward(d, np.eye(C)[labels_ok()]), "5", "4",
                 what=f"{name}.backward 4 rows / 5 one-hot rows")
    d6 = np.full((N, 6), 1 / 6)   # 6 columns, one-hot rows of 3
    check_raises(lambda: obj.backward(d6, np.eye(C)[labels_ok()]), "6", "3",
                 what=f"{name}.backward 6 columns / one-hot rows of 3")


def test_failed_loss_forward_keeps_previous_output():
    obj = fastnn.SoftMaxCategoricalCrossEntropy()
    logits = rng().standard_normal((N, C))
    obj.forward(logits, labels_ok())
    out = obj.output.copy()
    with pytest.raises(ERRORS):
        obj.forward(logits, np.array([0, 1, 2, 9, 0]))
    np.testing.assert_array_equal(obj.output, out)


# ---------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------

# The seed's seven optimizers (fastnn.experiments, notebook spelling), its SGD with
# momentum in the book's spelling (an integer learning_rate=1), and the book's
# stateful optimizers with their defaults.
_BOOK_CONFIGS = [config("SGD(decay=1e-3, momentum=0.5)")] + [
    OptimizerConfig(None, f"{name}()")
    for name in ("Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam")]
OPTIMIZERS = ([(c.class_name("notebook"), c.kwargs("notebook")) for c in SEED_CONFIGS]
              + [(c.class_name("book"), c.kwargs("book")) for c in _BOOK_CONFIGS])
_opt_ids = [f"{n}({','.join(f'{k}={v}' for k, v in kw.items())})" for n, kw in OPTIMIZERS]
STATE_OF = {
    "SGD": ("weight_momentums", "bias_momentums"), "Optimizer_SGD": ("weight_momentums", "bias_momentums"),
    "AdaGrad": ("weight_cache", "bias_cache"), "Optimizer_Adagrad": ("weight_cache", "bias_cache"),
    "RMSProp": ("weight_cache", "bias_cache"), "Optimizer_RMSprop": ("weight_cache", "bias_cache"),
    "Adam": ("weight_momentums", "bias_momentums", "weight_cache", "bias_cache"),
    "Optimizer_Adam": ("weight_momentums", "bias_momentums", "weight_cache", "bias_cache"),
}


def _opt(spec):
    name, kw = spec
    return getattr(fastnn, name)(**kw)


def _step(opt, layer):
    """One full optimizer step, in the spelling of the optimizer's class."""
    if hasattr(opt, "preUpdateParams") and type(opt).__name__ in ("SGD", "AdaGrad", "RMSProp", "Adam"):
        opt.preUpdateParams(); opt.updateParams(layer); opt.postUpdateParams()
    else:
        opt.pre_update_params(); opt.update_params(layer); opt.post_update_params()


def _update(opt, layer):
    if type(opt).__name__ in ("SGD", "AdaGrad", "RMSProp", "Adam"):
        opt.updateParams(layer)
    else:
        opt.update_params(layer)


def _stepped(spec):
    """(optimizer, layer) after one successful step (state exists), pre-update of step 2 done."""
    opt = _opt(spec)
    layer = trained_dense()
    _step(opt, layer)
    layer.forward(rng().standard_normal((N, NIN)))
    layer.backward(rng().standard_normal((N, NOUT)))
    if type(opt).__name__ in ("SGD", "AdaGrad", "RMSProp", "Adam"):
        opt.preUpdateParams()
    else:
        opt.pre_update_params()
    return opt, layer


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
def test_update_before_backward(spec):
    opt = _opt(spec)
    layer = dense()
    snaps = guarded(layer, opt)
    with pytest.raises(ERRORS + (AttributeError,)) as info:
        _update(opt, layer)
    msg = str(info.value)
    assert "dweights" in msg or "backward" in msg, msg
    assert_guarded(snaps, layer, opt, what="update before backward")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
@pytest.mark.parametrize("attr,shape,mentions", [
    ("dweights", (6, NOUT), ("6, 4", "7, 4")),       # not broadcastable
    ("dweights", (NIN, 1), ("7, 1", "7, 4")),        # broadcastable: must not be broadcast
    ("dweights", (NOUT, NIN), ("4, 7", "7, 4")),     # transposed
    ("dweights", (NIN * NOUT,), ("(28,)",)),         # flat
    ("dbiases", (1, 5), ("1, 5", "1, 4")),
    ("dbiases", (2, NOUT), ("2, 4", "1, 4")),
])
@pytest.mark.parametrize("first", [True, False], ids=["first-update", "later-update"])
def test_gradient_of_wrong_shape(spec, attr, shape, mentions, first):
    if first:
        opt, layer = _opt(spec), trained_dense()
    else:
        opt, layer = _stepped(spec)
    setattr(layer, attr, np.ones(shape))
    snaps = guarded(layer, opt)
    check_raises(lambda: _update(opt, layer), *mentions,
                 what=f"{spec[0]} with {attr} of shape {shape}")
    assert_guarded(snaps, layer, opt, what=f"{spec[0]} with {attr} {shape}")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
@pytest.mark.parametrize("param", ["weights", "biases"])
@pytest.mark.parametrize("first", [True, False], ids=["first-update", "later-update"])
def test_read_only_parameters(spec, param, first):
    if first:
        opt, layer = _opt(spec), trained_dense()
    else:
        opt, layer = _stepped(spec)
    getattr(layer, param).flags.writeable = False
    snaps = guarded(layer, opt)
    check_raises(lambda: _update(opt, layer), ("read-only", "writeable", "writable"),
                 (param, param.rstrip("s")),
                 what=f"{spec[0]} with read-only {param}")
    assert_guarded(snaps, layer, opt, what=f"{spec[0]} read-only {param}")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
def test_state_of_wrong_shape(spec):
    for state in STATE_OF[spec[0]]:
        if spec[0] in ("SGD", "Optimizer_SGD") and not spec[1].get("momentum"):
            continue        # plain SGD keeps no state
        opt, layer = _stepped(spec)
        setattr(layer, state, np.zeros((3, 3)))
        snaps = guarded(layer, opt)
        check_raises(lambda: _update(opt, layer), "3, 3", (state,),
                     what=f"{spec[0]} with {state} of shape (3, 3)")
        assert_guarded(snaps, layer, opt, what=f"{spec[0]} {state} (3, 3)")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
def test_not_a_layer(spec):
    opt = _opt(spec)
    snaps = snapshot(opt, OPT_NAMES)
    for bad in (None, object(), np.ones((NIN, NOUT))):
        with pytest.raises(ERRORS):
            _update(opt, bad)
    assert_unchanged(snaps, opt, OPT_NAMES, "optimizer after update of a non-layer")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
@pytest.mark.parametrize("attr", ["dweights", "dbiases"])
def test_gradient_of_unsupported_dtype(spec, attr):
    opt, layer = _stepped(spec)
    g = getattr(layer, attr)
    setattr(layer, attr, g.astype(np.complex128) + 1j)
    snaps = guarded(layer, opt)
    check_raises(lambda: _update(opt, layer), ("complex",), what=f"{spec[0]} complex {attr}")
    assert_guarded(snaps, layer, opt, what=f"{spec[0]} complex {attr}")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
def test_recovers_after_a_failed_update(spec):
    """After a refused update, fixing the input and updating gives the reference's result."""
    opt, layer = _opt(spec), trained_dense()
    good = layer.dweights
    layer.dweights = np.ones((6, NOUT))
    with pytest.raises(ERRORS):
        _update(opt, layer)
    layer.dweights = good
    _step(opt, layer)

    ropt = getattr(reference, spec[0])(**spec[1])
    rlayer = trained_dense(reference)
    _step(ropt, rlayer)
    np.testing.assert_allclose(layer.weights, rlayer.weights, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.biases, rlayer.biases, rtol=1e-12, atol=1e-15)
    for s in STATE_OF[spec[0]]:
        assert hasattr(layer, s) == hasattr(rlayer, s), s
        if hasattr(rlayer, s):
            np.testing.assert_allclose(getattr(layer, s), getattr(rlayer, s),
                                       rtol=1e-12, atol=1e-15, err_msg=s)
    assert opt.iterations == ropt.iterations == 1


# ---------------------------------------------------------------------------
# NaN and inf propagate as in NumPy
# ---------------------------------------------------------------------------

def assert_same(got, exp, what):
    got, exp = np.asarray(got), np.asarray(exp)
    assert got.shape == exp.shape, f"{what}: shape {got.shape} vs reference {exp.shape}"
    assert got.dtype == exp.dtype, f"{what}: dtype {got.dtype} vs reference {exp.dtype}"
    for test, label in ((np.isnan, "NaN"), (np.isposinf, "+inf"), (np.isneginf, "-inf")):
        gm, em = test(got), test(exp)
        if not np.array_equal(gm, em):
            idx = np.argwhere(gm != em)[:5].tolist()
            raise AssertionError(f"{what}: {label} positions differ at {idx}: "
                                 f"got {[got[tuple(i)] for i in idx]}, "
                                 f"reference {[exp[tuple(i)] for i in idx]}")
    np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=what)


def _special_inputs():
    x = rng().standard_normal((N, NIN))
    x[0, 0] = np.nan
    x[1, 3] = np.inf
    x[2, 5] = -np.inf
    x[4, :] = np.nan
    return x


@pytest.mark.parametrize("name", ["DenseLayer", "Layer_Dense"])
def test_nan_inf_through_dense(name):
    x = _special_inputs()
    d = rng().standard_normal((N, NOUT))
    d[3, 1] = np.nan
    res = {}
    for mod in (fastnn, reference):
        layer = dense(mod, name)
        layer.weights[2, 2] = np.inf
        with np.errstate(all="ignore"):
            layer.forward(x)
            layer.backward(d)
        res[mod] = layer
    for a in ("output", "dweights", "dbiases", "dinputs"):
        assert_same(getattr(res[fastnn], a), getattr(res[reference], a), f"dense {a}")


def _forward_backward_both(name, x, d):
    """{module: activation} after forward(x) and backward(d) in fastnn and the twin."""
    res = {}
    for mod in (fastnn, reference):
        a = getattr(mod, name)()
        with np.errstate(all="ignore"):
            a.forward(x)
            a.backward(d)
        res[mod] = a
    return res


@pytest.mark.parametrize("name", ["ReLU", "Activation_ReLU"])
def test_nan_inf_through_relu(name):
    x = rng().standard_normal((N, C))
    x[0] = [np.nan, np.inf, -np.inf]
    x[1, 1] = -0.0
    d = rng().standard_normal((N, C))
    d[2, 0] = np.nan
    d[0, 1] = np.inf
    res = _forward_backward_both(name, x, d)
    assert_same(res[fastnn].output, res[reference].output, "relu output")
    assert_same(res[fastnn].dinputs, res[reference].dinputs, "relu dinputs")


@pytest.mark.parametrize("name", ["SoftMax", "Activation_Softmax"])
def test_nan_inf_through_softmax(name):
    x = rng().standard_normal((6, C))
    x[0] = [np.nan, 0.0, 1.0]
    x[1] = [np.inf, 0.0, 1.0]
    x[2] = [-np.inf, 0.0, 1.0]
    x[3] = [-np.inf, -np.inf, -np.inf]
    x[4] = [np.inf, np.inf, 0.0]
    d = rng().standard_normal((6, C))
    d[5, 2] = np.nan
    res = _forward_backward_both(name, x, d)
    assert_same(res[fastnn].output, res[reference].output, "softmax output")
    assert_same(res[fastnn].dinputs, res[reference].dinputs, "softmax dinputs")


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "Loss_CategoricalCrossentropy"])
@pytest.mark.parametrize("onehot", [False, True], ids=["indices", "one-hot"])
def test_nan_inf_and_extremes_through_cross_entropy(name, onehot):
    p = probs_ok()
    p[0, 0] = np.nan        # label 0: NaN loss
    p[1, 2] = 0.0           # label 2: clipped to 1e-7 in forward, -1/0 in backward
    p[2, 1] = 1.0           # label 1: clipped to 1 - 1e-7
    p[3, 0] = 0.0           # not the label: 0/0 in the one-hot backward
    p[4, 0] = np.inf
    y = labels_ok()
    if onehot:
        y = np.eye(C)[y]
    res = {}
    for mod in (fastnn, reference):
        obj = getattr(mod, name)()
        with np.errstate(all="ignore"):
            losses = obj.forward(p, y)
            mean = obj.calculate(p, y)
            obj.backward(p, y)
        res[mod] = (losses, mean, obj.dinputs)
    for k, what in enumerate(("per-sample losses", "mean loss", "dinputs")):
        assert_same(res[fastnn][k], res[reference][k], f"cross-entropy {what}")


@pytest.mark.parametrize("name", ["SoftMaxCategoricalCrossEntropy",
                                  "Activation_Softmax_Loss_CategoricalCrossentropy"])
def test_nan_inf_through_combined(name):
    x = rng().standard_normal((N, C))
    x[0, 1] = np.nan
    x[1, 0] = np.inf
    x[2, 2] = -np.inf
    y = labels_ok()
    res = {}
    for mod in (fastnn, reference):
        obj = getattr(mod, name)()
        with np.errstate(all="ignore"):
            loss = obj.forward(x, y)
            obj.backward(obj.output, y)
        res[mod] = (loss, obj.output, obj.dinputs)
    for k, what in enumerate(("loss", "output", "dinputs")):
        assert_same(res[fastnn][k], res[reference][k], f"combined {what}")


@pytest.mark.parametrize("spec", OPTIMIZERS, ids=_opt_ids)
def test_nan_inf_gradients_through_optimizers(spec):
    res = {}
    for mod in (fastnn, reference):
        np.random.seed(0)
        layer = getattr(mod, "DenseLayer")(NIN, NOUT)
        opt = getattr(mod, spec[0])(**spec[1])
        for step in range(3):
            layer.dweights = rng().standard_normal((NIN, NOUT))
            layer.dbiases = rng().standard_normal((1, NOUT))
            layer.dweights[0, 0] = np.nan
            layer.dweights[1, 1] = np.inf
            layer.dweights[2, 2] = -np.inf
            layer.dbiases[0, 3] = np.inf
            layer.dweights[3, 3] = 0.0 if step else 1.0   # 0 / (sqrt(0)+eps) later
            with np.errstate(all="ignore"):
                _step(opt, layer)
        res[mod] = layer
    for a in ("weights", "biases") + STATE_OF[spec[0]]:
        f, r = res[fastnn], res[reference]
        assert hasattr(f, a) == hasattr(r, a), a
        if hasattr(r, a):
            assert_same(getattr(f, a), getattr(r, a), f"{spec[0]} {a}")


# Divisions by zero give inf/NaN in NumPy (with a RuntimeWarning), never an exception.

@pytest.mark.parametrize("name,kw", [
    ("AdaGrad", dict(epsilon=0.0)), ("RMSProp", dict(epsilon=0.0)), ("Adam", dict(epsilon=0.0)),
    ("Optimizer_Adagrad", dict(epsilon=0.0)), ("Optimizer_RMSprop", dict(epsilon=0.0)),
    ("Optimizer_Adam", dict(epsilon=0.0)), ("Adam", dict(beta1=1.0)), ("Adam", dict(beta2=1.0)),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()))
def test_zero_over_zero_in_optimizers_gives_nan(name, kw):
    """epsilon=0 with a zero gradient (0 / sqrt(0)), or beta=1 (division by 1 - 1**t)."""
    res = {}
    for mod in (fastnn, reference):
        np.random.seed(0)
        layer = mod.DenseLayer(NIN, NOUT)
        layer.dweights = rng().standard_normal((NIN, NOUT))
        layer.dweights[1, :] = 0.0
        layer.dbiases = np.ones((1, NOUT))
        opt = getattr(mod, name)(**kw)
        with np.errstate(all="ignore"):
            _step(opt, layer)
        res[mod] = layer
    for a in ("weights", "biases") + STATE_OF[name]:
        assert_same(getattr(res[fastnn], a), getattr(res[reference], a), f"{name}({kw}) {a}")


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "Loss_CategoricalCrossentropy"])
def test_all_zero_target_row_gives_inf_loss(name):
    p = np.full((2, C), 1 / 3)
    y = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    res = {}
    for mod in (fastnn, reference):
        with np.errstate(all="ignore"):
            res[mod] = getattr(mod, name)().forward(p, y)
    assert_same(res[fastnn], res[reference], "per-sample losses")


def test_empty_batch_like_numpy():
    res = {}
    for mod in (fastnn, reference):
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                d = dense(mod)
                d.forward(np.zeros((0, NIN)))
                a = mod.ReLU()
                a.forward(d.output)
                la = mod.SoftMaxCategoricalCrossEntropy()
                loss = la.forward(a.output, np.zeros(0, dtype=np.int64))
                la.backward(la.output, np.zeros(0, dtype=np.int64))
                a.backward(la.dinputs)
                d.backward(a.dinputs)
        res[mod] = (d.output, a.output, loss, la.output, la.dinputs, a.dinputs, d.dweights,
                    d.dbiases, d.dinputs)
    for k, (g, e) in enumerate(zip(res[fastnn], res[reference])):
        assert_same(g, e, f"empty batch result {k}")
