"""Input checking and conversion shared by the classes.

The kernels take C-contiguous float32/float64 arrays of one dtype and do no
bounds checks, so everything a user hands in passes through here first.  The
hot paths in the classes test the common case inline (same dtype, contiguous,
right shapes) and only fall back to these helpers when something differs.
"""
import numpy as np

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
KERNEL_DTYPES = (F32, F64)


def as_array(a, what):
    """``np.asarray`` with a clear error for things NumPy cannot make numeric."""
    if type(a) is np.ndarray:
        return a
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what} could not be converted to an array: {exc}") from None
    return arr


def result_dtype(what, *arrays):
    """The dtype NumPy's arithmetic would give, if fastnn can compute in it.

    Integer and boolean inputs promote as in NumPy (to float64 next to a
    float64 array).  float16 results are computed in float32 and rounded back
    by the caller.  Complex, object and extended precision are refused rather
    than silently truncated.
    """
    try:
        dt = np.result_type(*arrays)
    except TypeError as exc:
        raise TypeError(f"{what}: unsupported dtypes {[getattr(a, 'dtype', type(a)) for a in arrays]}: {exc}") from None
    if dt == F64 or dt == F32:
        return dt
    if dt.kind in "biu":
        return F64
    if dt == np.float16:
        return np.dtype(np.float16)
    raise TypeError(
        f"{what}: fastnn computes in float32 or float64, got dtype {dt} "
        f"(from {', '.join(str(a.dtype) for a in arrays)})")


def dot_dtype(*arrays):
    """The dtype of ``np.dot`` on these arrays, as the reference's layer computes it.

    ``nnfs.init()`` replaces ``np.dot`` with a wrapper that computes in float64
    and returns float32, whatever the inputs.
    """
    if getattr(np.dot, "__module__", None) == "nnfs.core":
        return F32
    return np.result_type(*arrays)


def compute_dtype(dt):
    """The kernel dtype used to compute a result of dtype ``dt``."""
    return F32 if dt == np.float16 else dt


def kernel_array(a, dt):
    """``a`` as a C-contiguous array of ``dt`` (no copy when it already is one)."""
    return np.ascontiguousarray(a, dtype=dt)


def require_2d(a, what):
    if a.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (samples, features), got shape {a.shape}")


def require_writeable(a, what):
    if not a.flags.writeable:
        raise ValueError(f"{what} is read-only (shape {a.shape}); fastnn updates it in place, "
                         "as the reference's `+=` does")


def check_labels(y, n_samples, n_classes, what):
    """Validate the form of class labels; return them as an array.

    Sparse labels (shape (N,)) must be integers; whether each lies in
    [0, n_classes) is checked by the kernels themselves in a first pass
    before they write anything (see ``label_error``), which costs far less
    than NumPy's min/max here.  Dense labels must be (N, C).
    """
    y = as_array(y, what)
    if y.ndim == 1:
        if y.shape[0] != n_samples:
            raise ValueError(f"{what} has {y.shape[0]} labels but the predictions have "
                             f"{n_samples} samples (shape {(n_samples, n_classes)})")
        if y.dtype.kind not in "iu":
            raise TypeError(f"{what} must hold integer class indices, got dtype {y.dtype}")
        return y if y.flags.c_contiguous else np.ascontiguousarray(y)
    if y.ndim == 2:
        if y.shape != (n_samples, n_classes):
            raise ValueError(f"{what} one-hot labels have shape {y.shape}, expected "
                             f"{(n_samples, n_classes)} to match the predictions")
        return y
    raise ValueError(f"{what} must be class indices of shape ({n_samples},) or one-hot rows of "
                     f"shape {(n_samples, n_classes)}, got shape {y.shape}")


class LabelError(ValueError, IndexError):
    """A class index outside [0, n_classes).

    An IndexError, as the reference's fancy indexing raises, and a ValueError,
    as for every other bad input.
    """


def label_error(y, bad, n_classes, what):
    """The error for a kernel's report that label ``y[bad]`` is out of range."""
    return LabelError(f"{what} has a class index out of range [0, {n_classes}): "
                      f"y[{bad}] = {y[bad]} (labels shape {y.shape})")
