"""Kernel results are a pure function of their inputs: not of where the arrays lie.

fastnn's per-op classes and ``Model`` call the same kernels on arrays at
different addresses, and are tested against each other bit for bit, so a
kernel whose last bits depend on addresses makes that test flaky.  Kernels
compiled with ``reductions=True`` let LLVM reorder a sum; the order is then
fixed by the vectorized loop's shape (a function of the sizes) -- unless the
loop also stores, when LLVM guards the vector loop with a run-time check that
the stored and loaded memory do not overlap and falls back to the scalar loop,
which sums in another order.  With Numba's signed indexing that check compared
ranges twice as long as the arrays, so ``_backward_k2`` (the 2->64 layer's
backward) gave ``dinputs`` differing in the last bits whenever its scratch
memory happened to lie within one ``dvalues`` past the end of ``dvalues``.

Checked here:
* the kernels that allocate scratch memory, with that memory placed at every
  distance past each input (a twin of the kernel that takes the scratch arrays
  as arguments, built from its source, compiled with its options, and checked
  to give the kernel's results);
* every dense and loss kernel with its inputs at every 4/8-byte offset from a
  64-byte boundary and its outputs right after, or at any distance past, each
  input;
* the parallel optimizer kernels and the dense kernels under 1 and 2 Numba
  threads (subprocesses).
"""
import inspect
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit

from fastnn.kernels import dense as D
from fastnn.kernels import dense_small as DS
from fastnn.kernels.regularization import NO_REGULARIZATION as NO_REG
from fastnn.kernels import losses as L

DTYPES = [np.float64, np.float32]


# ------------------------------------------------- scratch memory of the kernels

def scratch_twin(dispatcher):
    """``dispatcher``'s function with every ``name = np.empty(...)`` turned into a
    trailing parameter ``name``, compiled with the kernel's own options (uncached)."""
    src = textwrap.dedent(inspect.getsource(dispatcher.py_func))
    scratch = re.findall(r"^\s+(\w+) = np\.empty\(", src, re.M)
    assert scratch, f"{dispatcher.__name__} allocates no scratch arrays"
    src = re.sub(r"^\s+\w+ = np\.empty\(.*\n", "", src, flags=re.M)
    src = re.sub(r"^@.*\n", "", src, flags=re.M)
    src = re.sub(r"^def (\w+)\((.*?)\):",
                 lambda m: f"def twin({' '.join(m.group(2).split())}, {', '.join(scratch)}):",
                 src, count=1, flags=re.M | re.S)
    namespace = dict(dispatcher.py_func.__globals__)
    exec(compile(src, f"<twin of {dispatcher.__name__}>", "exec"), namespace)
    options = dict(dispatcher.fastnn_options, cache=False)
    return njit(**options)(namespace["twin"]), len(scratch)


def _k2_inputs(dt, m, n):
    rng = np.random.default_rng(m * 7 + n)
    return (rng.standard_normal((m, 2)).astype(dt), rng.standard_normal((2, n)).astype(dt),
            rng.standard_normal((m, n)).astype(dt))


