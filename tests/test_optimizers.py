"""The four optimizers, in both spellings, against the NumPy twin
``fastnn.reference``: defaults, attribute spellings, several steps of updates,
per-layer state (names, in-place updates), user-replaced parameter arrays."""
import inspect

import numpy as np
import pytest

import fastnn
import fastnn.reference as R
from fastnn.experiments import config
from conftest import (FLOATS, OPTIMIZER_SIGNATURES, SPELLINGS, STATE_NAMES,
                      Params, assert_sum_close, assert_ulp_close, fast_and_ref,
                      rand)

BOTH = ["book", "notebook"]
BOOK_OPT = {"sgd": "Optimizer_SGD", "adagrad": "Optimizer_Adagrad",
            "rmsprop": "Optimizer_RMSprop", "adam": "Optimizer_Adam"}
NB_OPT = {"sgd": "SGD", "adagrad": "AdaGrad", "rmsprop": "RMSProp",
          "adam": "Adam"}
ALL_OPT_NAMES = list(BOOK_OPT.values()) + list(NB_OPT.values())
KIND_OF = {**{v: k for k, v in BOOK_OPT.items()},
           **{v: k for k, v in NB_OPT.items()}}
NB_KWARG = {"learning_rate": "lr", "beta_1": "beta1", "beta_2": "beta2"}

def _seed(label):
    """Book-spelling kwargs of one of the seed's configurations (fastnn.experiments)."""
    return config(label).kwargs("book")


# (id, kind, book-spelling kwargs); the notebook spelling renames the kwargs.
# The seed's configurations come from fastnn.experiments; the others widen the net.
CONFIGS = [
    ("sgd-defaults", "sgd", {}),
    ("sgd-decay", "sgd", _seed("SGD(decay=1e-3)")),
    ("sgd-int-lr-momentum", "sgd", _seed("SGD(decay=1e-3, momentum=0.9)")),
    ("sgd-momentum", "sgd", dict(learning_rate=0.5, decay=0.1, momentum=0.5)),
    ("adagrad-defaults", "adagrad", {}),
    ("adagrad-decay", "adagrad", _seed("AdaGrad(decay=1e-4)")),
    ("adagrad-eps", "adagrad", dict(learning_rate=0.5, decay=0.05, epsilon=1e-5)),
    ("rmsprop-defaults", "rmsprop", {}),
    ("rmsprop-seed", "rmsprop", _seed("RMSProp(lr=0.02, decay=1e-5, rho=0.999)")),
    ("rmsprop-rho", "rmsprop", dict(learning_rate=1.0, rho=0.5, epsilon=1e-5, decay=0.1)),
    ("adam-defaults", "adam", {}),
    ("adam-seed", "adam", _seed("Adam(lr=0.05, decay=5e-7)")),
    ("adam-betas", "adam", dict(learning_rate=0.02, decay=1e-5, beta_1=0.8, beta_2=0.99)),
    ("adam-eps", "adam", dict(decay=0.1, epsilon=1e-5)),
]

# attribute pairs (book, notebook) every optimizer answers to
SHARED_ATTRS = [("learning_rate", "lr"), ("current_learning_rate", "lr_curr"),
                ("iterations", "iteration")]
ADAM_ATTRS = [("beta_1", "beta1"), ("beta_2", "beta2")]
HYPER_ATTRS = {"sgd": ["momentum"], "adagrad": ["epsilon"],
               "rmsprop": ["epsilon", "rho"], "adam": ["epsilon"]}
STATE_OF = {"sgd-momentum": ("weight_momentums", "bias_momentums"),
            "sgd": (), "adagrad": ("weight_cache", "bias_cache"),
            "rmsprop": ("weight_cache", "bias_cache"),
            "adam": STATE_NAMES}


def make_opts(kind, kwargs, spelling):
    """(fastnn optimizer, reference optimizer) built with the same kwargs."""
    if spelling == "book":
        name = BOOK_OPT[kind]
    else:
        name = NB_OPT[kind]
        kwargs = {NB_KWARG.get(k, k): v for k, v in kwargs.items()}
    F, Rc = fast_and_ref(name)
    return F(**kwargs), Rc(**kwargs)


def hooks(opt, spelling):
    n = SPELLINGS[spelling]
    return (getattr(opt, n["pre"]), getattr(opt, n["update"]),
            getattr(opt, n["post"]))


