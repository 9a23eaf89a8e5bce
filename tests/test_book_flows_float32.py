"""The book's ``Model`` flows in float32, after ``nnfs.init()`` (as readers run them).

``nnfs.init()`` patches NumPy for the whole process, so the flows of
``test_book_flows.py`` run in a subprocess: once on fastnn, once on the twin,
from the same seed.  float32 sums differ in their last bits between the two
(fastnn accumulates some in float64), so the printed lines are compared
number by number within the printed precision (one unit in the third
decimal), over the first epochs, and the parameters within float32 rounding.
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
    from test_book_flows import FLOWS
    out = {{}}
    for name, train in (("ch18-l2-dropout", dict(epochs=3, batch_size=100, print_every=1)),
                        ("binary", dict(epochs=3, batch_size=64, print_every=1)),
                        ("ch19-fashion-shaped", dict(epochs=1, batch_size=128, print_every=2))):
        for label, mod in (("fastnn", fastnn), ("twin", R)):
            np.random.seed(0)
            model, X, y = FLOWS[name](mod)
            model.finalize()
            compiled = getattr(model, "_plan", None) is not None
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                model.train(X, y, validation_data=(X, y), **train)
            params = [[w.tolist(), b.tolist(), str(w.dtype)] for w, b in model.get_parameters()]
            out[name + "/" + label] = dict(lines=buf.getvalue().splitlines(), params=params,
                                           compiled=compiled)
    print(json.dumps(out))
""")

@pytest.fixture(scope="module")
def runs():
    return run_json(CHILD.format(tests=os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("flow", ["ch18-l2-dropout", "binary", "ch19-fashion-shaped"])
def test_float32_flow_tracks_the_twin(runs, flow):
    fast, twin = runs[flow + "/fastnn"], runs[flow + "/twin"]
    # fastnn's Model compiled every flow (L2, dropout and the heads included)
    assert fast["compiled"]
    assert len(fast["lines"]) == len(twin["lines"]) > 5
    assert_lines_close(fast["lines"], twin["lines"], rtol=1e-6, atol=1.5e-3)
    for (fw, fb, fdt), (tw, tb, tdt) in zip(fast["params"], twin["params"]):
        assert fdt == tdt == "float32"
        np.testing.assert_allclose(fw, tw, rtol=2e-3, atol=2e-4)
        np.testing.assert_allclose(fb, tb, rtol=2e-3, atol=2e-4)
