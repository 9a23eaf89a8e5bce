"""The one place where kernel compilation options are chosen.

* Cached on disk: a second process loads machine code instead of recompiling
  (``_cache.KernelCache``: a directory that works on read-only installs,
  self-healing on corrupted files, dropped when any kernel source changes).
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
import numbers

import numpy as np
from numba import njit, types
from numba.core import config
from numba.core.compiler_lock import global_compiler_lock

from . import _cache

REDUCTION_FASTMATH = frozenset({"reassoc", "contract", "nsz"})


def kernel(fn=None, *, reductions=False, contract=False, parallel=False, inline="never"):
    """``@kernel`` / ``@kernel(reductions=True, ...)``: njit with the project's options."""
    options = dict(error_model="numpy", parallel=parallel, inline=inline,
                   fastmath=(set(REDUCTION_FASTMATH) if reductions
                             else {"contract"} if contract else False))

    def wrap(f):
        if config.DISABLE_JIT:  # (njit would give back the Python function)
            f = _PYTHON_STAND_INS.get(f"{f.__module__.rpartition('.')[2]}.{f.__qualname__}", f)
            f.fastnn_options = options
            return f
        dispatcher = _cache.enable(njit(**options)(f))
        dispatcher.fastnn_options = options  # for sealed()
        return dispatcher

    return wrap(fn) if fn is not None else wrap


# Under NUMBA_DISABLE_JIT (what one sets to step through kernels in a debugger)
# every kernel runs as its Python function, except these three, whose bodies
# exist only compiled: exp_for/log_for build floats from their IEEE bits with
# LLVM intrinsics, gemm_blas calls BLAS by symbol name.  Their stand-ins compute
# the same functions with NumPy (exp/log to rounding instead of within 1 ulp).
def _exp_py(x, single):
    return np.exp(np.float64(x))


def _log_py(x, single):
    return np.log(np.float64(x))


def _gemm_py(a, trans_a, b, trans_b, out, accumulate):
    product = np.matmul(a.T if trans_a else a, b.T if trans_b else b)
    if accumulate:
        out += product
    else:
        out[...] = product


_PYTHON_STAND_INS = {"vmath.exp_for": _exp_py, "vmath.log_for": _log_py,
                     "blas.gemm_blas": _gemm_py}


# argument kinds of sealed(): a float array (of the signature's dtype), a
# float64 array whatever the signature's dtype (the wider operand of a
# float32/float64 mix, e.g. chapter 17's float64 targets after nnfs.init()),
# a float64 scalar, and integer label arrays of the dtypes spiral_data and
# NumPy's default int give (uint8, int64)
_ARRAY = "a"
_WIDE = "w"
_FLOAT = "f"
_LABELS = "l"
_LABELS_ND = "L"  # labels shaped like the float arrays (ndim-D), e.g. chapter 16's (N, 1)
LABEL_DTYPES = (types.uint8, types.int64)
_FLOAT_TYPES = {np.dtype(t.name): t for t in (types.float64, types.float32)}
_LABEL_TYPES = {np.dtype(t.name): t for t in LABEL_DTYPES}
_F64 = np.dtype(np.float64)


def sealed(dispatcher, kinds, ndim=2):
    """A twin of ``dispatcher`` that runs only on the arguments ``kinds`` spells.

    ``kinds`` has a letter per argument: ``"a"`` a float array, ``"w"`` a
    float64 array, ``"f"`` a float scalar, ``"l"`` an integer label array,
    ``"L"`` one with ``ndim`` dimensions.  The float arrays must be ``ndim``-D,
    C-contiguous, writeable and aligned, the ``"a"`` ones all float64 or all
    float32 (the ``"w"`` ones float64 either way: a float32/float64 mix);
    labels 1-D (``"L"``: ``ndim``-D) uint8 or int64, C-contiguous and
    writeable.  Any other
    argument makes the call raise ``TypeError`` in Numba's C dispatcher instead
    of compiling a new specialisation, so the classes' fast paths can leave the
    dtype, layout and writeability checks to the dispatcher (far cheaper than
    the same checks in Python) and fall back to their general path on
    ``TypeError``.  Shapes are checked by the kernels themselves.

    Compilation is disabled, except that the first fitting call of each dtype
    (and label dtype) compiles, or loads from the cache, exactly that
    signature: a program that trains in float64 never compiles the float32
    variants (eager signatures doubled the cold compile time).

    Under ``NUMBA_DISABLE_JIT=1`` the twin is a Python function that makes the
    same checks (raising the same ``TypeError``) and calls the kernel's Python
    function.
    """
    if not hasattr(dispatcher, "py_func"):  # NUMBA_DISABLE_JIT: a plain function
        return _sealed_python(dispatcher, kinds, ndim)
    # Not cached on disk itself: it never compiles, it is handed what the public
    # kernel compiled or loaded.
    twin = njit(**dispatcher.fastnn_options)(dispatcher.py_func)
    # (disable_compile() insists on a compiled signature; this is what it sets)
    # The flag is never turned on again: flipping it around a compile let a
    # second thread calling meanwhile compile arbitrary signatures, or find it
    # turned off again and die with "compilation disabled".
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
        # Compile on the public kernel (compilation enabled; it is thread-safe
        # and finds a signature another thread compiled) and hand the result to
        # the twin.  Numba's compiler lock is re-entrant and compile() takes it
        # too; holding it across the test and the hand-over makes a second
        # thread with the same signature wait here, then find it in the twin.
        with global_compiler_lock:
            if sig not in twin.overloads:
                dispatcher.compile(sig)
                twin.add_overload(dispatcher.overloads[sig])
        return search(*args)  # also installs scalar conversions (an int learning rate)

    twin._search_new_conversions = search_new_conversions
    twin._explain_matching_error = _no_matching_signature
    return twin


def _sealed_python(fn, kinds, ndim):
    """sealed() without Numba: the same argument checks, then the Python kernel."""
    def sealed_call(*args):
        if _signature_for(args, kinds, ndim) is None or not all(
                isinstance(a, numbers.Real) for a, k in zip(args, kinds) if k == _FLOAT):
            _no_matching_signature()
        return fn(*args)

    sealed_call.__name__ = sealed_call.__qualname__ = fn.__name__
    sealed_call.__doc__ = fn.__doc__
    return sealed_call


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
        elif kind == _WIDE:
            if a.dtype != _F64 or a.ndim != ndim:
                return None
        else:
            label_type = _LABEL_TYPES.get(a.dtype)
            if label_type is None or a.ndim != (ndim if kind == _LABELS_ND else 1):
                return None
    if float_type is None:  # only "w" arrays: their dtype is the signature's
        float_type = types.float64
    return tuple(types.float64 if kind == _FLOAT
                 else types.Array(float_type, ndim, "C") if kind == _ARRAY
                 else types.Array(types.float64, ndim, "C") if kind == _WIDE
                 else types.Array(label_type, ndim if kind == _LABELS_ND else 1, "C")
                 for kind in kinds)


def _no_matching_signature(*args, **kws):
    raise TypeError("no sealed signature takes these arguments")
