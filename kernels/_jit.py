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
  unaffected): polynomial kernels such as ``vmath.exp_for`` run twice as fast
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
_FLOAT_TYPES = {np.dtype(t.name): t for t in (types.float64, types.float32)}
_LABEL_TYPES = {np.dtype(t.name): t for t in LABEL_DTYPES}


def sealed(dispatcher, kinds, ndim=2):
    """A twin of ``dispatcher`` that runs only on the arguments ``kinds`` spells.

    ``kinds`` has a letter per argument: ``"a"`` a float array, ``"f"`` a
    float scalar, ``"l"`` an integer label array.  The float arrays must be
    ``ndim``-D, C-contiguous, writeable, aligned and all float64 or all
    float32; labels 1-D uint8 or int64, C-contiguous and writeable.  Any other
    argument makes the call raise ``TypeError`` in Numba's C dispatcher instead
    of compiling a new specialisation, so the classes' fast paths can leave the
    dtype, layout and writeability checks to the dispatcher (far cheaper than
    the same checks in Python) and fall back to their general path on
    ``TypeError``.  Shapes are checked by the kernels themselves.

    Compilation is disabled, except that the first fitting call of each dtype
    (and label dtype) compiles, or loads from the cache, exactly that
    signature: a program that trains in float64 never compiles the float32
    variants (eager signatures doubled the cold compile time).
    """
    twin = njit(**dispatcher.fastnn_options)(dispatcher.py_func)
    # (disable_compile() insists on a compiled signature; this is what it sets)
    twin._can_compile = False
    search = twin._search_new_conversions

    # Numba's C dispatcher calls this back when no compiled signature matches
    # (True: look again).  Without the early exit for arrays no signature takes
    # it costs ~30 us a call (typeof of every argument), which the general
    # paths a mismatch leads to would pay on every call.
    def search_new_conversions(*args):
        sig = _signature_for(args, kinds, ndim)
        if sig is None:
            return False
        if sig not in twin.overloads:
            twin._can_compile = True
            try:
                twin.compile(sig)
            finally:
                twin._can_compile = False
        return search(*args)  # also installs scalar conversions (an int learning rate)

    twin._search_new_conversions = search_new_conversions
    twin._explain_matching_error = _no_matching_signature
    return twin


def _signature_for(args, kinds, ndim):
    """The sealed signature ``args`` fit, or None."""
    if len(args) != len(kinds):
        return None
    float_type = None
    label_type = None
    for a, kind in zip(args, kinds):
        if kind == _FLOAT:
            continue
        if not isinstance(a, np.ndarray):
            return None
        f = a.flags
        if not (f.c_contiguous and f.writeable and f.aligned):
            return None
        if kind == _ARRAY:
            t = _FLOAT_TYPES.get(a.dtype)
            if t is None or a.ndim != ndim or (float_type is not None and t != float_type):
                return None
            float_type = t
        else:
            label_type = _LABEL_TYPES.get(a.dtype)
            if label_type is None or a.ndim != 1:
                return None
    return tuple(types.float64 if kind == _FLOAT
                 else types.Array(float_type, ndim, "C") if kind == _ARRAY
                 else types.Array(label_type, 1, "C") for kind in kinds)


def _no_matching_signature(*args, **kws):
    raise TypeError("no sealed signature takes these arguments")
