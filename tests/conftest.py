"""Shared fixtures and helpers for fastnn's tests.

Every numerical test compares fastnn against ``fastnn.reference`` (the plain
NumPy twin), never fastnn against itself.
"""
import importlib
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import fastnn.reference as R

# Modest hypothesis budget: the whole of tests/ must run in a couple of minutes
# on two cores.  Compilation happens on first call, so no per-example deadline.
# HYPOTHESIS_PROFILE=ci makes the examples reproducible; =thorough runs more.
_HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("fastnn", max_examples=40, deadline=None,
                          suppress_health_check=_HEALTH)
settings.register_profile("ci", parent=settings.get_profile("fastnn"),
                          derandomize=True)
settings.register_profile("thorough", parent=settings.get_profile("fastnn"),
                          max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fastnn"))

FLOATS = (np.float32, np.float64)

# Relative tolerance of results that involve sums (matrix products, softmax
# normalisation), measured against the magnitude of the summed terms.
SUM_RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}

# ---------------------------------------------------------------- names

BOOK_NAMES = dict(
    dense="Layer_Dense", relu="Activation_ReLU", softmax="Activation_Softmax",
    loss="Loss", cce="Loss_CategoricalCrossentropy",
    combined="Activation_Softmax_Loss_CategoricalCrossentropy",
    sgd="Optimizer_SGD", adagrad="Optimizer_Adagrad",
    rmsprop="Optimizer_RMSprop", adam="Optimizer_Adam",
    pre="pre_update_params", update="update_params",
    post="post_update_params",
)
NOTEBOOK_NAMES = dict(
    dense="DenseLayer", relu="ReLU", softmax="SoftMax",
    loss="Loss", cce="CategoricalCrossEntropy",
    combined="SoftMaxCategoricalCrossEntropy",
    sgd="SGD", adagrad="AdaGrad", rmsprop="RMSProp", adam="Adam",
    pre="preUpdateParams", update="updateParams", post="postUpdateParams",
)
SPELLINGS = {"book": BOOK_NAMES, "notebook": NOTEBOOK_NAMES}

# The table of the spec: constructor parameters, in order, with defaults.
OPTIMIZER_SIGNATURES = {
    "SGD": [("lr", 1.), ("decay", 0.), ("momentum", 0.)],
    "AdaGrad": [("lr", 1.), ("decay", 0.), ("epsilon", 1e-7)],
    "RMSProp": [("lr", 1.), ("decay", 0.), ("epsilon", 1e-7), ("rho", 0.9)],
    "Adam": [("lr", 0.001), ("decay", 0.), ("epsilon", 1e-7),
             ("beta1", 0.9), ("beta2", 0.999)],
    "Optimizer_SGD": [("learning_rate", 1.), ("decay", 0.), ("momentum", 0.)],
    "Optimizer_Adagrad": [("learning_rate", 1.), ("decay", 0.),
                          ("epsilon", 1e-7)],
    "Optimizer_RMSprop": [("learning_rate", 0.001), ("decay", 0.),
                          ("epsilon", 1e-7), ("rho", 0.9)],
    "Optimizer_Adam": [("learning_rate", 0.001), ("decay", 0.),
                       ("epsilon", 1e-7), ("beta_1", 0.9), ("beta_2", 0.999)],
}

STATE_NAMES = ("weight_momentums", "bias_momentums", "weight_cache",
               "bias_cache")


def fast_and_ref(name):
    """(fastnn class, reference class) of one public name."""
    import fastnn
    return getattr(fastnn, name), getattr(R, name)


def kernel(module, name):
    """A kernel function, e.g. ``kernel("dense", "dense_forward")``."""
    return getattr(importlib.import_module(f"fastnn.kernels.{module}"), name)


# ------------------------------------------------------- numpy isolation

_PATCHED = [(np, "dot"), (np, "zeros"), (np, "eye"), (np.random, "randn")]


@pytest.fixture(autouse=True)
def _restore_numpy():
    """Undo ``nnfs.init()``'s global monkey-patching after every test, so a
    test that calls it cannot change the arithmetic of the tests after it."""
    saved = [(mod, name, getattr(mod, name)) for mod, name in _PATCHED]
    yield
    for mod, name, fn in saved:
        setattr(mod, name, fn)


