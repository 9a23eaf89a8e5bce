"""The kernels of the classes' fast paths, sealed to float32/float64 C arrays.

Each name here is ``_jit.sealed`` applied to the public kernel of the same
name (or, for the float32/float64 mixes chapter 17 gives after ``nnfs.init()``,
``<kernel>_wide...``: the same generic kernel sealed to that mix, a
specialization of it, not a copy), created on first use (module ``__getattr__``, PEP 562) so that importing
fastnn does not load machine code the program never calls.  A call with any
other dtype, memory order, writeability or number of dimensions raises
``TypeError``: the classes catch it and take their general path.
"""
import importlib

from ._jit import sealed

# name: (module, argument kinds[, number of dimensions of the arrays, 2 if not given
# [, the kernel's name if not the same]]); see _jit.sealed ("w": a float64 array)
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
    # chapter 17 after nnfs.init(): float64 targets, so float64 losses, loss
    # gradient and last-layer bias gradient (and Adam's bias state) beside
    # float32 predictions and parameters
    "mse_forward_wide": ("regression", "aww", 2, "mse_forward"),
    "mse_forward_total_wide": ("loss_totals", "aww", 2, "mse_forward_total"),
    "mse_backward_wide": ("regression", "aww", 2, "mse_backward"),
    "mae_forward_wide": ("regression", "aww", 2, "mae_forward"),
    "mae_forward_total_wide": ("loss_totals", "aww", 2, "mae_forward_total"),
    "mae_backward_wide": ("regression", "aww", 2, "mae_backward"),
    "adam_update_wide_bias": ("optimizers", "aaaaawwwffffff", 2, "adam_update"),
    "dense_forward_rounded_dot": ("dense_mixed", "waaa"),
    # (x, w, dvalues, dweights, dbiases, dinputs): the last layer's float64
    # gradient, the first layer's float64 inputs
    "dense_backward_wide_gradient": ("dense_mixed", "aawawa", 2, "dense_backward_mixed"),
    "dense_backward_wide_inputs": ("dense_mixed", "waaaaa", 2, "dense_backward_mixed"),
}


def __getattr__(name):
    try:
        module, kinds, *rest = _KINDS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    ndim, kernel_name = (rest + [2, name][len(rest):])
    kernel = getattr(importlib.import_module(f"{__package__}.{module}"), kernel_name)
    dispatcher = sealed(kernel, kinds, ndim)
    globals()[name] = dispatcher  # later lookups are plain module attributes
    return dispatcher