@pytest.mark.parametrize("m", [23, 300])
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
def test_backward_k2_does_not_depend_on_where_its_scratch_lies(dt, m):
    n = 64
    twin, n_scratch = scratch_twin(DS.backward_k2)
    x, w, d = _k2_inputs(dt, m, n)
    b = np.zeros((1, n), dt)

    def run(gap, want=True):
        # dvalues, then its scratch arrays `gap` elements past its end
        buf = np.zeros(m * n + gap + n_scratch * n + 16, dt)
        dv = buf[:m * n].reshape(m, n)
        dv[...] = d
        start = m * n + gap
        scratch = [buf[start + q * n: start + (q + 1) * n] for q in range(n_scratch)]
        out = np.zeros((2, n), dt), np.zeros((1, n), dt), np.zeros((m, 2), dt)
        twin(x, w, dv, *out, want, b, NO_REG, *scratch)
        return [a.tobytes() for a in out]

    far = run(4 * m * n)
    # the twin is the kernel: the same bits as the kernel itself
    out = np.zeros((2, n), dt), np.zeros((1, n), dt), np.zeros((m, 2), dt)
    DS.backward_k2(x, w, d, *out, True, b, NO_REG)
    assert [a.tobytes() for a in out] == far
    for gap in range(0, 2 * m * n + 2 * n, max(1, m * n // 64)):
        got = run(gap)
        changed = [name for name, g, f in zip(("dweights", "dbiases", "dinputs"), got, far)
                   if g != f]
        assert not changed, f"scratch {gap} elements past dvalues changed {changed}"


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
def test_backward_n3_does_not_depend_on_where_its_scratch_lies(dt, masked):
    m, k = 37, 64
    twin, n_scratch = scratch_twin(DS.backward_n3)
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((m, k)), 0).astype(dt)
    w, d = rng.standard_normal((k, 3)).astype(dt), rng.standard_normal((m, 3)).astype(dt)
    results = set()
    for first in ("x", "d"):
        for gap in range(0, 2 * m * k, 41):
            src = x if first == "x" else d
            buf = np.zeros(src.size + gap + n_scratch * k + 16, dt)
            head = buf[:src.size].reshape(src.shape)
            head[...] = src
            start = src.size + gap
            scratch = [buf[start + q * k: start + (q + 1) * k] for q in range(n_scratch)]
            xv, dv = (head, d) if first == "x" else (x, head)
            out = np.zeros((k, 3), dt), np.zeros((1, 3), dt), np.zeros((m, k), dt)
            twin(xv, w, dv, *out, True, masked, xv, np.zeros((1, 3), dt), NO_REG, *scratch)
            results.add(b"".join(a.tobytes() for a in out))
    assert len(results) == 1


# ------------------------------------------------------ user arrays: offsets, gaps

def _layout(arrays, order, gap, offset):
    """Copies of ``arrays`` one after another in one buffer, the first ``offset``
    bytes past a 64-byte boundary and ``gap`` elements apart."""
    dt = arrays[order[0]].dtype
    size = sum(arrays[n].size for n in order) + gap * len(order) + 64
    raw = np.empty(size * dt.itemsize + 128, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    buf = raw[start: start + size * dt.itemsize].view(dt)
    out, pos = {}, 0
    for name in order:
        a = arrays[name]
        view = buf[pos: pos + a.size].reshape(a.shape)
        view[...] = a
        out[name] = view
        pos += a.size + gap
    return out, raw


def _dense(kind):
    def run(a):
        if kind.startswith("forward"):
            D.dense_forward_act(a["x"], a["w"], a["b"], a["out"], kind == "forward+relu")
            return {"out": a["out"]}
        want, masked = {"backward": (True, False), "backward+mask": (True, True),
                        "backward-no-dinputs": (False, False)}[kind]
        D.dense_backward_into(a["x"], a["w"], a["d"], a["dw"], a["db"], a["di"], want, masked,
                              a["x"])
        return {k: a[k] for k in (("dw", "db", "di") if want else ("dw", "db"))}
    return run


def _loss(a):
    loss, _ = L.softmax_cce_sparse_forward(a["x"], a["labels"], a["out"])
    L.softmax_cce_sparse_backward(a["out"], a["labels"], a["di"])
    return {"loss": np.array(loss), "out": a["out"], "di": a["di"]}


CASES = []
for _shape in [(300, 2, 64), (300, 64, 3), (23, 2, 64), (21, 3, 64), (37, 64, 3), (33, 64, 64),
               (200, 64, 1), (23, 5, 1)]:
    for _kind in ("forward", "forward+relu", "backward", "backward+mask", "backward-no-dinputs"):
        CASES.append((_kind, _shape))
CASES += [("loss", (300, 3, 3)), ("loss", (37, 10, 10))]


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kind,shape", CASES, ids=[f"{k}-{'x'.join(map(str, s))}" for k, s in CASES])
def test_kernels_do_not_depend_on_offsets_or_neighbours(kind, shape, dt):
    m, k, n = shape
    rng = np.random.default_rng(sum(shape))
    if kind == "loss":
        arrays = dict(x=rng.standard_normal((m, k)).astype(dt), out=np.zeros((m, k), dt),
                      di=np.zeros((m, k), dt))
        ins, outs, fn = ["x"], ["out", "di"], _loss
    else:
        arrays = dict(x=rng.standard_normal((m, k)).astype(dt), w=rng.standard_normal((k, n)).astype(dt),
                      b=rng.standard_normal((1, n)).astype(dt), d=rng.standard_normal((m, n)).astype(dt),
                      out=np.zeros((m, n), dt), dw=np.zeros((k, n), dt), db=np.zeros((1, n), dt),
                      di=np.zeros((m, k), dt))
        if kind.startswith("forward"):
            ins, outs = ["x", "w", "b"], ["out"]
        else:
            ins, outs = ["x", "w", "d"], ["dw", "db", "di"]
        fn = _dense(kind)
    names = ins + outs
    labels = rng.integers(0, k, m)

    def run(order, gap, offset):
        placed, keep = _layout(arrays, order, gap, offset)
        placed["labels"] = labels
        return {key: v.tobytes() for key, v in fn(placed).items()}

    ref = run(names, 100_000, 0)
    for offset in range(0, 64, dt().itemsize):
        assert run(names, 0, offset) == ref, f"inputs {offset} bytes past a 64-byte boundary"
    for i in ins:
        for o in outs:
            order = [i, o] + [x for x in names if x not in (i, o)]
            size = arrays[i].size
            for gap in sorted({0, 1, size // 2, size - 1, size, size + 1, 2 * size}):
                assert run(order, gap, 0) == ref, f"{o} {gap} elements past {i}"


# ------------------------------------------------------------------- thread counts

CHILD = textwrap.dedent("""
    import hashlib, numpy as np
    from fastnn.kernels import dense as D, optimizers as O
    h = hashlib.sha256()
    rng = np.random.default_rng(0)
    for dt in (np.float64, np.float32):
        w = rng.standard_normal((1024, 512)).astype(dt)
        g = rng.standard_normal(w.shape).astype(dt)
        m, c = np.zeros_like(w), np.zeros_like(w)
        b, gb = np.zeros((1, 512), dt), rng.standard_normal((1, 512)).astype(dt)
        mb, cb = np.zeros_like(b), np.zeros_like(b)
        for t in range(3):
            O.adam_update(w, g, m, c, b, gb, mb, cb, 0.01, 0.9, 0.999, 1e-7,
                          1 - 0.9 ** (t + 1), 1 - 0.999 ** (t + 1))
        h.update(w.tobytes() + m.tobytes() + c.tobytes() + b.tobytes())
        x = rng.standard_normal((300, 2)).astype(dt)
        w1, b1 = rng.standard_normal((2, 64)).astype(dt), rng.standard_normal((1, 64)).astype(dt)
        o = np.empty((300, 64), dt)
        D.dense_forward_act(x, w1, b1, o, True)
        dw, db, di = np.empty((2, 64), dt), np.empty((1, 64), dt), np.empty((300, 2), dt)
        D.dense_backward_into(x, w1, o, dw, db, di, True, False, x)
        h.update(o.tobytes() + dw.tobytes() + db.tobytes() + di.tobytes())
    print(h.hexdigest())
""")


def test_numba_thread_count_does_not_change_bits():
    digests = {}
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests[threads] = proc.stdout.strip()
    assert digests["1"] == digests["2"], digests
