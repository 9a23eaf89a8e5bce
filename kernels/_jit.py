"""The one place where kernel compilation options are chosen.

* ``cache=True``: a second process loads machine code from disk instead of
  recompiling.
* ``error_model="numpy"``: a float division by zero gives inf/NaN as in NumPy
  instead of raising ``ZeroDivisionError`` (and drops the check from loops).
* ``reductions=True`` turns on the fastmath flags that let LLVM vectorize a
  float reduction (reassociation, FMA contraction, no signed zeros) and
  nothing else: never plain ``fastmath=True``, whose nnan/ninf would break
  NaN and inf propagation.
* ``contract=True`` allows only FMA contraction (no reassociation, NaN and inf
  unaffected): polynomial kernels such as ``vmath.exp64`` run twice as fast
  and stay within 1 ulp.
"""
import numpy as np
from numba import njit, types

REDUCTION_FASTMATH = frozenset({"reassoc", "contract", "nsz"})


def kernel(fn=None, *, reductions=False, contract=False, parallel=False, inline="never"):
    """``@kernel`` / ``@kernel(reductions=True, ...)``: njit with the project's options."""
    options = dict(cache=True, error_model="numpy", parallel=parallel, inline=inline,
                   fastmath=(set(REDUCTION_FASTMATH) if reductions
                             else {"contract"} if contract else False))

    def wrap(f):
        dispatcher = njit(**options)(f)
        dispatcher.fastnn_options = options  # for sealed()
        return dispatcher

    return wrap(fn) if fn is not None else wrap


# argument kinds of sealed(): a float array (of the signature's dtype), a
# float64 scalar, and integer label arrays of the dtypes spiral_data and
# NumPy's default int give (uint8, int64)
_ARRAY = "a"
_FLOAT = "f"
_LABELS = "l"
LABEL_DTYPES = (types.uint8, types.int64)


def _signatures(kinds, ndim):
    sigs = []
    for dt in (types.float64, types.float32):
        label_choices = LABEL_DTYPES if _LABELS in kinds else (None,)
        for label_dt in label_choices:
            args = []
            for kind in kinds:
                if kind == _ARRAY:
                    args.append(types.Array(dt, ndim, "C"))
                elif kind == _FLOAT:
                    args.append(types.float64)
                else:
                    args.append(types.Array(label_dt, 1, "C"))
            sigs.append(tuple(args))
    return sigs


def sealed(dispatcher, kinds, ndim=2):
    """A twin of ``dispatcher`` compiled for exactly one signature per dtype and nothing else.

    ``kinds`` spells the arguments (``"a"`` float array, ``"f"`` float
    scalar, ``"l"`` labels).  The arrays are ``ndim``-D, C-contiguous,
    writeable and aligned, all float64 or all float32.  Any other argument
    makes the call raise ``TypeError`` in Numba's C dispatcher instead of
    compiling a new specialisation, so the classes' fast paths can leave the
    dtype, layout and writeability checks to the dispatcher (far cheaper than
    the same checks in Python) and fall back to their general path on
    ``TypeError``.  Shapes are checked by the kernels themselves.
    """
    twin = njit(_signatures(kinds, ndim), **dispatcher.fastnn_options)(dispatcher.py_func)
    # On a mismatch Numba's C dispatcher calls back into Python to look for
    # conversions and to word the error, at ~30 us a call (typeof of every
    # argument).  The general paths a mismatch leads to should not pay that
    # on every call, so arrays no signature takes fail at once; scalars
    # (an int learning rate) still get Numba's conversion search.
    search = twin._search_new_conversions

    def search_new_conversions(*args):
        return _arrays_fit(args, ndim) and search(*args)

    twin._search_new_conversions = search_new_conversions
    twin._explain_matching_error = _no_matching_signature
    return twin


_FLOAT_DTYPES = tuple(np.dtype(t.name) for t in (types.float64, types.float32))
_LABEL_NP_DTYPES = tuple(np.dtype(t.name) for t in LABEL_DTYPES)


def _arrays_fit(args, ndim):
    """Whether every array argument could match a sealed signature."""
    float_dtype = None
    for a in args:
        if not isinstance(a, np.ndarray):
            continue
        f = a.flags
        if not (f.c_contiguous and f.writeable and f.aligned):
            return False
        if a.dtype in _FLOAT_DTYPES:
            if a.ndim != ndim or (float_dtype is not None and a.dtype != float_dtype):
                return False
            float_dtype = a.dtype
        elif a.dtype not in _LABEL_NP_DTYPES or a.ndim != 1:
            return False
    return True


def _no_matching_signature(*args, **kws):
    raise TypeError("no sealed signature takes these arguments")
