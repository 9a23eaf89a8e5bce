"""``Model.train`` under interruption, threads and unusual hyper-parameters.

* Ctrl-C during a long compiled run takes effect within about a second and
  leaves layers, optimizer state, ``iterations`` and history consistent;
* two threads training with one optimizer lose no update;
* a negative decay raises ZeroDivisionError where the per-op loop does, after
  the same updates; a ``np.float32`` learning rate gives the per-op loop's
  numbers bit for bit;
* any depth trains with one compiled loop per dtype (no compile per depth).
"""
import os
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastnn

from _child import interrupt, start

ARCH = (2, 64, 3)


def seed_data(dtype=np.float64):
    from nnfs.datasets import spiral_data
    np.random.seed(0)
    X, y = spiral_data(100, 3)
    return X.astype(dtype), y


def make_layers(mod, arch=ARCH, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    layers = []
    for i, (k, n) in enumerate(zip(arch[:-1], arch[1:])):
        d = mod.Layer_Dense(k, n)
        d.weights = (0.01 * rng.standard_normal((k, n))).astype(dtype)
        d.biases = np.zeros((1, n), dtype)
        layers.append(d)
        if i < len(arch) - 2:
            layers.append(mod.Activation_ReLU())
    return layers


def make_model(opt, arch=ARCH, dtype=np.float64):
    model = fastnn.Model()
    layers = make_layers(fastnn, arch, dtype)
    for layer in layers + [fastnn.Activation_Softmax()]:
        model.add(layer)
    model.set(loss=fastnn.Loss_CategoricalCrossentropy(), optimizer=opt,
              accuracy=fastnn.Accuracy_Categorical())
    model.finalize()
    return model, [l for l in layers if isinstance(l, fastnn.Layer_Dense)]


def per_op_epoch(mod, layers, head, opt, X, y):
    """One epoch of the book's per-op loop (all three optimizer hooks)."""
    out = X
    for layer in layers:
        layer.forward(out)
        out = layer.output
    head.forward(out, y)
    head.backward(head.output, y)
    d = head.dinputs
    for layer in reversed(layers):
        layer.backward(d)
        d = layer.dinputs
    opt.pre_update_params()
    for layer in layers:
        if isinstance(layer, mod.Layer_Dense):
            opt.update_params(layer)
    opt.post_update_params()


# ------------------------------------------------------------------------ Ctrl-C

CHILD = textwrap.dedent("""
    import sys, time, signal
    import numpy as np
    sys.path.insert(0, {tests!r})
    import fastnn
    from test_model_robust import make_model, seed_data
    X, y = seed_data()
    model, dense = make_model(fastnn.Optimizer_Adam(learning_rate=0.05, decay=5e-7))
    model.train(X, y, epochs=3, verbose=False)          # compile (or load) first
    print("ready", flush=True)
    try:
        model.train(X, y, epochs=3_000_000, print_every=None, verbose=False)
        print("finished", flush=True)
    except KeyboardInterrupt:
        stopped = time.perf_counter()
        opt = model.optimizer
        print("interrupted", opt.iterations, len(model.history), flush=True)
        # the same model trained for exactly that many epochs without interruption
        again, dense2 = make_model(fastnn.Optimizer_Adam(learning_rate=0.05, decay=5e-7))
        again.train(X, y, epochs=3, verbose=False)
        again.train(X, y, epochs=opt.iterations - 3, print_every=None, verbose=False)
        same = all(np.array_equal(getattr(a, n), getattr(b, n)) for a, b in zip(dense, dense2)
                   for n in ("weights", "biases", "weight_momentums", "weight_cache",
                             "bias_momentums", "bias_cache"))
        same_hist = np.array_equal(model.history.loss, again.history.loss)
        print("consistent", same, same_hist,
              opt.current_learning_rate == again.optimizer.current_learning_rate,
              model.history.epoch[-1] == opt.iterations, flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_within_a_second_and_leaves_consistent_state():
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = start(CHILD.format(tests=tests))
    try:
        line, latency = interrupt(proc, after=1.0)
        iterations, history = int(line[1]), int(line[2])
        assert 3 < iterations < 3_000_000
        assert history == iterations  # one history row per update
        assert latency < 1.5, f"training stopped {latency:.2f} s after Ctrl-C"
        out, err = proc.communicate(timeout=300)
        assert out.split() == ["consistent", "True", "True", "True", "True"], (out, err)
    finally:
        proc.kill()


# ------------------------------------------------------------------------ threads

def test_two_threads_sharing_an_optimizer_lose_no_update():
    X, y = seed_data()
    opt = fastnn.Optimizer_SGD(learning_rate=0.5, decay=1e-3, momentum=0.5)
    models = [make_model(opt)[0] for _ in range(2)]
    models[0].train(X, y, epochs=1, verbose=False)  # compile before the race
    errors = []

    def work(model):
        try:
            model.train(X, y, epochs=1000, print_every=5, verbose=False)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in models]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, between the compiled calls
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert opt.iterations == 1 + 2 * 1000
    assert len(models[0].history) + len(models[1].history) == 1 + 2 * 1000


# ------------------------------------------------------------ hyper-parameter types

def _model_and_per_op(make_opt, epochs, dtype=np.float64):
    """Model.train and the per-op fastnn loop from the same start."""
    X, y = seed_data(dtype)
    model, dense = make_model(make_opt(), dtype=dtype)
    layers = make_layers(fastnn, dtype=dtype)
    head = fastnn.Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = make_opt()
    lrs = []
    for _ in range(epochs):
        per_op_epoch(fastnn, layers, head, opt, X, y)
        lrs.append(float(opt.current_learning_rate))
    return model, dense, [l for l in layers if isinstance(l, fastnn.Layer_Dense)], opt, lrs, X, y


@pytest.mark.parametrize("lr, decay", [(np.float32(0.05), 1e-3), (0.05, np.float32(1e-3)),
                                       (np.float32(0.05), np.float32(1e-3))],
                         ids=["f32-lr", "f32-decay", "f32-both"])
def test_numpy_float32_hyper_parameters_match_the_per_op_loop_bit_for_bit(lr, decay):
    model, dense, layers, opt, lrs, X, y = _model_and_per_op(
        lambda: fastnn.Optimizer_Adam(learning_rate=lr, decay=decay), 30)
    history = model.train(X, y, epochs=30, verbose=False)
    np.testing.assert_array_equal(history.lr, lrs)
    for a, b in zip(dense, layers):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.biases, b.biases)
    assert model.optimizer.current_learning_rate == opt.current_learning_rate
    assert type(model.optimizer.current_learning_rate) is type(opt.current_learning_rate)


def test_negative_decay_raises_where_the_per_op_loop_does():
    X, y = seed_data()
    layers = make_layers(fastnn)
    head = fastnn.Activation_Softmax_Loss_CategoricalCrossentropy()
    opt = fastnn.Optimizer_SGD(learning_rate=0.1, decay=-0.5)
    with pytest.raises(ZeroDivisionError):
        for _ in range(5):
            per_op_epoch(fastnn, layers, head, opt, X, y)
    assert opt.iterations == 2  # 1 + (-0.5) * 2 == 0 at the third update

    model, dense = make_model(fastnn.Optimizer_SGD(learning_rate=0.1, decay=-0.5))
    with pytest.raises(ZeroDivisionError):
        model.train(X, y, epochs=5, verbose=False)
    assert model.optimizer.iterations == 2
    assert len(model.history) == 2
    assert model.optimizer.current_learning_rate == opt.current_learning_rate
    for a, b in zip(dense, [l for l in layers if isinstance(l, fastnn.Layer_Dense)]):
        np.testing.assert_array_equal(a.weights, b.weights)


# ------------------------------------------------------------ one compile per dtype

def test_every_depth_runs_on_one_compiled_loop_per_dtype():
    from fastnn.kernels import train as K
    X, y = seed_data()
    for arch in ((2, 64, 3), (2, 16, 16, 3), (2, 8, 8, 8, 8, 3)):
        for dtype in (np.float64, np.float32):
            model, _ = make_model(fastnn.Optimizer_Adam(learning_rate=0.05), arch, dtype)
            model.train(X.astype(dtype), y, epochs=2, verbose=False)
    signatures = {str(sig) for sig in K.train_steps.signatures}
    assert len(signatures) == 2, signatures


@pytest.mark.parametrize("attr, value", [("learning_rate", "0.1"), ("momentum", 0.5 + 1j),
                                         ("momentum", np.array([0.5])), ("decay", None)])
def test_model_refuses_the_hyper_parameters_the_per_op_path_refuses(attr, value):
    X, y = seed_data()
    opt = fastnn.Optimizer_SGD(learning_rate=0.1, decay=1e-3, momentum=0.9)
    model, dense = make_model(opt)  # (finalize() checks the optimizer as it is then)
    setattr(opt, attr, value)
    layers = make_layers(fastnn)
    head = fastnn.Activation_Softmax_Loss_CategoricalCrossentropy()
    with pytest.raises(TypeError, match=attr) as per_op:
        per_op_epoch(fastnn, layers, head, opt, X, y)
    before = [l.weights.copy() for l in dense]
    with pytest.raises(TypeError, match=attr) as compiled:
        model.train(X, y, epochs=2, verbose=False)
    assert type(compiled.value) is type(per_op.value)
    for layer, w in zip(dense, before):
        np.testing.assert_array_equal(layer.weights, w)
    assert not hasattr(dense[0], "weight_momentums") and opt.iterations == 0