def layer_pair(spelling, k, n, seed, dtype):
    F, Rc = fast_and_ref(SPELLINGS[spelling]["dense"])
    np.random.seed(seed)
    ref = Rc(k, n)
    np.random.seed(seed)
    fast = F(k, n)
    rng = np.random.default_rng(seed)
    b = rand(rng, (1, n), dtype, 0.1)
    for lay in (ref, fast):
        lay.weights = lay.weights.astype(dtype)
        lay.biases = b.copy()
    return fast, ref


def set_grads(rng, fast, ref, dtype=None):
    dt = dtype or fast.weights.dtype
    dw = rand(rng, fast.weights.shape, dt)
    db = rand(rng, fast.biases.shape, dt)
    fast.dweights, fast.dbiases = dw.copy(), db.copy()
    ref.dweights, ref.dbiases = dw.copy(), db.copy()
    return dw, db


def state_names(kind, opt):
    if kind == "sgd":
        return STATE_OF["sgd-momentum"] if opt.momentum else ()
    return STATE_OF[kind]


def compare_layers(fast, ref, kind, opt, before, where, nulp=4):
    """Parameters and state of a fastnn layer against the reference's."""
    w_old, b_old = before
    assert_ulp_close(fast.weights, ref.weights, nulp, mag=w_old,
                     what=f"{where} weights")
    assert_ulp_close(fast.biases, ref.biases, nulp, mag=b_old,
                     what=f"{where} biases")
    for name in STATE_NAMES:
        assert hasattr(fast, name) == hasattr(ref, name), \
            f"{where}: state {name} present on fastnn {hasattr(fast, name)}, " \
            f"on the reference {hasattr(ref, name)}"
    for name in state_names(kind, opt):
        got, exp = getattr(fast, name), getattr(ref, name)
        assert got.dtype == exp.dtype, f"{where} {name} dtype"
        assert got.shape == exp.shape, f"{where} {name} shape"
        # momentum = momentum * m - lr * d may cancel: scale by the gradient
        grad = fast.dweights if name.startswith("weight") else fast.dbiases
        mag = np.abs(exp) + np.abs(grad) * opt.current_learning_rate
        assert_ulp_close(got, exp, nulp, mag=mag, what=f"{where} {name}")


# -------------------------------------------------------------- the table

@pytest.mark.parametrize("name", ALL_OPT_NAMES)
def test_signature_matches_spec(name):
    F, Rc = fast_and_ref(name)
    spec = OPTIMIZER_SIGNATURES[name]
    for cls in (Rc, F):
        params = list(inspect.signature(cls).parameters.values())
        assert [(p.name, p.default) for p in params] == spec, cls


@pytest.mark.parametrize("name", ALL_OPT_NAMES)
def test_constructed_attributes(name):
    F, Rc = fast_and_ref(name)
    fast, ref = F(), Rc()
    kind = KIND_OF[name]
    lr = OPTIMIZER_SIGNATURES[name][0][1]
    names = [a for pair in SHARED_ATTRS for a in pair] + ["decay"] + \
        HYPER_ATTRS[kind] + \
        ([a for pair in ADAM_ATTRS for a in pair] if kind == "adam" else [])
    for attr in names:
        assert getattr(fast, attr) == getattr(ref, attr), attr
        assert type(getattr(fast, attr)) is type(getattr(ref, attr)), attr
    assert fast.lr == fast.learning_rate == fast.lr_curr == lr
    assert fast.current_learning_rate == lr
    assert fast.iteration == fast.iterations == 0
    assert fast.decay == 0


@pytest.mark.parametrize("name", ALL_OPT_NAMES)
def test_hooks_exist_in_both_spellings(name):
    F, _ = fast_and_ref(name)
    opt = F()
    for attr in ("pre_update_params", "update_params", "post_update_params",
                 "preUpdateParams", "updateParams", "postUpdateParams"):
        assert callable(getattr(opt, attr)), attr


