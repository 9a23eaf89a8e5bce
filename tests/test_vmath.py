"""The vectorizable exp/log of ``kernels/vmath.py`` against NumPy's float64
exp/log, over their whole range: within 1 ulp for float64 results, and for
float32 results (the shorter polynomials of ``exp_for``/``log_for``) within
1 ulp of the correctly rounded value, i.e. of float64 NumPy rounded once."""
import numpy as np
import pytest
from numba import njit

from fastnn.kernels.vmath import exp_for, log_for


@njit
def _exp_all(x, out, single):
    for i in range(x.size):
        out[i] = exp_for(x[i], single)


@njit
def _log_all(x, out, single):
    for i in range(x.size):
        out[i] = log_for(x[i], single)


def ulps(got, want, dtype):
    got, want = got.astype(dtype), want.astype(dtype)
    gi = got.view(np.int32 if dtype == np.float32 else np.int64).astype(np.int64)
    wi = want.view(np.int32 if dtype == np.float32 else np.int64).astype(np.int64)
    return np.abs(gi - wi)


def exp_arguments(rng):
    # softmax feeds x - max(x) <= 0; cover the whole domain, the tails and specials
    return np.concatenate([rng.uniform(-110, 0, 200_000), rng.uniform(-745, 709, 50_000),
                           rng.uniform(-1e-6, 1e-6, 1000), [0.0, -0.0, 1e-300, -87.3, -103.9]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_within_one_ulp(dtype):
    x = exp_arguments(np.random.default_rng(0))
    out = np.empty_like(x)
    _exp_all(x, out, dtype == np.float32)
    with np.errstate(over="ignore", under="ignore"):
        want = np.exp(x)
        finite = np.isfinite(want.astype(dtype)) & (want.astype(dtype) != 0)
        assert ulps(out[finite], want[finite], dtype).max() <= 1
        # where the float32 result under/overflows, so does ours
        np.testing.assert_array_equal(out.astype(dtype)[~finite], want.astype(dtype)[~finite])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_special_values(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 710.0, -746.0, 800.0, -800.0])
    out = np.empty_like(x)
    _exp_all(x, out, dtype == np.float32)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out, np.exp(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_within_one_ulp(dtype):
    # cross-entropy takes log of probabilities clipped to [1e-7, 1 - 1e-7]
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(1e-7, 1 - 1e-7, 200_000),
                        np.exp(rng.uniform(np.log(1e-7), 0, 100_000)),
                        1 - rng.uniform(1e-7, 1e-3, 10_000), [1e-7, 1 - 1e-7, 0.5, 1.0],
                        rng.uniform(1, 1e30, 1000)])
    if dtype == np.float32:
        x = x.astype(np.float32).astype(np.float64)  # the float32 probabilities it sees
    out = np.empty_like(x)
    _log_all(x, out, dtype == np.float32)
    want = np.log(x)
    nonzero = want.astype(dtype) != 0
    assert ulps(out[nonzero], want[nonzero], dtype).max() <= 1
    np.testing.assert_array_equal(out[~nonzero].astype(dtype), 0.0)


@pytest.mark.parametrize("single", [False, True])
def test_log_nan_passes_through(single):
    out = np.empty(1)
    _log_all(np.array([np.nan]), out, single)
    assert np.isnan(out[0])
