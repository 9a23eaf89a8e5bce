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
from numba import njit

REDUCTION_FASTMATH = frozenset({"reassoc", "contract", "nsz"})


def kernel(fn=None, *, reductions=False, contract=False, parallel=False, inline="never"):
    """``@kernel`` / ``@kernel(reductions=True, ...)``: njit with the project's options."""
    options = dict(cache=True, error_model="numpy", parallel=parallel, inline=inline,
                   fastmath=(set(REDUCTION_FASTMATH) if reductions
                             else {"contract"} if contract else False))

    def wrap(f):
        return njit(**options)(f)

    return wrap(fn) if fn is not None else wrap
