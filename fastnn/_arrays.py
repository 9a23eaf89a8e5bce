"""Input checking and conversion shared by the classes.

The kernels take C-contiguous float32/float64 arrays of one dtype and do no
bounds checks, so everything a user hands in passes through here first.  The
hot paths in the classes test the common case inline (same dtype, contiguous,
right shapes) and only fall back to these helpers when something differs.

The optimizers' hyper-parameters are checked here too (``check_hyper``, the
one definition of what the per-op optimizers and ``Model`` accept), and so
are their in-place updates of parameters and state (``update_arrays``).
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
    if nnfs_dot():
        return F32
    return np.result_type(*arrays)


def nnfs_dot():
    """Whether ``np.dot`` is ``nnfs.init()``'s wrapper (float64 arithmetic, float32 result)."""
    return getattr(np.dot, "__module__", None) == "nnfs.core"


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


# ------------------------------------------------------------ hyper-parameters

def real_number(value, what):
    """``value`` as a Python float, if it is a real scalar; else a clear TypeError.

    Accepted: Python bool, int and float; NumPy bool, integer and floating
    scalars of at most 64 bits; 0-d arrays of those dtypes.  These are the
    values NumPy casts to float64 under its "safe" rule (bool is a 0/1 number
    to NumPy's casting, as to Python), and (0-d arrays aside) the scalars the
    sealed kernels' dispatcher converts to float64 itself, so the fast and
    general paths accept the same values.  NaN and inf are numbers: they propagate into the
    update as in the reference.

    Refused (TypeError naming ``what`` and the value): strings, None, complex
    numbers, extended precision (``np.longdouble``: fastnn computes in float64
    at most), other objects (``Fraction``, ``Decimal``), and arrays with one or
    more dimensions, even of one element: the reference would broadcast such
    an array into the update (and turn ``current_learning_rate`` into an
    array); fastnn asks for the scalar (``float(x)``).  A Python int too large
    for a float64 raises ValueError.
    """
    t = type(value)
    if t is float:
        return value
    if t is int or t is bool:
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"{what} = {value!r} is too large for a float64") from None
    if isinstance(value, (np.generic, np.ndarray)):
        dt = value.dtype
        if isinstance(value, np.ndarray) and value.ndim:
            raise TypeError(f"{what} must be a scalar, got an array of shape {value.shape} "
                            f"({value!r}); pass its value, e.g. float(x.item())")
        if dt.kind in "biuf" and np.can_cast(dt, F64, "safe"):
            return float(value)
        raise TypeError(f"{what} must be a real number that fits a float64, got "
                        f"{value!r} (dtype {dt})")
    raise TypeError(f"{what} must be a real number (a Python or NumPy int or float), "
                    f"got {value!r} ({t.__name__})")


def check_hyper(opt, names=None):
    """The hyper-parameters ``opt``'s next step reads, checked: ``{name: float}``.

    The one definition of what a fastnn optimizer accepts, for the per-op
    hooks and ``Model.train`` alike.  Names are the book's spelling
    (``learning_rate``, ``current_learning_rate``, ``decay``, ``iterations``,
    then the optimizer's own ``HYPER_PARAMETERS``: ``momentum``; ``epsilon``;
    ``epsilon, rho``; ``epsilon, beta_1, beta_2``); either spelling's
    attribute holds the value.  ``names=None`` checks what the next full step
    (pre_update_params, update_params, post_update_params) reads, exactly as
    the reference reads it: ``decay``, ``iterations`` and the optimizer's own
    values always, and ``learning_rate`` when decay is non-zero, else
    ``current_learning_rate`` (the other one is left unread, as by the
    reference, and is not in the result).

    Each value must be a real number as ``real_number`` defines it (raises
    TypeError, or ValueError, naming the attribute and the value); the result
    holds each as a Python float (``iterations`` too: the reference's
    arithmetic takes any real count).  Nothing is written.
    """
    cls = type(opt).__name__
    if names is None:
        decay = real_number(opt.decay, f"{cls}.decay")
        names = (("decay", "learning_rate") if decay else ("decay", "current_learning_rate")) \
            + ("iterations",) + tuple(type(opt).HYPER_PARAMETERS)
    return {name: real_number(getattr(opt, name), f"{cls}.{name}") for name in names}


# ----------------------------------------------- results an array cannot hold

def _numpy_output_casting_error():
    """NumPy's own class for "Cannot cast ufunc 'add' output ..." (private, so found by asking)."""
    try:
        np.add(np.empty(0, F64), 1.0, out=np.empty(0, np.int64))
    except TypeError as exc:
        return type(exc)
    return TypeError  # (NumPy always refuses this cast)


