"""Parameters and models on disk in the book's formats (chapters 21-22).

The parameters file is the book's: a pickle of ``[(weights, biases), ...]``
(what ``Ch22_Final.py``'s ``Model.save_parameters`` writes with
``pickle.dump(self.get_parameters(), f)``), so a file made with NumPy alone
stands in for one the book's code wrote.
"""
import pickle

import numpy as np
import pytest

import fastnn
from fastnn import reference

from test_model_robust import make_model, seed_data


def _model():
    return make_model(fastnn.Optimizer_Adam(learning_rate=0.05, decay=5e-7))


def test_parameters_file_is_the_books_format_and_round_trips(tmp_path):
    X, y = seed_data()
    model, dense = _model()
    model.train(X, y, epochs=20, verbose=False)
    path = tmp_path / "seed.parms"
    model.save_parameters(path)
    with open(path, "rb") as f:
        raw = pickle.load(f)
    assert isinstance(raw, list) and len(raw) == 2
    for (w, b), layer in zip(raw, dense):
        assert type(w) is np.ndarray and type(b) is np.ndarray
        np.testing.assert_array_equal(w, layer.weights)
        np.testing.assert_array_equal(b, layer.biases)

    fresh, _ = _model()
    fresh.load_parameters(path)
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))


def test_a_parameters_file_written_without_fastnn_loads(tmp_path):
    """What the book's code writes: plain arrays in a list of tuples."""
    rng = np.random.default_rng(7)
    params = [(rng.standard_normal((2, 64)), rng.standard_normal((1, 64))),
              (rng.standard_normal((64, 3)), rng.standard_normal((1, 3)))]
    path = tmp_path / "book.parms"
    with open(path, "wb") as f:
        pickle.dump(params, f)
    model, dense = _model()
    model.load_parameters(path)
    for (w, b), layer in zip(params, dense):
        np.testing.assert_array_equal(layer.weights, w)
        np.testing.assert_array_equal(layer.biases, b)
    # and the model computes with them what the twin's layers compute
    X, _ = seed_data()
    d1, d2 = reference.Layer_Dense(2, 64), reference.Layer_Dense(64, 3)
    (d1.weights, d1.biases), (d2.weights, d2.biases) = params
    relu, soft = reference.Activation_ReLU(), reference.Activation_Softmax()
    d1.forward(X)
    relu.forward(d1.output)
    d2.forward(relu.output)
    soft.forward(d2.output)
    np.testing.assert_allclose(model.predict(X), soft.output, rtol=1e-12, atol=1e-15)


def _unchanged(dense, before):
    for layer, (w, b) in zip(dense, before):
        np.testing.assert_array_equal(layer.weights, w)
        np.testing.assert_array_equal(layer.biases, b)


@pytest.mark.parametrize("content, error, match", [
    ([(np.zeros((2, 32)), np.zeros((1, 32))), (np.zeros((32, 3)), np.zeros((1, 3)))],
     ValueError, r"layer 0 weights have shape \(2, 32\).*\(2, 64\)"),
    ([(np.zeros((2, 64)), np.zeros((1, 64)))], ValueError, "1 trainable layers.*has 2"),
    ({"weights": 1}, ValueError, "not a list"),
    ([(np.zeros((2, 64)), "b"), (np.zeros((64, 3)), np.zeros((1, 3)))], TypeError,
     "biases is not a numeric array"),
], ids=["other-architecture", "other-depth", "not-a-list", "not-arrays"])
def test_loading_a_file_that_does_not_fit_changes_nothing(tmp_path, content, error, match):
    path = tmp_path / "bad.parms"
    with open(path, "wb") as f:
        pickle.dump(content, f)
    model, dense = _model()
    before = [(l.weights.copy(), l.biases.copy()) for l in dense]
    with pytest.raises(error, match=match):
        model.load_parameters(path)
    _unchanged(dense, before)


def test_a_corrupt_file_is_named_and_changes_nothing(tmp_path):
    good = tmp_path / "good.parms"
    model, dense = _model()
    model.save_parameters(good)
    bad = tmp_path / "bad.parms"
    bad.write_bytes(good.read_bytes()[:40])
    before = [(l.weights.copy(), l.biases.copy()) for l in dense]
    with pytest.raises(ValueError, match="is not a parameters file"):
        model.load_parameters(bad)
    _unchanged(dense, before)
    with pytest.raises(ValueError, match="is not a saved model"):
        fastnn.Model.load(bad)


def test_saved_model_loads_without_batch_arrays_and_trains_on(tmp_path):
    X, y = seed_data()
    model, dense = _model()
    model.train(X, y, epochs=10, verbose=False)
    path = tmp_path / "seed.model"
    model.save(path)
    assert hasattr(dense[0], "output")  # saving leaves the model itself alone
    loaded = fastnn.Model.load(path)
    for layer in loaded.layers:
        assert not any(hasattr(layer, a) for a in ("inputs", "output", "dinputs", "dweights"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # both go on training to the same numbers (optimizer state was saved too)
    h1 = model.train(X, y, epochs=5, verbose=False)
    h2 = loaded.train(X, y, epochs=5, verbose=False)
    np.testing.assert_array_equal(h1.loss, h2.loss)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 15


def test_load_refuses_a_pickle_of_something_else(tmp_path):
    path = tmp_path / "other.pkl"
    with open(path, "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(TypeError, match="not a fastnn.model.Model"):
        fastnn.Model.load(path)
