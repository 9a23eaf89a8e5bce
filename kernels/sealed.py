"""The kernels of the classes' fast paths, sealed to float32/float64 C arrays.

Each name here is ``_jit.sealed`` applied to the public kernel of the same
name, created on first use (module ``__getattr__``, PEP 562) so that importing
fastnn does not load machine code the program never calls.  A call with any
other dtype, memory order, writeability or number of dimensions raises
``TypeError``: the classes catch it and take their general path.
"""
import importlib

from ._jit import sealed

# name: (module, argument kinds[, number of dimensions of the arrays, 2 if not given]);
# see _jit.sealed
_KINDS = {
    "dense_forward": ("dense", "aaaa"),
    "dense_backward": ("dense", "aaaaaa"),
    "relu_forward": ("activations", "aa"),
    "relu_backward": ("activations", "aaa"),
    "softmax_cce_sparse_forward": ("losses", "ala"),
    "softmax_cce_sparse_backward": ("losses", "ala"),
    # chapters 16-17: the losses' per-sample output is passed as a 2-D view
    "sigmoid_forward": ("binary", "aa"),
    "sigmoid_backward": ("binary", "aaa"),
    "bce_forward": ("binary", "aaa"),
    "bce_forward_labels": ("binary", "ala"),
    "bce_backward": ("binary", "aaa"),
    "bce_backward_labels": ("binary", "ala"),
    "bce_backward_labels_nd": ("binary", "aLa"),
    "mse_forward": ("regression", "aaa"),
    "mse_backward": ("regression", "aaa"),
    "mae_forward": ("regression", "aaa"),
    "mae_backward": ("regression", "aaa"),
    "sgd_update": ("optimizers", "aaaaf"),
    "sgd_momentum_update": ("optimizers", "aaaaaaff"),
    "adagrad_update": ("optimizers", "aaaaaaff"),
    "rmsprop_update": ("optimizers", "aaaaaafff"),
    "adam_update": ("optimizers", "aaaaaaaaffffff"),
    "dense_backward_reg": ("dense", "aaaaaaaffff"),
    "regularization_sums": ("regularization", "aaaffff"),
    "regularization_penalty": ("regularization", "aafffff"),
    # Loss.calculate: the per-sample losses, 1-D; the losses' forward and their sum
    "pairwise_total": ("reduction", "a", 1),
    "bce_forward_total": ("loss_totals", "aaa"),
    "bce_forward_labels_total": ("loss_totals", "ala"),
    "bce_forward_labels_total_nd": ("loss_totals", "aL"),
    "mse_forward_total": ("loss_totals", "aaa"),
    "mae_forward_total": ("loss_totals", "aaa"),
}


def __getattr__(name):
    try:
        module, kinds, *ndim = _KINDS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    kernel = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    dispatcher = sealed(kernel, kinds, *ndim)
    globals()[name] = dispatcher  # later lookups are plain module attributes
    return dispatcher
