"""A saved ``Model`` loads in a fresh process and runs without compiling anything
when the kernel cache is warm (issue 11: "loads in a fresh process without
recompiling when the cache is warm").

Two child interpreters share the checkout's default kernel cache.  The first
trains the book's chapter-19 style model (mini-batches, validation) and saves it
(``save``) and its parameters (``save_parameters``), running ``predict`` and
``evaluate`` as a user would.  The second loads the model with ``Model.load``,
predicts, evaluates and trains on: it must hit the cache for every kernel it
calls and miss none.  Its predictions are checked against the NumPy twin's own
``Model`` with the saved parameters loaded, so the loaded model is also right.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# every compiled kernel (Numba dispatcher) in fastnn.kernels, with its cache hits and misses
CACHE_STATS = """
def cache_stats():
    import importlib, pkgutil
    import fastnn.kernels as K
    from numba.core.dispatcher import Dispatcher
    seen, hits, misses = set(), {}, {}
    for m in pkgutil.iter_modules(K.__path__):
        for obj in vars(importlib.import_module(f"fastnn.kernels.{m.name}")).values():
            if isinstance(obj, Dispatcher) and id(obj) not in seen:
                seen.add(id(obj))
                s, name = obj.stats, f"{obj.py_func.__module__}.{obj.py_func.__qualname__}"
                for counts, found in ((hits, s.cache_hits), (misses, s.cache_misses)):
                    if found:
                        counts[name] = sum(found.values())
    return {"hits": hits, "misses": misses}
"""

DATA = """
import numpy as np
from nnfs.datasets import spiral_data
np.random.seed(0)
X, y = spiral_data(samples=100, classes=3)
X_val, y_val = spiral_data(samples=30, classes=3)
"""

SAVE = CACHE_STATS + DATA + """
import json, sys, fastnn as M
model = M.Model()
model.add(M.Layer_Dense(2, 64))
model.add(M.Activation_ReLU())
model.add(M.Layer_Dense(64, 3))
model.add(M.Activation_Softmax())
model.set(loss=M.Loss_CategoricalCrossentropy(), optimizer=M.Optimizer_Adam(decay=1e-3),
          accuracy=M.Accuracy_Categorical())
model.finalize()
model.train(X, y, validation_data=(X_val, y_val), epochs=3, batch_size=64, print_every=100)
model.predict(X_val, batch_size=32)
model.evaluate(X_val, y_val, batch_size=32)
model.save(sys.argv[1])
model.save_parameters(sys.argv[2])
print(json.dumps(dict(cache_stats(), planned=model._plan is not None)))
"""

LOAD = CACHE_STATS + DATA + """
import json, sys, fastnn as M
model = M.Model.load(sys.argv[1])
probs = model.predict(X_val, batch_size=32)
model.evaluate(X_val, y_val, batch_size=32)
model.train(X, y, validation_data=(X_val, y_val), epochs=1, batch_size=64, print_every=100)
stats = cache_stats()

# the twin: the book's own Model with the saved parameters
import fastnn.reference as R
twin = R.Model()
twin.add(R.Layer_Dense(2, 64))
twin.add(R.Activation_ReLU())
twin.add(R.Layer_Dense(64, 3))
twin.add(R.Activation_Softmax())
twin.set(loss=R.Loss_CategoricalCrossentropy(), accuracy=R.Accuracy_Categorical())
twin.finalize()
twin.load_parameters(sys.argv[2])
want = twin.predict(X_val, batch_size=32)
print(json.dumps(dict(stats, planned=model._plan is not None,
                      max_diff=float(np.max(np.abs(probs - want))),
                      scale=float(np.max(np.abs(want))))))
"""


def _env():
    """This environment without anything that steers Numba or where it caches."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("NUMBA_") and k not in ("PYTHONPATH", "XDG_CACHE_HOME")}


def _child(code, *args):
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=_env(),
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"child failed (exit {p.returncode}):\n{p.stderr[-4000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_a_saved_model_loads_and_runs_in_a_fresh_process_without_compiling(tmp_path):
    model_file, params_file = str(tmp_path / "ch19.model"), str(tmp_path / "ch19.parms")
    saved = _child(SAVE, model_file, params_file)
    assert saved["planned"], "the saving model should run on the compiled path"
    loaded = _child(LOAD, model_file, params_file)
    assert loaded["planned"], "the loaded model should run on the compiled path"
    assert loaded["misses"] == {}, f"the fresh process compiled: {loaded['misses']}"
    # it did load its kernels from the cache (the check above is not vacuous)
    assert any(name.startswith("fastnn.kernels.train.") for name in loaded["hits"]), \
        loaded["hits"]
    # and the loaded model predicts what the twin predicts with the saved parameters
    assert loaded["max_diff"] <= 1e-12 * max(1.0, loaded["scale"]), loaded
    assert np.isfinite(loaded["max_diff"])
