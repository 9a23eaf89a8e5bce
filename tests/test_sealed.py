"""The sealed kernels behind the classes' fast paths (``fastnn.kernels.sealed``).

A sealed kernel is compiled for exactly float64 and float32 C-contiguous
writeable arrays: anything else must raise TypeError (never compile a new
specialisation, never run), wrong shapes must return "does not fit" with
nothing written, and the classes must then take their general path and still
agree with the NumPy twin.
"""
import numpy as np
import pytest
from numba.core import types

import fastnn
import fastnn.reference as R
from _loops import Run
from fastnn.kernels import sealed
from fastnn.kernels._jit import LABEL_DTYPES

# name: argument shapes for a fitting call (M=5 samples, K=4 inputs, N=3 outputs);
# "labels" is a label array of M class indices
M, K, N = 5, 4, 3
FITTING = {
    "dense_forward": [(M, K), (K, N), (1, N), (M, N)],
    "dense_backward": [(M, K), (K, N), (M, N), (K, N), (1, N), (M, K)],
    "relu_forward": [(M, K), (M, K)],
    "relu_backward": [(M, K), (M, K), (M, K)],
    "softmax_cce_sparse_forward": [(M, N), "labels", (M, N)],
    "softmax_cce_sparse_backward": [(M, N), "labels", (M, N)],
    "sgd_update": [(K, N), (K, N), (1, N), (1, N), 0.1],
    "sgd_momentum_update": [(K, N), (K, N), (K, N), (1, N), (1, N), (1, N), 0.1, 0.9],
    "adagrad_update": [(K, N), (K, N), (K, N), (1, N), (1, N), (1, N), 0.1, 1e-7],
    "rmsprop_update": [(K, N), (K, N), (K, N), (1, N), (1, N), (1, N), 0.1, 1e-7, 0.9],
    "adam_update": [(K, N), (K, N), (K, N), (K, N), (1, N), (1, N), (1, N), (1, N),
                    0.1, 0.9, 0.999, 1e-7, 0.1, 0.001],
}
NAMES = sorted(FITTING)


def make_args(name, dtype=np.float64, label_dtype=np.int64, seed=0):
    rng = np.random.default_rng(seed)
    args = []
    for spec in FITTING[name]:
        if spec == "labels":
            args.append(rng.integers(0, N, M).astype(label_dtype))
        elif isinstance(spec, tuple):
            # positive, so that cache/state arrays are valid optimizer state
            args.append(rng.uniform(0.1, 1.0, spec).astype(dtype))
        else:
            args.append(spec)
    return args


def fits(ret):
    """A sealed kernel's "the shapes fit and it ran" (bool, label index or (loss, index))."""
    if isinstance(ret, tuple):
        ret = ret[1]
    if isinstance(ret, (bool, np.bool_)):
        return bool(ret)
    return ret == -1


