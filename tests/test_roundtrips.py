"""Round trips: flatten/unflatten and save/load at any nesting depth; Keras layouts without Keras.

The Keras layout is checked against the table of :mod:`rnngrad.interop`
and, numerically, against Keras' own recurrences transcribed here in plain
NumPy in Keras' column order (z, r, h for the GRU): none of it imports
Keras, so it runs on every machine. tests/test_keras_interop.py checks
against Keras itself where it is installed.
"""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from property_support import scaled

import rnngrad
from rnngrad import interop, io
from rnngrad.testing import random_params

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=6)
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def nested_params(draw, depth):
    """A dict of arrays nested exactly ``depth`` levels deep (its deepest leaf at that depth)."""
    dtype = draw(dtypes, label="dtype")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))

    def level(remaining):
        keys = draw(st.lists(names, min_size=1, max_size=3, unique=True))
        tree = {}
        for i, key in enumerate(keys):
            if remaining > 1 and (i == 0 or draw(st.booleans())):
                tree[key] = level(remaining - 1)
            else:
                shape = draw(st.lists(st.integers(0, 3), max_size=2).map(tuple))
                tree[key] = rng.normal(size=shape).astype(dtype)
        return tree

    return level(depth)


def assert_same_tree(actual, expected):
    assert isinstance(actual, dict) and sorted(actual) == sorted(expected)
    for key, value in expected.items():
        if isinstance(value, dict):
            assert_same_tree(actual[key], value)
        else:
            assert actual[key].dtype == value.dtype and actual[key].shape == value.shape
            np.testing.assert_array_equal(actual[key], value)


def depth_of(tree):
    return 1 + max((depth_of(v) for v in tree.values() if isinstance(v, dict)), default=0)


@scaled(2)
@given(data=st.data(), depth=st.integers(1, 4))
def test_unflatten_inverts_flatten_at_any_depth(data, depth):
    tree = data.draw(nested_params(depth), label="tree")
    assert depth_of(tree) == depth
    flat = io.flatten_params(tree)
    assert all("." not in key for key in tree)
    assert all(isinstance(v, np.ndarray) for v in flat.values())
    assert max(key.count(".") for key in flat) == depth - 1
    assert_same_tree(io.unflatten_params(flat), tree)


class _Nested:
    """A model whose param_shapes are nested, as a network of parts has."""

    def __init__(self, tree):
        self.tree = tree

    def param_shapes(self):
        def shapes(node):
            return {k: shapes(v) if isinstance(v, dict) else v.shape for k, v in node.items()}

        return shapes(self.tree)


@scaled(1)
@given(data=st.data(), depth=st.integers(1, 4))
def test_save_then_load_gives_the_same_arrays_bit_for_bit_at_any_depth(data, depth):
    tree = data.draw(nested_params(depth), label="tree")
    with tempfile.TemporaryDirectory() as folder:
        path = io.save_params(os.path.join(folder, "params"), tree)
        assert_same_tree(io.load_params(path), tree)
        assert_same_tree(io.load_params(path, _Nested(tree)), tree)


# -- Keras layouts, no Keras needed -----------------------------------------------------------


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def keras_lstm(weights, x):
    """Keras' LSTM over (T, B, D): kernel (D, 4H) columns i, f, c, o; one bias."""
    kernel, recurrent, *bias = weights
    bias = bias[0] if bias else 0.0
    hidden = recurrent.shape[0]
    h = np.zeros((x.shape[1], hidden))
    c = np.zeros_like(h)
    outputs = []
    for step in x:
        z = step @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.array(outputs), h, c


def keras_gru(weights, x, reset_after):
    """Keras' GRU over (T, B, D): columns z, r, h; bias (2, 3H) (input, recurrent) when reset_after, else (3H,)."""
    kernel, recurrent, *bias = weights
    hidden = recurrent.shape[0]
    if bias and reset_after:
        input_bias, recurrent_bias = bias[0][0], bias[0][1]
    else:
        input_bias, recurrent_bias = (bias[0] if bias else 0.0), np.zeros(3 * hidden)
    h = np.zeros((x.shape[1], hidden))
    outputs = []

    def block(values, k):
        return values[..., k * hidden : (k + 1) * hidden]

    for step in x:
        xs = step @ kernel + input_bias
        if reset_after:
            hs = h @ recurrent + recurrent_bias
            z = _sigmoid(block(xs, 0) + block(hs, 0))
            r = _sigmoid(block(xs, 1) + block(hs, 1))
            candidate = np.tanh(block(xs, 2) + r * block(hs, 2))
        else:
            z = _sigmoid(block(xs, 0) + h @ block(recurrent, 0))
            r = _sigmoid(block(xs, 1) + h @ block(recurrent, 1))
            candidate = np.tanh(block(xs, 2) + (r * h) @ block(recurrent, 2))
        h = z * h + (1.0 - z) * candidate
        outputs.append(h)
    return np.array(outputs), h


