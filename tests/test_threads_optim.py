"""Optimizers called from several Python threads at once, under every threading layer.

Numba's ``workqueue`` threading layer is not thread-safe: two threads entering
a parallel region together abort the process ("Concurrent access has been
detected").  The optimizers' kernels run in parallel for parameters of
``PARALLEL_MIN_SIZE`` elements or more, so two threads updating large layers
used to kill the interpreter.  ``fastnn._threads`` serializes those calls when
the layer is not thread-safe.  Checked in a subprocess (the layer is chosen once
per process): no abort, and every thread's result equals the reference's.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn.reference as R
from fastnn.kernels.optimizers import PARALLEL_MIN_SIZE

SHAPE = (PARALLEL_MIN_SIZE // 512, 512)  # the weights alone reach the parallel path
STEPS = 6
CONFIGS = [("Optimizer_Adam", dict(learning_rate=0.01, decay=1e-3)),
           ("Optimizer_SGD", dict(learning_rate=0.1, decay=1e-2, momentum=0.9)),
           ("Optimizer_RMSprop", dict(learning_rate=0.01)),
           ("Optimizer_Adagrad", dict(learning_rate=0.1))]


def data(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in (SHAPE, (1, SHAPE[1]))], \
        [[rng.standard_normal(s) for s in (SHAPE, (1, SHAPE[1]))] for _ in range(STEPS)]


def train(mod, name, kwargs, seed):
    """STEPS optimizer steps on one large layer; returns its arrays."""
    (w, b), grads = data(seed)
    layer = mod.Layer_Dense(1, 1)
    layer.weights, layer.biases = w, b
    opt = getattr(mod, name)(**kwargs)
    for dw, db in grads:
        layer.dweights, layer.dbiases = dw, db
        opt.pre_update_params()
        opt.update_params(layer)
        opt.post_update_params()
    return {k: getattr(layer, k) for k in ("weights", "biases", "weight_momentums",
                                           "weight_cache") if hasattr(layer, k)}


CHILD = textwrap.dedent("""
    import sys, threading
    import numba, numpy as np
    sys.path.insert(0, {tests!r})
    import fastnn
    from test_threads_optim import CONFIGS, train

    results = {{}}
    def work(k):
        name, kwargs = CONFIGS[k % len(CONFIGS)]
        for _ in range(3):
            results[k] = train(fastnn, name, kwargs, seed=k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert numba.threading_layer() == sys.argv[1], numba.threading_layer()
    from fastnn import _threads
    with _threads.parallel_section(10) as small, _threads.parallel_section(1 << 30) as big:
        print("layer", numba.threading_layer(), "serialize", _threads.serialize_parallel(),
              "small", small, "big", big)
    np.savez(sys.argv[2], **{{f"{{k}}-{{n}}": v for k, r in results.items()
                             for n, v in r.items()}})
""")


def _layers():
    layers = ["workqueue"]
    for name, module in (("omp", "omppool"), ("tbb", "tbbpool")):
        try:
            __import__(f"numba.np.ufunc.{module}")
            layers.append(name)
        except ImportError:
            pass
    return layers


@pytest.mark.parametrize("layer", _layers())
def test_threads_updating_large_layers(layer, tmp_path):
    out = tmp_path / "results.npz"
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer, NUMBA_NUM_THREADS="2")
    code = CHILD.format(tests=os.path.dirname(__file__))
    proc = subprocess.run([sys.executable, "-c", code, layer, str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (f"the process died (return code {proc.returncode}):\n"
                                  f"{proc.stdout}\n{proc.stderr[-3000:]}")
    serial = layer not in ("tbb", "omp")
    assert f"serialize {serial} small False big {serial}" in proc.stdout, proc.stdout
    got = np.load(out)
    for k in range(4):
        name, kwargs = CONFIGS[k % len(CONFIGS)]
        exp = train(R, name, kwargs, seed=k)
        for n, v in exp.items():
            # the kernels follow the reference's operation order: bit for bit
            np.testing.assert_array_equal(got[f"{k}-{n}"], v, err_msg=f"thread {k} {name} {n}")


def test_parallel_section_in_this_process():
    """The policy as this process sees it: small calls never take the lock."""
    from fastnn import _threads
    with _threads.parallel_section(PARALLEL_MIN_SIZE - 1) as held:
        assert held is False
    import numba
    safe = numba.threading_layer() in _threads.THREAD_SAFE_LAYERS
    assert _threads.serialize_parallel() is (not safe)
    assert _threads.SERIALIZE is (not safe)
    with _threads.parallel_section(PARALLEL_MIN_SIZE) as held:
        assert held is (not safe)
        with _threads.parallel_section(PARALLEL_MIN_SIZE) as inner:  # reentrant
            assert inner is held
