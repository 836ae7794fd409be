"""Every wrong input named in the contract raises ValueError or TypeError naming the argument."""

import numpy as np
import pytest

import rnngrad

LSTM = rnngrad.LSTM(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
PARAMS = LSTM.init(seed=0)
X = np.zeros((5, 2, 3))


def _with(**changes):
    params = dict(PARAMS)
    for key, value in changes.items():
        if value is None:
            del params[key]
        else:
            params[key] = value
    return params


CALL_ERRORS = [
    # (description, call kwargs, exception, words the message must contain)
    ("x of rank 4", {"x": np.zeros((5, 2, 3, 1))}, ValueError, ["x", "(5, 2, 3, 1)"]),
    ("x of rank 1", {"x": np.zeros(3)}, ValueError, ["x", "(3,)"]),
    ("x feature size", {"x": np.zeros((5, 2, 7))}, ValueError, ["x", "input_size=3", "(5, 2, 7)"]),
    ("x of strings", {"x": np.full((5, 2, 3), "a")}, TypeError, ["x", "dtype"]),
    ("x of objects", {"x": np.empty((5, 2, 3), dtype=object)}, TypeError, ["x", "dtype"]),
    ("lengths too long", {"lengths": [6, 1]}, ValueError, ["lengths", "[0, 5]", "[6, 1]"]),
    ("lengths negative", {"lengths": [-1, 1]}, ValueError, ["lengths", "[0, 5]"]),
    ("lengths not B long", {"lengths": [1, 2, 3]}, ValueError, ["lengths", "(2,)", "(3,)"]),
    ("lengths of floats", {"lengths": [1.0, 2.0]}, TypeError, ["lengths", "float64"]),
    ("mask of wrong shape", {"mask": np.ones((2, 5), bool)}, ValueError, ["mask", "(5, 2)", "(2, 5)"]),
    ("mask not boolean", {"mask": np.ones((5, 2))}, TypeError, ["mask", "float64"]),
    ("lengths and mask", {"lengths": [1, 2], "mask": np.ones((5, 2), bool)}, ValueError, ["lengths", "mask"]),
    ("params missing a key", {"params": _with(weight_hh_l1=None)}, ValueError, ["params", "missing", "weight_hh_l1"]),
    ("params unknown key", {"params": _with(weight_hh_l2=np.zeros((16, 4)))}, ValueError, ["params", "weight_hh_l2"]),
    ("params misshaped", {"params": _with(bias_ih_l0=np.zeros(15))}, ValueError, ["bias_ih_l0", "(16,)", "(15,)"]),
    ("params mixed dtypes", {"params": _with(bias_ih_l0=np.zeros(16, np.float32))}, TypeError, ["params", "float32"]),
    ("params integer", {"params": _with(bias_ih_l0=np.zeros(16, int))}, TypeError, ["bias_ih_l0", "int64"]),
    ("params a list value", {"params": _with(bias_ih_l0=[0.0] * 16)}, TypeError, ["bias_ih_l0", "list"]),
    ("params not a dict", {"params": [1, 2]}, TypeError, ["params", "list"]),
    ("initial_state not a tuple", {"initial_state": np.zeros((4, 2, 4))}, TypeError, ["initial_state", "tuple"]),
    (
        "initial_state misshaped",
        {"initial_state": (np.zeros((4, 2, 4)), np.zeros((2, 2, 4)))},
        ValueError,
        ["initial_state[1]", "(4, 2, 4)", "(2, 2, 4)"],
    ),
    ("impl unknown", {"impl": "fast"}, ValueError, ["impl", "fast"]),
    ("rng not a generator", {"rng": 3}, TypeError, ["rng", "int"]),
    ("train not a bool", {"train": "yes"}, TypeError, ["train"]),
]


@pytest.mark.parametrize("description, kwargs, error, words", CALL_ERRORS, ids=[c[0] for c in CALL_ERRORS])
def test_bad_call_argument_raises_named_error(description, kwargs, error, words):
    kwargs = dict(kwargs)
    params = kwargs.pop("params", PARAMS)
    x = kwargs.pop("x", X)
    with pytest.raises(error) as info:
        LSTM(params, x, **kwargs)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


CONSTRUCTOR_ERRORS = [
    (lambda: rnngrad.LSTM(0, 4), ValueError, ["input_size", "0"]),
    (lambda: rnngrad.LSTM(3, 4.5), TypeError, ["hidden_size", "4.5"]),
    (lambda: rnngrad.LSTM(3, 4, num_layers=0), ValueError, ["num_layers"]),
    (lambda: rnngrad.LSTM(3, 4, dropout=1.0), ValueError, ["dropout", "[0, 1)"]),
    (lambda: rnngrad.LSTM(3, 4, dropout=-0.1), ValueError, ["dropout"]),
    (lambda: rnngrad.LSTM(3, 4, proj_size=4), ValueError, ["proj_size", "hidden_size=4"]),
    (lambda: rnngrad.LSTM(3, 4, bidirectional="no"), TypeError, ["bidirectional"]),
    (lambda: rnngrad.RNN(3, 4, nonlinearity="sigmoid"), ValueError, ["nonlinearity", "sigmoid"]),
    (lambda: rnngrad.GRU(3, 4, bias=None), TypeError, ["bias"]),
    (lambda: rnngrad.GRU(3, 4).init(dtype=np.int32), TypeError, ["dtype", "int32"]),
    (lambda: rnngrad.GRU(3, 4).init(seed="a"), TypeError, ["seed", "str"]),
]


@pytest.mark.parametrize("build, error, words", CONSTRUCTOR_ERRORS)
def test_bad_constructor_argument_raises_named_error(build, error, words):
    with pytest.raises(error) as info:
        build()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_training_with_dropout_needs_a_generator():
    model = rnngrad.GRU(3, 4, num_layers=2, dropout=0.5)
    params = model.init(seed=0)
    with pytest.raises(ValueError, match="rng"):
        model(params, X, train=True)


def test_dropout_only_in_training_and_reproducible_by_seed():
    model = rnngrad.GRU(3, 4, num_layers=2, dropout=0.5)
    params = model.init(seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    evaluation = model(params, x)[0]
    np.testing.assert_array_equal(model(params, x, rng=np.random.default_rng(1))[0], evaluation)
    first = model(params, x, train=True, rng=np.random.default_rng(1))[0]
    second = model(params, x, train=True, rng=np.random.default_rng(1))[0]
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, evaluation)


CELL_ERRORS = [
    ({"x": np.zeros((2, 5))}, ValueError, ["x", "(B, 3)", "(2, 5)"]),
    ({"hx": np.zeros((2, 4))}, TypeError, ["hx", "tuple"]),
    ({"hx": (np.zeros((2, 4)), np.zeros((3, 4)))}, ValueError, ["hx[1]", "(2, 4)", "(3, 4)"]),
]


@pytest.mark.parametrize("kwargs, error, words", CELL_ERRORS)
def test_bad_cell_argument_raises_named_error(kwargs, error, words):
    cell = rnngrad.LSTMCell(3, 4)
    kwargs = {"x": np.zeros((2, 3))} | kwargs
    with pytest.raises(error) as info:
        cell(cell.init(0), **kwargs)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_float32_params_compute_in_float32():
    model = rnngrad.LSTM(3, 4, num_layers=2, bidirectional=True)
    params = model.init(seed=0, dtype=np.float32)
    out, (h_n, c_n) = model(params, X.astype(np.float16), lengths=[5, 2])
    assert out.dtype == h_n.dtype == c_n.dtype == np.float32


def test_models_are_immutable():
    with pytest.raises(AttributeError, match="immutable"):
        LSTM.hidden_size = 8


def test_sizes_given_as_numpy_integers_are_stored_as_python_ints():
    cell = rnngrad.LSTMCell(np.int64(3), np.int64(4), bias=np.bool_(True), proj_size=np.int64(2))
    assert repr(cell) == "LSTMCell(input_size=3, hidden_size=4, bias=True, proj_size=2)"
    assert cell == rnngrad.LSTMCell(3, 4, proj_size=2)
