"""Parameters and whole models on disk, in the book's formats (chapters 21-22).

* A parameters file is what the book's ``Model.save_parameters`` writes: a
  pickle of a list with one ``(weights, biases)`` tuple of NumPy arrays per
  trainable layer.  It holds nothing of fastnn or the book's classes, so a
  file written by the book's code loads into a fastnn ``Model`` and the other
  way round.
* A model file is the book's ``Model.save``: a pickle of the model object
  without its last batch's arrays.  It names the classes it was made of, so
  a fastnn model file loads where fastnn is installed (the book's own files
  name the book script's classes).  fastnn's compiled plan and workspace are
  not saved; they are rebuilt on first use.

Loading checks everything before it changes anything: a file of another
architecture, of the wrong dtype or that is not a parameters file at all
raises a clear error and leaves the model as it was.
"""
import copy
import pickle

import numpy as np

__all__ = ["get_parameters", "set_parameters", "save_parameters", "load_parameters",
           "save_model", "load_model", "TRANSIENT"]

# per-batch arrays the book's Model.save drops before pickling
TRANSIENT = ("inputs", "output", "dinputs", "dweights", "dbiases")


def get_parameters(layers):
    """The book's ``Model.get_parameters``: ``[(weights, biases), ...]``."""
    return [(layer.weights, layer.biases) for layer in layers]


def _checked(parameters, layers, source):
    """``parameters`` as a list of (weights, biases) arrays that fit ``layers``."""
    if not isinstance(parameters, (list, tuple)):
        raise ValueError(f"{source} is not a list of (weights, biases) pairs "
                         f"(got {type(parameters).__name__})")
    if len(parameters) != len(layers):
        raise ValueError(f"{source} holds parameters for {len(parameters)} trainable layers, "
                         f"but the model has {len(layers)}")
    checked = []
    for k, (pair, layer) in enumerate(zip(parameters, layers)):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"{source}: entry {k} is not a (weights, biases) pair")
        for name, new, old in (("weights", pair[0], layer.weights),
                               ("biases", pair[1], layer.biases)):
            if not isinstance(new, np.ndarray) or new.dtype.kind not in "biuf":
                raise TypeError(f"{source}: layer {k} {name} is not a numeric array "
                                f"(got {type(new).__name__})")
            if new.shape != np.shape(old):
                raise ValueError(f"{source}: layer {k} {name} have shape {new.shape}, but the "
                                 f"model's layer {k} has {name} of shape {np.shape(old)} "
                                 f"(another architecture?)")
        checked.append(pair)
    return checked


def set_parameters(layers, parameters, source="parameters"):
    """The book's ``Model.set_parameters`` (each layer's ``set_parameters``:
    new arrays, as the book assigns them), after checking every pair fits."""
    for layer, (weights, biases) in zip(layers, _checked(parameters, layers, source)):
        layer.weights = weights
        layer.biases = biases


def save_parameters(layers, path):
    with open(path, "wb") as f:
        pickle.dump(get_parameters(layers), f)


def _unpickle(path, what):
    """The object pickled in ``path``; a ValueError naming ``what`` it should
    have been when the file is no pickle (truncated, corrupt, another format)."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
            ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not {what}: {type(exc).__name__}: {exc}") from None


def load_parameters(layers, path):
    parameters = _unpickle(path, "a parameters file (the pickle of Model.get_parameters())")
    set_parameters(layers, parameters, source=str(path))


def save_model(model, path):
    """The book's ``Model.save``: a copy without per-batch arrays, pickled."""
    model = copy.deepcopy(model)
    for part in (model.loss, model.accuracy):
        if part is not None and hasattr(part, "new_pass"):
            part.new_pass()
    model.input_layer.__dict__.pop("output", None)
    if model.loss is not None:
        model.loss.__dict__.pop("dinputs", None)
    for layer in model.layers:
        for name in TRANSIENT:
            layer.__dict__.pop(name, None)
    with open(path, "wb") as f:
        pickle.dump(model, f)


def load_model(path, cls):
    """The book's ``Model.load``; refuses a file that is not a model of ``cls``."""
    model = _unpickle(path, "a saved model")
    if not isinstance(model, cls):
        raise TypeError(f"{path} holds a {type(model).__module__}.{type(model).__name__}, "
                        f"not a {cls.__module__}.{cls.__name__}")
    return model
