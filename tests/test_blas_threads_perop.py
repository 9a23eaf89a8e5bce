"""The per-op dense layers' BLAS thread policy (``_blas_threads.call_with_blas_threads_for``).

Work between ``BLAS_MIN_MADDS`` and ``BLAS_THREADS_MIN_MADDS`` multiply-adds
runs with one BLAS thread in the library the kernels call, the previous
count restored afterwards (also when the call raises); smaller and larger
work, and a count the user already limited, are left alone.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fastnn
import fastnn.reference as R
from fastnn._blas_threads import BLAS_THREADS_MIN_MADDS, _kernel_libs, call_with_blas_threads_for
from fastnn.kernels.dense import BLAS_MIN_MADDS


def counts():
    return [lib.get_num_threads() for lib in _kernel_libs()]


@pytest.fixture
def two_threads():
    with threadpool_limits(2, user_api="blas"):
        if max(counts()) < 2:
            pytest.skip("the BLAS library runs one thread here")
        yield


def test_policy_sized_work_runs_on_one_thread_and_the_count_is_restored(two_threads):
    before = counts()
    assert call_with_blas_threads_for(BLAS_MIN_MADDS, counts) == [1] * len(before)
    assert counts() == before

    def fails():
        raise RuntimeError("kernel failed")
    with pytest.raises(RuntimeError):
        call_with_blas_threads_for(BLAS_MIN_MADDS, fails)
    assert counts() == before


def test_small_and_large_work_keep_the_users_threads(two_threads):
    before = counts()
    assert call_with_blas_threads_for(BLAS_MIN_MADDS - 1, counts) == before
    assert call_with_blas_threads_for(BLAS_THREADS_MIN_MADDS, counts) == before


def test_a_users_limit_is_kept():
    with threadpool_limits(1, user_api="blas"):
        assert call_with_blas_threads_for(BLAS_MIN_MADDS, counts) == [1] * len(counts())
        assert counts() == [1] * len(counts())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blas_sized_per_op_layer_matches_the_twin(two_threads, dtype):
    # chapter 17's 64->64 layer on 1000 samples: 4.1M multiply-adds, BLAS with one thread
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 64)).astype(dtype)
    d = rng.standard_normal((1000, 64)).astype(dtype)
    fast, ref = fastnn.Layer_Dense(64, 64), R.Layer_Dense(64, 64)
    for layer in (fast, ref):
        layer.weights = rng.standard_normal((64, 64)).astype(dtype) if layer is fast else \
            fast.weights.copy()
        layer.biases = np.full((1, 64), 0.5, dtype)
    before = counts()
    fast.forward(x)
    ref.forward(x)
    fast.backward(d)
    ref.backward(d)
    assert counts() == before
    tol = dict(rtol=1e-4, atol=1e-3) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for name in ("output", "dweights", "dbiases", "dinputs"):
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), **tol, err_msg=name)


@pytest.mark.parametrize("m,k,n,backward,expected", [
    (200, 64, 1, False, False),       # below BLAS size
    (3000, 2, 64, False, False),      # chapter 15's layers: thin, loop routines at any batch
    (3000, 2, 64, True, False),
    (3000, 64, 3, False, False),
    (3000, 64, 3, True, False),
    (1000, 64, 64, False, True),      # chapter 17's 64->64 layer
    (1000, 64, 64, True, True),
    (100_000, 1, 64, False, False),   # K = 1 forward: thin
    (100_000, 1, 64, True, True),     # ... but its backward's products go to BLAS
])
def test_the_policy_follows_the_kernels_routing(m, k, n, backward, expected):
    from fastnn._blas_threads import dense_uses_blas
    assert dense_uses_blas(m, k, n, backward) is expected


def test_thin_layers_do_not_touch_the_thread_count(two_threads, monkeypatch):
    # chapter 15's 3000x2->64 layer: 384k multiply-adds, but no BLAS call
    import fastnn._blas_threads as bt
    calls = []
    monkeypatch.setattr(bt, "_kernel_libs", lambda: calls.append(1) or [])
    rng = np.random.default_rng(5)
    layer = fastnn.Layer_Dense(2, 64)
    layer.forward(rng.standard_normal((3000, 2)))
    layer.backward(rng.standard_normal((3000, 64)))
    assert not calls


def test_the_policy_threshold_can_be_moved_and_is_checked(two_threads):
    """``set_blas_thread_policy(0)``: BLAS keeps its own count (the per-op layers and
    ``Model`` alike); the default again limits policy-sized work to one thread."""
    from fastnn import _blas_threads as B
    before = counts()
    previous = fastnn.set_blas_thread_policy(0)
    try:
        assert previous == B.DEFAULT_BLAS_THREADS_MIN_MADDS
        assert call_with_blas_threads_for(BLAS_MIN_MADDS, counts) == before
        with B.blas_threads_for(BLAS_MIN_MADDS):
            assert counts() == before
    finally:
        assert fastnn.set_blas_thread_policy() == 0
    assert call_with_blas_threads_for(BLAS_MIN_MADDS, counts) == [1] * len(before)
    with B.blas_threads_for(BLAS_MIN_MADDS):
        assert counts() == [1] * len(before)
    for bad, error in ((-1, ValueError), (2.5, TypeError), ("0", TypeError), (True, TypeError)):
        with pytest.raises(error, match="min_madds"):
            fastnn.set_blas_thread_policy(bad)
    assert B.BLAS_THREADS_MIN_MADDS == B.DEFAULT_BLAS_THREADS_MIN_MADDS
