"""Optimizer hyper-parameters and parameter dtypes: what is accepted, what is refused.

* A hyper-parameter that is not a real number (a string, None, a complex
  number, an array of one or more dimensions, extended precision, a Fraction)
  raises a TypeError naming the attribute and the value -- never a Numba
  TypingError -- from the hook that reads it, and that hook writes nothing.
* Real numbers the reference takes (NaN, inf, negative, 0-d arrays, NumPy
  integer and float16 scalars, bool) give the reference's updates.
* The decay's ``1. / (1. + decay * iterations)``: a Python float denominator of
  0 raises ZeroDivisionError (the reference's), a NumPy one gives an inf rate
  and then inf/NaN weights, and later steps a negative rate -- as the reference.
* ``current_learning_rate`` under NumPy 2's scalar promotion, for Python float,
  np.float32 and np.float64 rates and decays: the per-op value (and type) is the
  reference's, and is what the table in ``test_lr_curr_arithmetic_table`` says.
* Integer or bool parameters raise the reference's NumPy casting error (a
  subclass of its class), write nothing and create no state; they used to be
  truncated (to 0 for small updates).
"""
import warnings
from fractions import Fraction

import numpy as np
import pytest

import fastnn
import fastnn.reference as R

OPTIMIZERS = {  # book class: its own hyper-parameters and good values
    "Optimizer_SGD": dict(momentum=0.5),
    "Optimizer_Adagrad": dict(epsilon=1e-7),
    "Optimizer_RMSprop": dict(epsilon=1e-7, rho=0.9),
    "Optimizer_Adam": dict(epsilon=1e-7, beta_1=0.9, beta_2=0.999),
}
NOTEBOOK = {"Optimizer_SGD": "SGD", "Optimizer_Adagrad": "AdaGrad",
            "Optimizer_RMSprop": "RMSProp", "Optimizer_Adam": "Adam"}
STATE = ("weight_momentums", "bias_momentums", "weight_cache", "bias_cache")
OPT_ATTRS = ("learning_rate", "current_learning_rate", "decay", "iterations", "momentum",
             "epsilon", "rho", "beta_1", "beta_2")

BAD_VALUES = {
    "str": "0.1",
    "none": None,
    "complex": 0.1 + 0j,
    "array-1": np.array([0.1]),
    "array-1x1": np.array([[0.1]]),
    "longdouble": np.longdouble(0.1),
    "fraction": Fraction(1, 10),
}


def layer(seed=0, dtype=np.float64, k=5, n=4):
    rng = np.random.default_rng(seed)
    lay = fastnn.Layer_Dense(k, n)
    lay.weights = rng.standard_normal((k, n)).astype(dtype)
    lay.biases = rng.standard_normal((1, n)).astype(dtype)
    lay.dweights = rng.standard_normal((k, n)).astype(dtype)
    lay.dbiases = rng.standard_normal((1, n)).astype(dtype)
    return lay


def snapshot(obj, names):
    out = {}
    for n in names:
        if hasattr(obj, n):
            v = getattr(obj, n)
            out[n] = (v.dtype, v.shape, v.tobytes()) if isinstance(v, np.ndarray) \
                else (type(v), repr(v))
    return out


def make(name, decay, **kw):
    return getattr(fastnn, name)(learning_rate=0.05, decay=decay,
                                 **dict(OPTIMIZERS[name], **kw))


# ------------------------------------------------------------------ refused values

def _cases():
    for name, own in OPTIMIZERS.items():
        attrs = ["learning_rate", "current_learning_rate", "decay", "iterations", *own]
        for attr in attrs:
            for bad in BAD_VALUES:
                yield name, attr, bad


