"""The compiled ``Model`` with dropout in float32, after ``nnfs.init()`` (as readers run it).

``nnfs.init()`` patches NumPy for the whole process, so this runs in a
subprocess: the dropout model of ``test_model_dropout.py`` (the chapter-18
spiral model without L2) on fastnn -- the compiled loop, the general path made
to fail -- and on the twin, from the same seed.  In float32 the twin's dropout
output and input gradient are float64 (a float64 mask times float32 values)
while the compiled loop stores them in the model's float32 workspace, and
fastnn accumulates some sums in float64: the printed numbers are compared
within the printed precision (one unit in the third decimal) and the
parameters within float32 rounding, as ``test_book_flows_float32.py`` does.
The masks are the same bits and the generator ends in the same state: the
next draw is the same number.
"""
import os
import textwrap

import numpy as np
import pytest

from _book_models import assert_lines_close
from _child import run_json

CHILD = textwrap.dedent("""
    import contextlib, io, json, sys
    import numpy as np
    import nnfs
    nnfs.init()
    sys.path.insert(0, {tests!r})
    import fastnn, fastnn.reference as R
    from fastnn import book_loop
    from test_model_dropout import dropout_model

    def refuse(*args, **kwargs):
        raise AssertionError("the general path ran; the compiled loop should have")

    book_loop.train = refuse
    out = {{}}
    for name, train in (("batches", dict(epochs=4, batch_size=64, print_every=2)),
                        ("full-batch", dict(epochs=30, print_every=10)),
                        ("full-batch-lines", dict(epochs=20, batch_size=300, print_every=5))):
        for label, mod in (("fastnn", fastnn), ("twin", R)):
            np.random.seed(0)
            model, X, y = dropout_model(mod)
            if mod is fastnn:
                assert model._plan is not None and len(model._plan.dropout) == 1
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                model.train(X, y, validation_data=(X, y), **train)
            params = [[w.tolist(), b.tolist(), str(w.dtype)] for w, b in model.get_parameters()]
            out[name + "/" + label] = dict(lines=buf.getvalue().splitlines(), params=params,
                                           next=float(np.random.random()))
    print(json.dumps(out))
""")

@pytest.fixture(scope="module")
def runs():
    return run_json(CHILD.format(tests=os.path.dirname(os.path.abspath(__file__))))


def _close_lines(fast, twin):
    assert len(fast) == len(twin) > 0
    assert_lines_close(fast, twin, rtol=1e-6, atol=1.5e-3)


@pytest.mark.parametrize("flow", ["batches", "full-batch", "full-batch-lines"])
def test_float32_dropout_model_tracks_the_twin(runs, flow):
    fast, twin = runs[flow + "/fastnn"], runs[flow + "/twin"]
    if flow == "full-batch":
        # fastnn prints chapter 18's epoch line, the twin chapter 19's: compare
        # the final validation line
        assert fast["lines"][-1].startswith("validation")
        _close_lines(fast["lines"][-1:], twin["lines"][-1:])
    else:
        _close_lines(fast["lines"], twin["lines"])
    for (fw, fb, fdt), (tw, tb, tdt) in zip(fast["params"], twin["params"]):
        assert fdt == tdt == "float32"
        np.testing.assert_allclose(fw, tw, rtol=2e-3, atol=2e-4)
        np.testing.assert_allclose(fb, tb, rtol=2e-3, atol=2e-4)
    assert fast["next"] == twin["next"]  # the generator ends in the same state