@pytest.mark.parametrize("name", ALL_OPT_NAMES)
def test_attribute_spellings_are_one_value(name):
    F, _ = fast_and_ref(name)
    opt = F()
    pairs = SHARED_ATTRS + (ADAM_ATTRS if "dam" in name else [])
    for i, (book, nb) in enumerate(pairs):
        v1, v2 = 0.25 + i, 7 + i
        setattr(opt, book, v1)
        assert getattr(opt, nb) == v1, (book, nb)
        setattr(opt, nb, v2)
        assert getattr(opt, book) == v2, (book, nb)
    opt.iteration = 3
    opt.post_update_params()
    assert opt.iterations == 4
    opt.postUpdateParams()
    assert opt.iteration == 5


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind,kwargs,expected", [
    ("sgd", _seed("SGD(decay=1e-3)"), 0.09091735612328393),
    ("adam", _seed("Adam(lr=0.05, decay=5e-7)"), 0.04975126853296942),
])
def test_lr_column_is_exact(kind, kwargs, expected, spelling):
    """The seed's printed lr: after 10000 pre/post hook pairs (the value the
    chapter-10 loop prints at epoch 10000), and every 100 epochs before it."""
    fast, ref = make_opts(kind, kwargs, spelling)
    f_pre, _, f_post = hooks(fast, spelling)
    r_pre, _, r_post = hooks(ref, spelling)
    for epoch in range(10001):
        if not epoch % 100:
            assert fast.lr_curr == ref.lr_curr, epoch
            assert fast.current_learning_rate == ref.current_learning_rate
        if epoch == 10000:
            break
        f_pre()
        r_pre()
        f_post()
        r_post()
    assert fast.lr_curr == expected
    assert fast.iteration == fast.iterations == 10000


# ---------------------------------------------------- steps vs reference

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layer_spelling", BOTH)
@pytest.mark.parametrize("opt_spelling", BOTH)
@pytest.mark.parametrize("cid,kind,kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_steps_vs_reference(cid, kind, kwargs, opt_spelling, layer_spelling,
                            dtype):
    """Five steps on the seed's two layers, the same gradients for both; a
    book optimizer updates notebook layers and vice versa."""
    fast_opt, ref_opt = make_opts(kind, kwargs, opt_spelling)
    layers = [layer_pair(layer_spelling, 2, 64, 1, dtype),
              layer_pair(layer_spelling, 64, 3, 2, dtype)]
    f_pre, f_upd, f_post = hooks(fast_opt, opt_spelling)
    r_pre, r_upd, r_post = hooks(ref_opt, opt_spelling)
    rng = np.random.default_rng(0)
    ids = None
    for step in range(5):
        grads = [set_grads(rng, f, r) for f, r in layers]
        before = [(f.weights.copy(), f.biases.copy()) for f, _ in layers]
        f_pre()
        r_pre()
        assert fast_opt.current_learning_rate == ref_opt.current_learning_rate
        for f, r in layers:
            f_upd(f)
            r_upd(r)
        f_post()
        r_post()
        assert fast_opt.iterations == ref_opt.iterations == step + 1
        for i, ((f, r), old, (dw, db)) in enumerate(zip(layers, before, grads)):
            compare_layers(f, r, kind, fast_opt, old, f"step {step} layer {i}")
            np.testing.assert_array_equal(f.dweights, dw,
                                          err_msg="update modified dweights")
            np.testing.assert_array_equal(f.dbiases, db,
                                          err_msg="update modified dbiases")
        # parameters and state are updated in place: the same objects
        now = [[id(getattr(f, a)) for a in ("weights", "biases") + STATE_NAMES
                if hasattr(f, a)] for f, _ in layers]
        if ids is None:
            ids = now
        assert now == ids, "an array was replaced instead of updated in place"


@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("cid,kind,kwargs", CONFIGS[::3],
                         ids=[c[0] for c in CONFIGS[::3]])
def test_state_created_like_reference(cid, kind, kwargs, spelling):
    fast_opt, ref_opt = make_opts(kind, kwargs, spelling)
    fast, ref = layer_pair(spelling, 3, 4, 0, np.float64)
    set_grads(np.random.default_rng(0), fast, ref)
    assert not any(hasattr(fast, a) for a in STATE_NAMES)
    fast_opt.update_params(fast)
    ref_opt.update_params(ref)
    for name in STATE_NAMES:
        assert hasattr(fast, name) == hasattr(ref, name), name
        if hasattr(ref, name):
            like = fast.weights if name.startswith("weight") else fast.biases
            assert getattr(fast, name).shape == like.shape
            assert getattr(fast, name).dtype == like.dtype


@pytest.mark.parametrize("kind,kwargs", [(c[1], c[2]) for c in CONFIGS
                                         if c[0] in ("sgd-momentum", "adagrad-eps",
                                                     "rmsprop-seed", "adam-betas")])