CELLS = [
    ("lstm", {}),
    ("lstm", {"bias": False}),
    ("gru", {}),
    ("gru", {"reset_after": False}),
    ("gru", {"bias": False}),
    ("gru", {"reset_after": False, "bias": False}),
]


def _model(kind, options, **more):
    if kind == "lstm":
        return rnngrad.LSTM(3, 4, **options, **more)
    return rnngrad.GRU(3, 4, **options, **more)


@pytest.mark.parametrize("kind, options", CELLS)
def test_keras_layout_computes_keras_recurrence_without_keras(kind, options):
    model = _model(kind, options)
    params = random_params(model.param_shapes(), np.random.default_rng(0), scale=0.7)
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    (weights,) = interop.to_keras(model, params)[0]
    output, final = model(params, x)
    if kind == "lstm":
        want_out, want_h, want_c = keras_lstm(weights, x)
        np.testing.assert_allclose(final[1][0], want_c, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(final[0][0], want_h, rtol=1e-12, atol=1e-13)
    else:
        want_out, want_h = keras_gru(weights, x, options.get("reset_after", True))
        np.testing.assert_allclose(final[0], want_h, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(output, want_out, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind, options", CELLS)
def test_keras_layout_follows_the_documented_table(kind, options):
    cell = rnngrad.LSTMCell(3, 4, **options) if kind == "lstm" else rnngrad.GRUCell(3, 4, **options)
    params = random_params(cell.param_shapes(), np.random.default_rng(2))
    weights = interop.cell_to_keras(cell, params)
    H = 4
    order = (0, 1, 2, 3) if kind == "lstm" else (1, 0, 2)  # Keras block j holds rnngrad block order[j]
    rows = lambda w, k: w[k * H : (k + 1) * H]  # noqa: E731
    for j, k in enumerate(order):
        np.testing.assert_array_equal(weights[0][:, j * H : (j + 1) * H], rows(params["weight_ih"], k).T)
        np.testing.assert_array_equal(weights[1][:, j * H : (j + 1) * H], rows(params["weight_hh"], k).T)
        if cell.bias and kind == "gru" and cell.reset_after:
            np.testing.assert_array_equal(weights[2][0, j * H : (j + 1) * H], rows(params["bias_ih"], k))
            np.testing.assert_array_equal(weights[2][1, j * H : (j + 1) * H], rows(params["bias_hh"], k))
        elif cell.bias:
            summed = rows(params["bias_ih"], k) + rows(params["bias_hh"], k)
            np.testing.assert_array_equal(weights[2][j * H : (j + 1) * H], summed)
    assert len(weights) == (3 if cell.bias else 2)


@pytest.mark.parametrize("kind, options", CELLS)
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("learn", [False, True])
def test_keras_round_trip_gives_the_same_function_and_params(kind, options, layers, bidirectional, learn):
    model = _model(kind, options, num_layers=layers, bidirectional=bidirectional, learn_initial_state=learn)
    params = model.init(3)
    back = interop.from_keras(model, interop.to_keras(model, params))
    assert sorted(back) == sorted(params)
    exact = kind == "gru" and options.get("reset_after", True)
    for key, value in params.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        if exact or not key.startswith("bias_"):
            np.testing.assert_array_equal(back[key], value, err_msg=key)
    if not exact and model.bias:
        for key in params:
            if key.startswith("bias_hh"):
                np.testing.assert_array_equal(back[key], 0.0)
                ih = key.replace("bias_hh", "bias_ih")
                np.testing.assert_allclose(back[ih], params[ih] + params[key], rtol=1e-15)
    x = np.random.default_rng(1).normal(size=(4, 2, 3))
    np.testing.assert_allclose(model(back, x)[0], model(params, x)[0], rtol=1e-12, atol=1e-13)


def test_keras_round_trip_keeps_float32():
    model = rnngrad.GRU(3, 4, bidirectional=True)
    params = model.init(0, dtype=np.float32)
    back = interop.from_keras(model, interop.to_keras(model, params))
    assert {v.dtype for v in back.values()} == {np.dtype(np.float32)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_refuses_an_array_of_the_right_size_and_the_wrong_shape(dtype):
    """A transposed weight has every number and the wrong layout: the check is on shapes, not sizes."""
    model = rnngrad.GRU(3, 4)
    params = model.init(0, dtype=dtype)
    with tempfile.TemporaryDirectory() as folder:
        flipped = dict(params, weight_ih_l0=params["weight_ih_l0"].T.copy())
        path = io.save_params(os.path.join(folder, "flipped"), flipped)
        with pytest.raises(ValueError, match=r"'weight_ih_l0' has shape \(3, 12\), the model expects \(12, 3\)"):
            io.load_params(path, model)
        path = io.save_params(os.path.join(folder, "right"), params)
        assert_same_tree(io.load_params(path, model, dtype=dtype), params)