class UpdateCastingError(_numpy_output_casting_error()):
    """An in-place update whose result the array's dtype cannot hold.

    The reference's ``layer.weights += update`` raises NumPy's
    ``UFuncTypeError`` ("Cannot cast ufunc 'add' output from dtype('float64')
    to dtype('int64') with casting rule 'same_kind'"); this is a subclass of
    that very class (and so of TypeError), with the array named.  Only the
    attributes NumPy's class reads are set, not its private constructor.
    """

    def __init__(self, what, from_, to):
        from_, to = np.dtype(from_), np.dtype(to)
        TypeError.__init__(self, what, from_, to)
        self.ufunc, self.casting, self.out_i = np.add, "same_kind", 0
        self.from_, self.to, self.what = from_, to, what

    def __str__(self):
        return (f"{self.what} has dtype {self.to}, which cannot hold the {self.from_} update "
                f"the optimizer adds to it in place (Cannot cast ufunc 'add' output from "
                f"{self.from_!r} to {self.to!r} with casting rule 'same_kind', as the "
                f"reference's `+=` raises); use float parameters")


def require_castable(update_dtype, array, what):
    """Raise UpdateCastingError unless ``array`` can take an update of ``update_dtype``
    in place under NumPy's ``same_kind`` rule (the rule of the reference's ``+=``)."""
    if not np.can_cast(update_dtype, array.dtype, "same_kind"):
        raise UpdateCastingError(what, update_dtype, array.dtype)


def update_arrays(layer, weight_state, bias_state, update_dtypes):
    """A layer's parameters, gradients and named optimizer state, checked for the kernels.

    The general path of an optimizer's ``update_params`` (its sealed kernel refused the
    arrays as they are).  Returns the argument list for a kernel (weights,
    dweights, weight state..., biases, dbiases, bias state...).  Raises before
    anything is created or written when shapes, gradients, writeability or
    dtypes are wrong, and creates missing state (zeros, like the reference's
    ``np.zeros_like``) only once everything else checked out.

    ``update_dtypes(param, grad, state_dtypes)`` gives the dtypes NumPy would
    give the values the reference stores into the parameter and each state
    array; each array must hold its own under NumPy's ``same_kind`` rule (an
    integer parameter cannot take a float update: UpdateCastingError, NumPy's
    own error class, never a silent truncation).
    """
    try:
        w, b = layer.weights, layer.biases
    except AttributeError:
        raise TypeError(f"{type(layer).__name__} has no weights/biases to update") from None
    try:
        dw, db = layer.dweights, layer.dbiases
    except AttributeError:
        raise ValueError("update_params called before backward: the layer has no "
                         "dweights/dbiases yet") from None
    if not isinstance(w, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"layer.weights and layer.biases must be NumPy arrays, got "
                        f"{type(w).__name__} and {type(b).__name__}")
    ws = [getattr(layer, name, None) for name in weight_state]
    bs = [getattr(layer, name, None) for name in bias_state]

    # say exactly what is wrong, then create any missing state
    for name, a in (("weights", w), ("biases", b)) + tuple(
            zip(weight_state + bias_state, ws + bs)):
        if a is not None and not isinstance(a, np.ndarray):
            raise TypeError(f"layer.{name} must be a NumPy array, got {type(a).__name__}")
    dw, db = np.asarray(dw), np.asarray(db)
    for name, param, grad in (("weights", w, dw), ("biases", b, db)):
        if grad.shape != param.shape:
            raise ValueError(f"d{name} has shape {grad.shape} but {name} have shape "
                             f"{param.shape}")
        require_writeable(param, name)
    # As the reference: if the optimizer's marker state (`weight_cache`, or
    # `weight_momentums` for SGD) is missing, all its state starts from zeros,
    # even arrays another optimizer left on the layer.
    fresh = not weight_state or ws[-1] is None
    if fresh:
        ws, bs = [None] * len(ws), [None] * len(bs)
    for names, states, param in ((weight_state, ws, w), (bias_state, bs, b)):
        for name, state in zip(names, states):
            if state is None:
                continue
            if np.shape(state) != param.shape:
                raise ValueError(f"{name} has shape {np.shape(state)} but the parameter it "
                                 f"belongs to has shape {param.shape}")
            require_writeable(state, name)
    result_dtype("optimizer update", w, dw, b, db)
    for pname, names, states, param, grad in (("weights", weight_state, ws, w, dw),
                                              ("biases", bias_state, bs, b, db)):
        # fresh state is zeros_like(param): the parameter's dtype
        held = [param.dtype if a is None else a.dtype for a in states]
        for arr, name, dt in zip([param] + [param if a is None else a for a in states],
                                 (pname,) + names, update_dtypes(param.dtype, grad.dtype, held)):
            require_castable(dt, arr, f"layer.{name}")
    for names, states, param in ((weight_state, ws, w), (bias_state, bs, b)):
        for k, name in enumerate(names):
            if states[k] is None:
                states[k] = np.zeros_like(param)
                setattr(layer, name, states[k])
    return [w, dw, *ws, b, db, *bs]