def test_plain_object_as_layer(kind, kwargs):
    """Anything with weights/biases/dweights/dbiases can be updated, like the
    reference (a reader's own layer class)."""
    fast_opt, ref_opt = make_opts(kind, kwargs, "book")
    rng = np.random.default_rng(4)
    w, b = rand(rng, (5, 3)), rand(rng, (1, 3))
    fast = Params(w.copy(), b.copy(), None, None)
    ref = Params(w.copy(), b.copy(), None, None)
    for step in range(3):
        set_grads(rng, fast, ref)
        before = (fast.weights.copy(), fast.biases.copy())
        for opt, lay in ((fast_opt, fast), (ref_opt, ref)):
            opt.pre_update_params()
            opt.update_params(lay)
            opt.post_update_params()
        compare_layers(fast, ref, kind, fast_opt, before, f"step {step}")


# ------------------------------------------- attributes written by users

@pytest.mark.parametrize("spelling", BOTH)
@pytest.mark.parametrize("kind", ["sgd", "adagrad", "rmsprop", "adam"])
def test_user_changes_to_attributes_take_effect(kind, spelling):
    """Writes through either spelling change the next update exactly as they
    change the reference's."""
    base = dict(decay=0.01, momentum=0.5) if kind == "sgd" else dict(decay=0.01)
    fast_opt, ref_opt = make_opts(kind, base, spelling)
    fast, ref = layer_pair(spelling, 4, 3, 0, np.float64)
    rng = np.random.default_rng(1)

    def step(tag):
        set_grads(rng, fast, ref)
        before = (fast.weights.copy(), fast.biases.copy())
        for opt, lay in ((fast_opt, fast), (ref_opt, ref)):
            opt.pre_update_params()
            opt.update_params(lay)
            opt.post_update_params()
        assert fast_opt.current_learning_rate == ref_opt.current_learning_rate, tag
        assert fast_opt.iterations == ref_opt.iterations, tag
        compare_layers(fast, ref, kind, fast_opt, before, tag)

    step("first")
    fast_opt.lr = 0.3              # notebook spelling on fastnn ...
    ref_opt.learning_rate = 0.3    # ... book spelling on the reference
    step("lr")
    fast_opt.iterations = 40
    ref_opt.iteration = 40
    step("iterations")
    fast_opt.decay = 0.
    ref_opt.decay = 0.
    fast_opt.current_learning_rate = 0.07
    ref_opt.lr_curr = 0.07
    fast_opt.learning_rate = 5.0   # no decay: the current rate is not recomputed
    ref_opt.lr = 5.0
    step("lr_curr without decay")
    assert fast_opt.lr_curr == 0.07
    for attr in HYPER_ATTRS[kind]:
        setattr(fast_opt, attr, getattr(fast_opt, attr) * 0.5)
        setattr(ref_opt, attr, getattr(ref_opt, attr) * 0.5)
    if kind == "adam":
        fast_opt.beta1 = 0.7
        ref_opt.beta_1 = 0.7
        fast_opt.beta_2 = 0.95
        ref_opt.beta2 = 0.95
    step("hyper-parameters")


@pytest.mark.parametrize("kind", ["sgd", "adagrad", "rmsprop", "adam"])
def test_hyperparameter_number_types(kind):
    """An int learning rate (the book writes learning_rate=1), and NumPy
    scalars of the other precision (e.g. from np.logspace), behave as in the
    reference.

    A float64 NumPy scalar makes the reference compute a float32 layer's
    update in float64 and promote its state arrays to float64; fastnn's state
    is updated in place and keeps the layer's dtype, so that case is compared
    at float32 precision and state dtypes are not compared."""
    kw = dict(momentum=0.9) if kind == "sgd" else {}
    for lr, dtype in [(1, np.float64), (1, np.float32),
                      (np.float64(0.05), np.float32),
                      (np.float32(0.05), np.float64)]:
        fast_opt, ref_opt = make_opts(kind, dict(kw, learning_rate=lr), "book")
        fast, ref = layer_pair("book", 4, 3, 0, dtype)
        rng = np.random.default_rng(2)
        for s in range(3):
            set_grads(rng, fast, ref)
            before = (fast.weights.copy(), fast.biases.copy())
            for opt, lay in ((fast_opt, fast), (ref_opt, ref)):
                opt.pre_update_params()
                opt.update_params(lay)
                opt.post_update_params()
            where = f"lr={lr!r} {dtype.__name__} step {s}"
            assert fast.weights.dtype == dtype
            if np.result_type(lr, dtype) == dtype:
                compare_layers(fast, ref, kind, fast_opt, before, where)
                continue
            for nm, b4 in (("weights", before[0]), ("biases", before[1])):
                exp = getattr(ref, nm)
                assert_sum_close(getattr(fast, nm), exp,
                                 np.abs(b4) + np.abs(exp - b4), np.float32,
                                 1e-6, what=f"{where} {nm}")
            for name in state_names(kind, fast_opt):
                exp = getattr(ref, name)
                assert_sum_close(getattr(fast, name), exp,
                                 np.abs(exp) + 0.05 * np.abs(fast.dweights if
                                 name.startswith("weight") else fast.dbiases),
                                 np.float32, 1e-6, what=f"{where} {name}")