@pytest.mark.parametrize("stepped", [False, True], ids=["fresh-layer", "after-a-step"])
@pytest.mark.parametrize("name,attr,bad", list(_cases()))
def test_bad_hyper_parameter_is_named_and_nothing_written(name, attr, bad, stepped):
    # decay non-zero makes pre_update_params read learning_rate; zero, it is
    # current_learning_rate that update_params reads
    opt = make(name, decay=0.0 if attr == "current_learning_rate" else 1e-3)
    lay = layer()
    if stepped:
        opt.pre_update_params()
        opt.update_params(lay)
        opt.post_update_params()
    setattr(opt, attr, BAD_VALUES[bad])
    hooks = (opt.pre_update_params, lambda: opt.update_params(lay), opt.post_update_params)
    for hook in hooks:
        before = snapshot(lay, ("weights", "biases", "dweights", "dbiases") + STATE), \
            snapshot(opt, OPT_ATTRS)
        try:
            hook()
        except (TypeError, ValueError) as exc:
            assert not type(exc).__module__.startswith("numba"), repr(exc)
            assert isinstance(exc, TypeError), repr(exc)
            msg = str(exc)
            assert f"{type(opt).__name__}.{attr}" in msg, msg
            shown = repr(BAD_VALUES[bad])
            assert shown[:20] in msg or "shape (1" in msg, msg
            after = snapshot(lay, ("weights", "biases", "dweights", "dbiases") + STATE), \
                snapshot(opt, OPT_ATTRS)
            assert after == before, "the refused call changed the layer or the optimizer"
            return
    raise AssertionError(f"{attr} = {BAD_VALUES[bad]!r} was accepted by a whole step")


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_notebook_spelling_names_the_value_too(name):
    opt = getattr(fastnn, name)(lr="0.01", decay=1e-3)
    with pytest.raises(TypeError, match=r"\.learning_rate must be a real number.*'0\.01'"):
        opt.preUpdateParams()
    assert opt.lr_curr == "0.01" and opt.iteration == 0


def test_int_too_large_for_float64():
    opt = fastnn.Optimizer_SGD(learning_rate=10 ** 400)
    lay = layer()
    w = lay.weights.copy()
    with pytest.raises(ValueError, match="current_learning_rate = 1000.* too large"):
        opt.update_params(lay)
    np.testing.assert_array_equal(lay.weights, w)


def test_check_hyper_reads_what_the_next_step_reads():
    from fastnn._arrays import check_hyper
    opt = fastnn.Adam(lr=np.float32(0.05), decay=1e-3, beta1=np.array(0.8))
    opt.lr_curr = "ignored: decay recomputes it"
    got = check_hyper(opt)
    assert got == {"decay": 1e-3, "learning_rate": float(np.float32(0.05)), "iterations": 0.0,
                   "epsilon": 1e-7, "beta_1": 0.8, "beta_2": 0.999}
    assert all(type(v) is float for v in got.values())
    opt = fastnn.SGD(lr="ignored: no decay", momentum=True)
    opt.lr_curr = np.int8(2)
    assert check_hyper(opt) == {"decay": 0.0, "current_learning_rate": 2.0,
                                "iterations": 0.0, "momentum": 1.0}
    opt.momentum = [0.5]
    with pytest.raises(TypeError, match=r"SGD\.momentum must be a real number.*\[0\.5\] \(list\)"):
        check_hyper(opt)


# ------------------------------------------------------------------ accepted values

ACCEPTED = [
    ("nan-lr", "Optimizer_Adam", dict(learning_rate=float("nan"))),
    ("inf-lr", "Optimizer_SGD", dict(learning_rate=float("inf"), momentum=0.5)),
    ("negative-lr", "Optimizer_RMSprop", dict(learning_rate=-0.01)),
    ("0d-array-lr", "Optimizer_Adagrad", dict(learning_rate=np.array(0.1), decay=1e-2)),
    ("float16-lr", "Optimizer_SGD", dict(learning_rate=np.float16(0.1), decay=1e-2)),
    ("int8-decay", "Optimizer_SGD", dict(decay=np.int8(1))),
    ("uint64-rho", "Optimizer_RMSprop", dict(rho=np.uint64(1))),
    ("bool-momentum", "Optimizer_SGD", dict(learning_rate=0.01, momentum=True)),
    ("0d-array-beta", "Optimizer_Adam", dict(beta_1=np.array(0.8), beta_2=np.float32(0.99))),
    ("nan-epsilon", "Optimizer_Adagrad", dict(epsilon=float("nan"))),
]


