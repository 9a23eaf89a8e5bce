"""Row-major GEMM on BLAS for the large dense layers.

Numba's own ``@`` cannot be used here: its implementation calls ``np.zeros``,
and a kernel compiled after ``nnfs.init()`` (which replaces ``np.zeros`` with
a Python wrapper) then fails to compile.  So the large-matrix path calls the
BLAS ``?gemm`` that Numba itself links against (SciPy's, through Numba's
helper library) directly; the call is by symbol name, so kernels using it are
still cached on disk.
"""
import numpy as np
from numba import types
from numba.np.linalg import ensure_blas

from ._jit import kernel

ensure_blas()  # binds SciPy's BLAS into Numba's helper library

_xxgemm = types.ExternalFunction("numba_xxgemm", types.intc(
    types.char, types.char, types.char,        # kind ('d'/'s'), transa, transb
    types.intp, types.intp, types.intp,        # m, n, k
    types.voidptr, types.voidptr, types.intp,  # alpha, a, lda
    types.voidptr, types.intp,                 # b, ldb
    types.voidptr, types.voidptr, types.intp,  # beta, c, ldc
))

_N, _T = ord("N"), ord("T")


@kernel
def gemm_blas(a, trans_a, b, trans_b, out, accumulate):
    """``out = op(a) @ op(b)`` (``+ out`` if ``accumulate``) for C-contiguous float arrays.

    ``op(x)`` is ``x.T`` when ``trans_x``.  BLAS is column-major, so the
    row-major product is computed as ``out.T = op(b).T @ op(a).T``.
    """
    m, n = out.shape
    k = a.shape[0] if trans_a else a.shape[1]
    scalars = np.empty(2, out.dtype)
    scalars[0] = 1.0
    scalars[1] = 1.0 if accumulate else 0.0
    kind = ord("d") if out.itemsize == 8 else ord("s")
    _xxgemm(kind, _T if trans_b else _N, _T if trans_a else _N, n, m, k,
            scalars[0:1].ctypes, b.ctypes, b.shape[1], a.ctypes, a.shape[1],
            scalars[1:2].ctypes, out.ctypes, n)
