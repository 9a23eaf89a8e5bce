"""Two threads making their first per-op calls at the same time, in a fresh process.

The sealed kernels compile a signature on its first fitting call.  They used to
turn compilation on and off around that compile without a lock, so a second
thread calling meanwhile found it off again and died with ``RuntimeError:
compilation disabled`` (10 times in 10).  Each round here is a new process; both
threads pass a barrier and arrive while the first one's compile (or cache
load) is under way.
"""
import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(r"""
    import json, sys, threading, traceback
    import numpy as np
    import fastnn
    import fastnn.reference as R
    from fastnn.kernels import sealed

    dtypes = [np.dtype(d) for d in sys.argv[1].split(",")]
    barrier = threading.Barrier(len(dtypes))
    errors, checked = [], []

    def step(M, dtype, w, b, x, dvalues):
        layer = M.Layer_Dense(*w.shape)
        layer.weights, layer.biases = w.copy(), b.copy()
        opt = M.Optimizer_Adam(learning_rate=0.05, decay=5e-7)
        layer.forward(x.copy())
        layer.backward(dvalues.copy())
        out, dinputs = layer.output.copy(), layer.dinputs.copy()
        opt.pre_update_params(); opt.update_params(layer); opt.post_update_params()
        return out, dinputs, layer.weights, layer.biases, layer.weight_cache

    def worker(k, dtype):
        rng = np.random.default_rng(k)
        w = (0.1 * rng.standard_normal((5, 7))).astype(dtype)
        b = (0.1 * rng.standard_normal((1, 7))).astype(dtype)
        x = rng.standard_normal((40, 5)).astype(dtype)
        dvalues = rng.standard_normal((40, 7)).astype(dtype)
        try:
            barrier.wait()
            got = step(fastnn, dtype, w, b, x, dvalues)  # both threads' first calls
            want = step(R, dtype, w, b, x, dvalues)
            rtol = 1e-5 if dtype == np.float32 else 1e-12
            for name, g, e in zip(("output", "dinputs", "weights", "biases", "weight_cache"),
                                  got, want):
                assert g.dtype == e.dtype, (name, g.dtype, e.dtype)
                np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * 1e-3, err_msg=name)
            checked.append(k)
        except BaseException:
            errors.append(f"thread {k} ({dtype}):\n{traceback.format_exc()}")

    threads = [threading.Thread(target=worker, args=(k, d)) for k, d in enumerate(dtypes)]
    for t in threads: t.start()
    for t in threads: t.join()
    # the twins compiled exactly the dtypes called, nothing else
    compiled = sorted(str(sig[0].dtype) for sig in sealed.dense_forward.signatures)
    print(json.dumps({"errors": errors, "checked": sorted(checked), "compiled": compiled}))
""")

# (dtypes of the two threads, what the cache holds for them when the round starts)
# Same dtype: the second thread must wait for the first one's compile (or load)
# and use it; two dtypes: one signature compiles while the other thread loads
# another.  Each round is a fresh process; they share one cache directory that
# starts empty, so the first call of a dtype compiles, later rounds load.
ROUNDS = [(("float64", "float64"), "cold"), (("float64", "float64"), "warm"),
          (("float32", "float64"), "float32 cold, float64 warm"),
          (("float32", "float32"), "warm")]


def test_first_calls_from_two_threads_at_once(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_DISABLE_JIT", None)
    for dtypes, cache in ROUNDS:
        what = f"round {dtypes} ({cache} cache)"
        p = subprocess.run([sys.executable, "-c", CHILD, ",".join(dtypes)], env=env,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"{what}: child failed\n{p.stderr[-3000:]}"
        result = json.loads(p.stdout.strip().splitlines()[-1])
        assert result["errors"] == [], f"{what}:\n" + "\n".join(result["errors"])
        assert result["checked"] == [0, 1], what
        assert result["compiled"] == sorted(set(dtypes)), what
    # the cache went where NUMBA_CACHE_DIR said
    assert any(name.endswith(".nbi") for _, _, names in os.walk(tmp_path) for name in names)