@pytest.mark.parametrize("cid,name,kwargs", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_values_match_the_reference(cid, name, kwargs):
    opts = [getattr(mod, name)(**kwargs) for mod in (fastnn, R)]
    lays = [layer(), layer()]
    with np.errstate(all="ignore"):
        for step in range(3):
            for opt, lay in zip(opts, lays):
                opt.pre_update_params()
                opt.update_params(lay)
                opt.post_update_params()
            assert repr(opts[0].current_learning_rate) == repr(opts[1].current_learning_rate)
            for attr in ("weights", "biases") + STATE:
                if hasattr(lays[1], attr):
                    np.testing.assert_array_equal(getattr(lays[0], attr), getattr(lays[1], attr),
                                                  err_msg=f"{cid} step {step} {attr}")


# ------------------------------------------------------- decay's division by zero

@pytest.mark.parametrize("decay", [-0.5, np.float64(-0.5), np.float32(-0.5), -1],
                         ids=["float", "float64", "float32", "int"])
@pytest.mark.parametrize("name", ["Optimizer_SGD", "Optimizer_Adam"])
def test_decay_through_zero_follows_the_reference(name, decay):
    """1 + decay * t: 1, 0.5, 0 (Python: ZeroDivisionError; NumPy: an inf rate),
    then -0.5 (a negative rate), each step as the reference's."""
    kw = dict(momentum=0.5) if name == "Optimizer_SGD" else {}
    opts = [getattr(mod, name)(learning_rate=0.1, decay=decay, **kw) for mod in (fastnn, R)]
    lays = [layer(), layer()]
    for step in range(5):
        outcomes = []
        for opt, lay in zip(opts, lays):
            before = opt.current_learning_rate
            with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
                warnings.simplefilter("always")
                try:
                    opt.pre_update_params()
                    outcomes.append(("rate", repr(opt.current_learning_rate), len(caught)))
                except ZeroDivisionError as exc:
                    outcomes.append(("ZeroDivisionError",))
                    assert opt.current_learning_rate is before
                    if opt is opts[0]:
                        assert f"decay={decay!r}" in str(exc) and "iterations=" in str(exc)
                # a user who carries on: the update with the rate left as it was
                opt.update_params(lay)
                opt.post_update_params()
        assert outcomes[0] == outcomes[1], f"step {step}: {outcomes}"
        for attr in ("weights", "biases") + STATE:
            if hasattr(lays[1], attr):
                np.testing.assert_array_equal(getattr(lays[0], attr), getattr(lays[1], attr),
                                              err_msg=f"step {step} {attr}")


# ------------------------------------------------- current_learning_rate's arithmetic

def table_lr_curr(lr, decay, t):
    """current_learning_rate = lr * (1. / (1. + decay * t)) as NumPy 2 computes it,
    t a Python int (the iteration counter), spelled out (the table for Model):

    decay \\ lr | Python float     | np.float32                 | np.float64
    -----------+------------------+----------------------------+-----------------
    Python     | float64 q; lr*q  | f32(lr) * f32(q) in f32     | lr * q in f64
    float      | -> float         | -> np.float32               | -> np.float64
    np.float32 | f32 q (t to f32, | f32 q; lr * q in f32        | f64(q) * lr in
               | 1+, 1/ in f32);  | -> np.float32               | f64 -> np.float64
               | f32(lr) * q      |                             |
               | -> np.float32    |                             |
    np.float64 | f64 throughout -> np.float64 (lr converted exactly)

    q = 1. / (1. + decay * t): float64 unless decay is np.float32.  A zero
    denominator raises ZeroDivisionError only for a Python float decay; a NumPy
    decay gives inf (and a RuntimeWarning)."""
    if isinstance(decay, np.float32):
        q = np.float32(1.0) / (np.float32(1.0) + decay * np.float32(t))
        if isinstance(lr, np.float64):
            return np.float64(float(lr) * float(q))
        return np.float32(np.float32(lr) * q)
    q = 1.0 / (1.0 + float(decay) * float(t))
    if isinstance(lr, np.float32) and not isinstance(decay, np.float64):
        return np.float32(lr * np.float32(q))
    if isinstance(lr, (np.floating,)) or isinstance(decay, np.floating):
        return np.float64(float(lr) * q)
    return float(lr) * q


KINDS = {"float": float, "float32": np.float32, "float64": np.float64}


@pytest.mark.parametrize("decay_kind", list(KINDS))
@pytest.mark.parametrize("lr_kind", list(KINDS))
def test_lr_curr_arithmetic_table(lr_kind, decay_kind):
    lr, decay = KINDS[lr_kind](0.05), KINDS[decay_kind](1e-3)
    fast, ref = fastnn.Optimizer_SGD(lr, decay), R.Optimizer_SGD(lr, decay)
    for t in range(0, 3000, 7):
        fast.iterations = ref.iterations = t
        fast.pre_update_params()
        ref.pre_update_params()
        got, exp = fast.current_learning_rate, ref.current_learning_rate
        assert type(got) is type(exp) and got == exp, (t, got, exp)
        table = table_lr_curr(lr, decay, t)
        assert type(table) is type(exp) and table == exp, (t, table, exp)


# -------------------------------------------------------------- integer parameters

INT_DTYPES = [np.int64, np.int32, np.uint8, np.bool_]


def _ref_error(name, kwargs, lay):
    with pytest.raises(TypeError) as info:
        getattr(R, name)(**kwargs).update_params(lay)
    return info.value


@pytest.mark.parametrize("which", ["weights", "biases"])
@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_integer_parameters_raise_the_reference_error(name, dtype, which):
    kwargs = dict(learning_rate=0.01, **OPTIMIZERS[name])
    lays = [layer(), layer()]
    for lay in lays:
        setattr(lay, which, (getattr(lay, which) * 10).astype(dtype))
    expected = _ref_error(name, kwargs, lays[1])
    lay = lays[0]
    before = snapshot(lay, ("weights", "biases", "dweights", "dbiases"))
    with pytest.raises(type(expected)) as info:
        getattr(fastnn, name)(**kwargs).update_params(lay)
    msg = str(info.value)
    assert f"layer.{which} has dtype {np.dtype(dtype)}" in msg, msg
    assert "Cannot cast ufunc 'add' output from dtype('float64')" in msg, msg
    assert snapshot(lay, ("weights", "biases", "dweights", "dbiases")) == before
    assert not any(hasattr(lay, s) for s in STATE), "state was created"


def test_integer_sgd_with_integer_rate_is_integer_arithmetic():
    """The one integer update NumPy allows: SGD with an integer rate and gradients."""
    lays = [layer(), layer()]
    for lay in lays:
        for attr in ("weights", "biases", "dweights", "dbiases"):
            setattr(lay, attr, (getattr(lay, attr) * 10).astype(np.int64))
    for mod, lay in zip((fastnn, R), lays):
        opt = mod.Optimizer_SGD(learning_rate=2, momentum=1)
        for _ in range(3):
            opt.update_params(lay)
    for attr in ("weights", "biases", "weight_momentums"):
        got, exp = getattr(lays[0], attr), getattr(lays[1], attr)
        assert got.dtype == exp.dtype
        np.testing.assert_array_equal(got, exp)


def test_integer_state_is_refused_not_truncated():
    """AdaGrad's cache is updated with += by the reference too: a float update into
    an integer cache raises there.  (RMSProp and Adam rebind their state in the
    reference, which silently replaces an integer cache by a float one; fastnn
    updates state in place, so it refuses integer state the same way.)"""
    for name in ("Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam"):
        lay = layer()
        fastnn.Optimizer_Adagrad().update_params(lay) if name != "Optimizer_Adam" else \
            fastnn.Optimizer_Adam().update_params(lay)
        lay.weight_cache = lay.weight_cache.astype(np.int64)
        before = snapshot(lay, ("weights", "biases") + STATE)
        with pytest.raises(TypeError, match=r"layer\.weight_cache has dtype int64.*'same_kind'"):
            getattr(fastnn, name)().update_params(lay)
        assert snapshot(lay, ("weights", "biases") + STATE) == before