@pytest.fixture
def nnfs_init():
    """Run ``nnfs.init()`` for this test only (restored by _restore_numpy)."""
    import nnfs
    nnfs.init()
    return nnfs


# ------------------------------------------------------------ data helpers

def rand(rng, shape, dtype=np.float64, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def probs(rng, n, c, dtype=np.float64):
    """Rows of positive probabilities summing to ~1 (no exact zeros)."""
    p = rng.random((n, c)) + 1e-3
    return (p / p.sum(axis=1, keepdims=True)).astype(dtype)


def labels(rng, n, c, dtype=np.int64):
    return rng.integers(0, c, size=n).astype(dtype)


def one_hot(lab, c, dtype=np.float64):
    return np.eye(c, dtype=dtype)[lab]


# ------------------------------------------------------------- assertions

def assert_same_nonfinite(got, exp):
    """NaN where the reference has NaN, and +-inf exactly where it has +-inf."""
    got, exp = np.asarray(got), np.asarray(exp)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(exp),
                                  err_msg="NaN positions differ")
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(exp),
                                  err_msg="+inf positions differ")
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(exp),
                                  err_msg="-inf positions differ")


def assert_sum_close(got, exp, mag, dtype, rtol=None, what=""):
    """|got - exp| <= rtol * mag elementwise, where ``mag`` is the magnitude
    of the summed terms (e.g. |x| @ |w| + |b| for x @ w + b); non-finite
    entries must match the reference exactly."""
    got = np.asarray(got)
    exp = np.asarray(exp)
    assert got.shape == exp.shape, f"{what}: shape {got.shape} != {exp.shape}"
    assert_same_nonfinite(got, exp)
    rtol = SUM_RTOL[np.dtype(dtype)] if rtol is None else rtol
    fin = np.isfinite(exp)
    g = got[fin].astype(np.float64)
    e = exp[fin].astype(np.float64)
    m = np.broadcast_to(np.asarray(mag, np.float64), exp.shape)[fin]
    tiny = np.finfo(dtype).tiny
    err = np.abs(g - e)
    bound = rtol * m + 4 * tiny
    bad = err > bound
    if bad.any():
        i = np.argmax(err - bound)
        raise AssertionError(
            f"{what}: {bad.sum()} of {bad.size} elements out of tolerance; "
            f"worst: got {g[i]!r} expected {e[i]!r} (|diff| {err[i]:.3g}, "
            f"allowed {bound[i]:.3g}, rtol {rtol:g})")


def assert_ulp_close(got, exp, nulp=4, mag=None, what=""):
    """Within ``nulp`` units in the last place of max(|exp|, mag) (in the
    dtype of ``exp``); non-finite entries must match exactly."""
    got = np.asarray(got)
    exp = np.asarray(exp)
    assert got.shape == exp.shape, f"{what}: shape {got.shape} != {exp.shape}"
    assert_same_nonfinite(got, exp)
    fin = np.isfinite(exp)
    m = np.abs(exp)
    if mag is not None:
        m = np.maximum(m, np.abs(np.asarray(mag, exp.dtype)))
    ulp = np.spacing(m.astype(exp.dtype)).astype(np.float64)
    err = np.abs(got[fin].astype(np.float64) - exp[fin].astype(np.float64))
    bound = nulp * ulp[fin]
    bad = err > bound
    if bad.any():
        i = np.argmax(err - bound)
        raise AssertionError(
            f"{what}: {bad.sum()} of {bad.size} elements more than {nulp} ulp "
            f"apart; worst: got {got[fin][i]!r} expected {exp[fin][i]!r}")


# ---------------------------------------------------------- fake layers

class Params:
    """A bare 'layer': what the optimizers read (weights, biases, dweights,
    dbiases) and nothing else; optimizer state is created on it."""

    def __init__(self, weights, biases, dweights, dbiases):
        self.weights = weights
        self.biases = biases
        self.dweights = dweights
        self.dbiases = dbiases