def arrays_of(args):
    return [a for a in args if isinstance(a, np.ndarray)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("label_dtype", [np.dtype(t.name) for t in LABEL_DTYPES])
def test_fitting_call_runs_with_the_sealed_signatures(name, dtype, label_dtype):
    """The first fitting call compiles (or loads) its one signature, later ones reuse it,
    and every signature ever compiled is C-contiguous writeable arrays of one dtype."""
    kernel = getattr(sealed, name)
    args = make_args(name, dtype, label_dtype)
    assert fits(kernel(*args))
    compiled = len(kernel.signatures)
    assert fits(kernel(*args))
    assert len(kernel.signatures) == compiled, "a second fitting call compiled again"
    for sig in kernel.signatures:
        arrays = [t for t in sig if isinstance(t, types.Array)]
        assert all(t.layout == "C" and t.mutable for t in arrays), sig
        assert len({t.dtype for t in arrays if isinstance(t.dtype, types.Float)}) == 1, sig


def _variants(name):
    """(what, args) for calls no sealed signature takes, each varying one array."""
    base = make_args(name)
    for k, a in enumerate(base):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            continue
        for what, bad in [("Fortran order", np.asfortranarray(a)),
                          ("float32 among float64", a.astype(np.float32)),
                          ("int64", a.astype(np.int64)),
                          ("read-only", _read_only(a)),
                          ("strided", np.repeat(a, 2, axis=1)[:, ::2]),
                          ("1-D", a.reshape(-1))]:
            if what != "read-only" and bad.flags.c_contiguous and bad.dtype == a.dtype \
                    and bad.ndim == a.ndim:
                continue  # e.g. a one-row array is C- and Fortran-contiguous
            args = list(base)
            args[k] = bad
            yield f"argument {k} {what}", args
    if "labels" in FITTING[name]:
        k = FITTING[name].index("labels")
        for what, bad in [("int16 labels", base[k].astype(np.int16)),
                          ("one-hot labels", np.eye(N)[base[k]])]:
            args = list(base)
            args[k] = bad
            yield what, args


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("name", NAMES)
def test_unsealed_arguments_raise_type_error_without_compiling_or_writing(name):
    kernel = getattr(sealed, name)
    kernel(*make_args(name))  # both dtypes' signatures exist from here on
    before = len(kernel.signatures)
    n_cases = 0
    for what, args in _variants(name):
        snapshot = [a.copy() for a in arrays_of(args)]
        with pytest.raises(TypeError):
            kernel(*args)
        for got, orig in zip(arrays_of(args), snapshot):
            np.testing.assert_array_equal(got, orig, err_msg=f"{name}, {what}: wrote")
        assert len(kernel.signatures) == before, f"{name}, {what}: compiled a specialisation"
        n_cases += 1
    assert n_cases >= 4


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wrong_shapes_report_and_write_nothing(name, dtype):
    """Every array argument in turn gets one row too many: the kernel must say
    "does not fit" before touching memory (Numba does no bounds checks)."""
    kernel = getattr(sealed, name)
    base = make_args(name, dtype)
    n_cases = 0
    for k, a in enumerate(base):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            continue
        args = list(base)
        args[k] = np.concatenate([a, a[:1]], axis=0)
        snapshot = [x.copy() for x in arrays_of(args)]
        assert not fits(kernel(*args)), f"{name}: argument {k} with shape {args[k].shape} ran"
        for got, orig in zip(arrays_of(args), snapshot):
            np.testing.assert_array_equal(got, orig, err_msg=f"{name}: argument {k}: wrote")
        n_cases += 1
    if "labels" in FITTING[name]:
        args = list(base)
        k = FITTING[name].index("labels")
        args[k] = args[k][:-1].copy()
        assert not fits(kernel(*args)), f"{name}: {M - 1} labels for {M} samples ran"
    assert n_cases >= 2


@pytest.mark.parametrize("case", ["read-only X", "int16 labels", "read-only labels",
                                  "Fortran X", "int learning rate",
                                  "float32 learning rate"])
def test_general_path_after_a_sealed_mismatch_matches_the_twin(case):
    """Inputs the sealed kernels refuse go through the general path, with the
    twin's results (the seed network, three epochs of Adam or SGD)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    y = rng.integers(0, 3, 30).astype(np.uint8)
    opt = ("Adam", dict(lr=0.05, decay=5e-7))
    if case == "read-only X":
        X.flags.writeable = False
    elif case == "int16 labels":
        y = y.astype(np.int16)
    elif case == "read-only labels":
        y.flags.writeable = False
    elif case == "Fortran X":
        X = np.asfortranarray(X)
    elif case == "int learning rate":
        opt = ("SGD", dict(lr=1, momentum=0.5))
    else:
        opt = ("Adam", dict(lr=np.float32(0.05)))
    records = []
    for mod in (fastnn, R):
        np.random.seed(0)
        run = Run(mod, "notebook", opt[0], opt[1], X, y, None, None)
        records.append([run.epoch_step() for _ in range(3)])
    for epoch, (got, want) in enumerate(zip(*records)):
        for key in ("loss", "dense1.weights", "dense1.biases", "dense2.weights",
                    "dense2.biases", "activation1.dinputs", "dense2.dinputs"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-11, atol=1e-15,
                                       err_msg=f"{case}, epoch {epoch}: {key}")