# ------------------------------------- user-replaced parameter arrays

def _replace(case, layer, rng_seed):
    """Replace a layer's parameters/gradients the way a user might; returns
    the arrays whose identity must survive the updates."""
    k, n = layer.weights.shape
    if case == "float32 weights, float64 gradients":
        layer.weights = layer.weights.astype(np.float32)
        layer.biases = layer.biases.astype(np.float32)
    elif case == "float64 weights, float32 gradients":
        layer.dweights = layer.dweights.astype(np.float32)
        layer.dbiases = layer.dbiases.astype(np.float32)
    elif case == "fortran weights":
        layer.weights = np.asfortranarray(layer.weights)
    elif case == "fortran gradients":
        layer.dweights = np.asfortranarray(layer.dweights)
    elif case == "strided view weights":
        big = np.zeros((k, 2 * n))
        big[:, ::2] = layer.weights
        layer.big = big
        layer.weights = big[:, ::2]
    elif case == "transposed weights":
        layer.weights = np.ascontiguousarray(layer.weights.T).T
    return layer


REPLACE_CASES = ["float32 weights, float64 gradients",
                 "float64 weights, float32 gradients",
                 "fortran weights", "fortran gradients",
                 "strided view weights", "transposed weights"]


@pytest.mark.parametrize("case", REPLACE_CASES)
@pytest.mark.parametrize("cid,kind,kwargs", [c for c in CONFIGS if c[0] in (
    "sgd-decay", "sgd-momentum", "adagrad-decay", "rmsprop-seed", "adam-seed")],
    ids=["sgd", "sgd-momentum", "adagrad", "rmsprop", "adam"])
def test_user_replaced_parameters_updated_in_place(cid, kind, kwargs, case):
    fast_opt, ref_opt = make_opts(kind, kwargs, "notebook")
    fast, ref = layer_pair("notebook", 6, 5, 3, np.float64)
    rng = np.random.default_rng(5)
    ids = None
    for step in range(3):
        set_grads(rng, fast, ref)
        if step == 0 or "gradients" in case:
            for lay in (fast, ref):
                _replace(case, lay, 9)
        held = (fast.weights, fast.biases)
        before = (fast.weights.copy(), fast.biases.copy())
        for opt, lay in ((fast_opt, fast), (ref_opt, ref)):
            opt.pre_update_params()
            opt.update_params(lay)
            opt.post_update_params()
        assert fast.weights is held[0] and fast.biases is held[1], \
            "parameters were replaced instead of updated in place"
        assert fast.weights.dtype == ref.weights.dtype
        assert fast.weights.flags.f_contiguous == ref.weights.flags.f_contiguous
        # With float32 on either side the reference computes (part of) the
        # update in float32 and may promote its state to float64: compare at
        # float32 precision, relative to the parameters and the step taken.
        mixed = np.float32 in (fast.weights.dtype, fast.dweights.dtype)
        for nm, b4 in (("weights", before[0]), ("biases", before[1])):
            got, exp = getattr(fast, nm), getattr(ref, nm)
            if mixed:
                mag = np.abs(b4) + np.abs(exp - b4)
                assert_sum_close(got, exp, mag, np.float32, 1e-6,
                                 what=f"{case} step {step} {nm}")
            else:
                assert_ulp_close(got, exp, 4, mag=b4,
                                 what=f"{case} step {step} {nm}")
        for name in state_names(kind, fast_opt):
            got, exp = getattr(fast, name), getattr(ref, name)
            grad = fast.dweights if name.startswith("weight") else fast.dbiases
            mag = np.abs(exp) + np.abs(grad) * fast_opt.current_learning_rate
            if mixed:
                assert_sum_close(got, exp, mag, np.float32, 1e-6,
                                 what=f"{case} step {step} {name}")
            else:
                assert got.dtype == exp.dtype
                assert_ulp_close(got, exp, 4, mag=mag,
                                 what=f"{case} step {step} {name}")
        now = [id(getattr(fast, a)) for a in STATE_NAMES if hasattr(fast, a)]
        ids = now if ids is None else ids
        assert now == ids, "state was replaced instead of updated in place"
        if case == "strided view weights":
            assert np.shares_memory(fast.weights, fast.big)
            np.testing.assert_array_equal(fast.big[:, ::2], fast.weights)
            np.testing.assert_array_equal(fast.big[:, 1::2], 0)


