"""Weights move to and from Keras 3 exactly, and Keras computes the same numbers (float32, 1e-6)."""

import os

import numpy as np
import pytest

import rnngrad
from rnngrad.interop import cell_from_keras, cell_to_keras, from_keras, to_keras

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on the torch CPU wheel the tests install
keras = pytest.importorskip("keras")

CASES = [
    ("LSTM", {}),
    ("LSTM", {"bias": False}),
    ("GRU", {}),
    ("GRU", {"reset_after": False}),
    ("GRU", {"reset_after": False, "bias": False}),
]


def _keras_layer(kind, options, hidden, **extra):
    keras_options = {"use_bias": options.get("bias", True)}
    if kind == "GRU":
        keras_options["reset_after"] = options.get("reset_after", True)
    return getattr(keras.layers, kind)(hidden, return_sequences=True, return_state=True, **keras_options, **extra)


@pytest.mark.parametrize("kind, options", CASES)
def test_keras_layer_with_converted_weights_computes_the_same_outputs_and_states(kind, options):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 4)).astype(np.float32)
    model = getattr(rnngrad, kind)(4, 5, batch_first=True, **options)
    params = model.init(rng, dtype=np.float32)
    layer = _keras_layer(kind, options, 5)
    layer(x)
    layer.set_weights(to_keras(model, params)[0][0])
    keras_out = [np.asarray(keras.ops.convert_to_numpy(t)) for t in layer(x)]
    out, final = model(params, x)
    finals = final if isinstance(final, tuple) else (final,)
    np.testing.assert_allclose(out, keras_out[0], atol=1e-6)
    for mine, theirs in zip(finals, keras_out[1:]):
        np.testing.assert_allclose(mine[0], theirs, atol=1e-6)


def test_bidirectional_keras_layer_matches():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    model = rnngrad.LSTM(3, 4, batch_first=True, bidirectional=True)
    params = model.init(rng, dtype=np.float32)
    layer = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    layer(x)
    forward, backward = to_keras(model, params)[0]
    layer.set_weights(forward + backward)
    np.testing.assert_allclose(model(params, x)[0], keras.ops.convert_to_numpy(layer(x)), atol=1e-6)


@pytest.mark.parametrize("kind, options", CASES)
def test_keras_weights_from_a_keras_layer_load_and_compute_the_same(kind, options):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    layer = _keras_layer(kind, options, 4, bias_initializer="random_normal")
    keras_out = keras.ops.convert_to_numpy(layer(x)[0])
    model = getattr(rnngrad, kind)(3, 4, batch_first=True, **options)
    params = from_keras(model, [[layer.get_weights()]])
    np.testing.assert_allclose(model(params, x)[0], keras_out, atol=1e-6)


@pytest.mark.parametrize("kind, options", CASES)
def test_round_trip_through_keras_layout_is_exact_up_to_the_bias_split(kind, options):
    model = getattr(rnngrad, kind)(3, 4, num_layers=2, bidirectional=True, **options)
    params = model.init(3)
    back = from_keras(model, to_keras(model, params))
    for key in params:
        if "bias" in key and not (kind == "GRU" and options.get("reset_after", True)):
            continue  # the two biases come back summed into bias_ih
        np.testing.assert_array_equal(back[key], params[key])
    x = np.random.default_rng(3).normal(size=(4, 2, 3))
    np.testing.assert_allclose(model(back, x)[0], model(params, x)[0], rtol=1e-13, atol=1e-15)


def test_layouts_keras_does_not_have_are_refused():
    with pytest.raises(ValueError, match="proj_size"):
        cell_to_keras(rnngrad.LSTMCell(3, 4, proj_size=2), {})
    with pytest.raises(TypeError, match="RNNCell"):
        cell_to_keras(rnngrad.RNNCell(3, 4), {})
    with pytest.raises(ValueError, match="shapes"):
        cell_from_keras(rnngrad.GRUCell(3, 4), [np.zeros((3, 12)), np.zeros((4, 12)), np.zeros(12)])


def test_from_keras_fills_learned_initial_states_with_zeros():
    model = rnngrad.LSTM(3, 4, bidirectional=True, learn_initial_state=True)
    params = model.init(4)
    back = from_keras(model, to_keras(model, params))
    assert list(back) == list(model.param_shapes())
    np.testing.assert_array_equal(back["initial_c_l0_reverse"], np.zeros(4))