# ------------------------------------------- state written by users

@pytest.mark.parametrize("kind", ["sgd", "adagrad", "rmsprop", "adam"])
def test_existing_state_is_used(kind):
    """State already on the layer (set by the user, or left by another
    optimizer) is used, not replaced with zeros, as the reference's
    ``hasattr`` checks do."""
    kw = dict(momentum=0.9) if kind == "sgd" else {}
    fast_opt, ref_opt = make_opts(kind, kw, "book")
    fast, ref = layer_pair("book", 4, 3, 0, np.float64)
    rng = np.random.default_rng(3)
    for name in state_names(kind, fast_opt):
        like = fast.weights if name.startswith("weight") else fast.biases
        v = np.abs(rand(rng, like.shape))
        setattr(fast, name, v.copy())
        setattr(ref, name, v.copy())
    set_grads(rng, fast, ref)
    before = (fast.weights.copy(), fast.biases.copy())
    fast_opt.update_params(fast)
    ref_opt.update_params(ref)
    compare_layers(fast, ref, kind, fast_opt, before, "preset state")


@pytest.mark.parametrize("spelling", BOTH)
def test_switching_optimizers_shares_state_like_reference(spelling):
    """Adam then SGD with momentum: SGD finds Adam's momentums and uses
    them; AdaGrad then RMSProp share the cache."""
    for first, second in [(("adam", dict(learning_rate=0.01)),
                           ("sgd", dict(learning_rate=0.1, momentum=0.9))),
                          (("adagrad", dict(learning_rate=0.1)),
                           ("rmsprop", dict(learning_rate=0.01)))]:
        fast, ref = layer_pair(spelling, 5, 4, 0, np.float64)
        rng = np.random.default_rng(0)
        for (kind, kw), steps in ((first, 3), (second, 3)):
            fast_opt, ref_opt = make_opts(kind, kw, spelling)
            for s in range(steps):
                set_grads(rng, fast, ref)
                before = (fast.weights.copy(), fast.biases.copy())
                for opt, lay in ((fast_opt, fast), (ref_opt, ref)):
                    opt.pre_update_params()
                    opt.update_params(lay)
                    opt.post_update_params()
                compare_layers(fast, ref, kind, fast_opt, before,
                               f"{kind} step {s}")


@pytest.mark.parametrize("opt_name", ["SGD", "AdaGrad", "RMSProp", "Adam"])
def test_memmap_weights_are_updated_in_place(tmp_path, opt_name):
    """Weights loaded as np.memmap (an ndarray subclass) update in place like the twin's:
    bit for bit, given the same gradients (the twin's, since a dense backward may
    differ from NumPy's in the last bit)."""
    np.random.seed(1)
    twin = R.DenseLayer(3, 4)
    twin.forward(np.linspace(-1, 1, 15).reshape(5, 3))
    twin.backward(np.arange(20.0).reshape(5, 4) - 10)
    results = []
    for k, mod in enumerate((fastnn, R)):
        np.random.seed(1)
        layer = mod.DenseLayer(3, 4)
        layer.dweights, layer.dbiases = twin.dweights.copy(), twin.dbiases.copy()
        mm = np.memmap(tmp_path / f"w{k}.dat", dtype=layer.weights.dtype, mode="w+",
                       shape=layer.weights.shape)
        mm[:] = layer.weights
        layer.weights = mm
        opt = getattr(mod, opt_name)(0.01)
        for _ in range(3):
            opt.update_params(layer)
        assert np.shares_memory(layer.weights, mm)
        results.append(np.array(mm))
    np.testing.assert_array_equal(results[0], results[1])
