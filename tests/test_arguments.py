"""Fuzzing every public entry point with bad arguments.

Each entry of ``BAD_INPUTS`` is one class of bad input: one way of getting
one argument of one entry point wrong (a wrong rank, a float length, a
params dict with an extra key, ...). Hypothesis draws the model, the sizes
and the bad value itself; the contract is the same for every class:

* the call returns the correct result (the classes marked ``ok``: input that
  looks odd but has a meaning, such as float16 or T = 0), or
* it raises ValueError or TypeError whose message names the argument and the
  given value (its shape, dtype or repr, whichever the class is about).

No other exception (IndexError, KeyError, AttributeError, a NumPy
broadcasting error) may escape. ``docs/guarantees.rst`` states the number of
classes, which ``test_the_catalogue_has_the_documented_number_of_classes``
holds fixed.
"""

import pathlib
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnngrad
from rnngrad import interop


@dataclass
class Case:
    """One drawn call: ``call()`` must raise naming ``argument`` (and ``given``), or, if ``check``, succeed."""

    call: object
    argument: str
    given: str = None
    check: object = None


@dataclass
class Setup:
    model: object
    params: dict
    x: np.ndarray
    num_steps: int
    batch: int


@st.composite
def setups(draw, kinds=("RNN", "LSTM", "GRU"), **fixed):
    kind = draw(st.sampled_from(kinds), label="kind")
    options = dict(
        input_size=draw(st.integers(1, 3), label="D"),
        hidden_size=draw(st.integers(2, 3), label="H"),
        num_layers=draw(st.integers(1, 2), label="L"),
        bidirectional=draw(st.booleans(), label="bidirectional"),
        batch_first=draw(st.booleans(), label="batch_first"),
    )
    model = getattr(rnngrad, kind)(**(options | fixed))
    num_steps, batch = draw(st.integers(1, 4), label="T"), draw(st.integers(1, 3), label="B")
    shape = (batch, num_steps) if model.batch_first else (num_steps, batch)
    x = np.random.default_rng(0).normal(size=shape + (model.input_size,))
    return Setup(model, model.init(seed=0), x, num_steps, batch)


def call_model(setup, **changes):
    arguments = {"params": setup.params, "x": setup.x} | changes
    return lambda: setup.model(arguments.pop("params"), arguments.pop("x"), **arguments)


def same_as(setup, **reference):
    """A check: the result equals the model's on ``reference`` arguments (those the odd input means)."""

    def check(result):
        expected = call_model(setup, **reference)()
        for got, want in zip(_leaves(result), _leaves(expected)):
            np.testing.assert_array_equal(got, want)

    return check


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


BAD_INPUTS = {}


def bad_input(name, **setup_options):
    """Register a class: ``make(draw, setup) -> Case``."""

    def register(make):
        BAD_INPUTS[name] = (make, setup_options)
        return make

    return register


ODD_DTYPES = ["U3", "S2", "datetime64[s]", "timedelta64[s]", complex, bool]
NOT_ARRAYS = [None, {"a": 1}, {1, 2}, "text", object()]
NOT_BOOLS = [1, 0, "yes", None, 1.0, [True]]
NOT_INTS = [2.0, 2.5, "3", None, True, [2], np.float64(2.0)]
BAD_RATES = [-0.1, 1.0, 1.5, float("nan"), float("inf"), -np.inf]


def _shape(draw, rank, low=0, high=4):
    return tuple(draw(st.lists(st.integers(low, high), min_size=rank, max_size=rank), label="shape"))


# -- model calls: x ------------------------------------------------------------
@bad_input("x of a rank other than 2 or 3")
def _(draw, s):
    shape = _shape(draw, draw(st.sampled_from([0, 1, 4, 5])))
    return Case(call_model(s, x=np.zeros(shape)), "x", str(shape))


@bad_input("x with the wrong feature size")
def _(draw, s):
    shape = s.x.shape[:-1] + (draw(st.integers(0, 6).filter(lambda d: d != s.model.input_size)),)
    return Case(call_model(s, x=np.zeros(shape)), "x", str(shape))


@bad_input("x of a non-numeric, complex or boolean dtype")
def _(draw, s):
    dtype = np.dtype(draw(st.sampled_from(ODD_DTYPES)))
    return Case(call_model(s, x=np.zeros(s.x.shape, dtype)), "x", str(dtype))


@bad_input("x an object array")
def _(draw, s):
    x = np.empty(s.x.shape, dtype=object)
    x[...] = draw(st.sampled_from([None, 1.0, "a"]))
    return Case(call_model(s, x=x), "x", "object")


@bad_input("x a ragged nested list")
def _(draw, s):
    return Case(call_model(s, x=[[[0.0] * s.model.input_size], [[0.0]] * 2]), "x", "list")


@bad_input("x not an array at all")
def _(draw, s):
    return Case(call_model(s, x=draw(st.sampled_from(NOT_ARRAYS))), "x")


@bad_input("x with T = 0 (ok: empty output, the initial state back)")
def _(draw, s):
    x = np.zeros((s.batch, 0, s.model.input_size) if s.model.batch_first else (0, s.batch, s.model.input_size))

    def check(result):
        output, final = result
        assert output.size == 0
        assert all(np.all(f == 0) for f in _leaves(final))

    return Case(call_model(s, x=x), "x", check=check)


@bad_input("x with B = 0 (ok: empty output)")
def _(draw, s):
    x = np.zeros((0, s.num_steps, s.model.input_size) if s.model.batch_first else (s.num_steps, 0, s.model.input_size))
    return Case(call_model(s, x=x), "x", check=lambda result: all(leaf.size == 0 for leaf in _leaves(result)))


@bad_input("x of float16 or integers (ok: converted to the params' dtype)")
def _(draw, s):
    dtype = draw(st.sampled_from([np.float16, np.int8, np.int64, np.uint8]))
    x = (s.x * 3).astype(dtype)
    return Case(call_model(s, x=x), "x", check=same_as(s, x=x.astype(np.float64)))


@bad_input("x nested lists (ok: as the array)")
def _(draw, s):
    return Case(call_model(s, x=s.x.tolist()), "x", check=same_as(s))


# -- model calls: lengths and mask ---------------------------------------------
def _lengths(draw, s, elements):
    return draw(st.lists(elements, min_size=s.batch, max_size=s.batch), label="lengths")


@bad_input("lengths negative")
def _(draw, s):
    lengths = _lengths(draw, s, st.integers(-5, s.num_steps))
    lengths[draw(st.integers(0, s.batch - 1))] = draw(st.integers(-5, -1))
    return Case(call_model(s, lengths=lengths), "lengths", str(lengths))


@bad_input("lengths longer than T")
def _(draw, s):
    lengths = _lengths(draw, s, st.integers(0, s.num_steps))
    lengths[0] = s.num_steps + draw(st.integers(1, 3))
    return Case(call_model(s, lengths=lengths), "lengths", str(lengths))


@bad_input("lengths of floats")
def _(draw, s):
    lengths = _lengths(draw, s, st.sampled_from([0.0, 1.0, 1.5, float("nan")]))
    return Case(call_model(s, lengths=lengths), "lengths", "float64")


@bad_input("lengths of booleans")
def _(draw, s):
    return Case(call_model(s, lengths=_lengths(draw, s, st.booleans())), "lengths", "bool")


@bad_input("lengths of the wrong count")
def _(draw, s):
    count = draw(st.integers(0, 5).filter(lambda n: n != s.batch))
    return Case(call_model(s, lengths=[1] * count), "lengths", f"({count},)")


@bad_input("lengths of the wrong rank")
def _(draw, s):
    lengths = np.ones((1, s.batch), int) if draw(st.booleans()) else np.int64(1)
    return Case(call_model(s, lengths=lengths), "lengths", str(np.shape(lengths)))


@bad_input("lengths not numbers (strings, None, ragged)")
def _(draw, s):
    lengths = draw(st.sampled_from([["a"] * s.batch, [None] * s.batch, [[1], [1, 2]], "ab", {"a": 1}]))
    return Case(call_model(s, lengths=lengths), "lengths")


@bad_input("lengths and mask both given")
def _(draw, s):
    mask = np.ones((s.batch, s.num_steps) if s.model.batch_first else (s.num_steps, s.batch), bool)
    return Case(call_model(s, lengths=[1] * s.batch, mask=mask), "lengths")


def _mask_shape(s):
    return (s.batch, s.num_steps) if s.model.batch_first else (s.num_steps, s.batch)


@bad_input("mask of a non-boolean dtype")
def _(draw, s):
    dtype = np.dtype(draw(st.sampled_from([np.int64, np.uint8, np.float64, np.float32, "U1"])))
    return Case(call_model(s, mask=np.ones(_mask_shape(s), dtype)), "mask", str(dtype))


@bad_input("mask of the wrong shape")
def _(draw, s):
    shape = _shape(draw, draw(st.integers(0, 3)), 0, 5)
    if shape == _mask_shape(s):
        shape = shape + (1,)
    return Case(call_model(s, mask=np.ones(shape, bool)), "mask", str(shape))


@bad_input("mask not an array (None inside, ragged, a string)")
def _(draw, s):
    mask = draw(st.sampled_from([[None, True], [[True], [True, False]], "yes", {"a": 1}]))
    return Case(call_model(s, mask=mask), "mask")


@bad_input("mask as nested lists of booleans (ok: as the array)")
def _(draw, s):
    mask = np.random.default_rng(draw(st.integers(0, 9))).random(_mask_shape(s)) < 0.5
    return Case(call_model(s, mask=mask.tolist()), "mask", check=same_as(s, mask=mask))


# -- model calls: params -------------------------------------------------------
def _key(draw, s):
    return draw(st.sampled_from(sorted(s.params)), label="key")


@bad_input("params with an extra key")
def _(draw, s):
    extra = draw(st.sampled_from(["weight_ih_l9", "bias", "weight_hr_l0", "initial_h_l0"]))
    return Case(call_model(s, params=s.params | {extra: np.zeros(3)}), "params", extra)


@bad_input("params missing a key")
def _(draw, s):
    key = _key(draw, s)
    return Case(call_model(s, params={k: v for k, v in s.params.items() if k != key}), "params", key)


@bad_input("params with a misshaped array")
def _(draw, s):
    key = _key(draw, s)
    shape = _shape(draw, draw(st.integers(0, 3)), 0, 5)
    if shape == s.params[key].shape:
        shape = shape + (1,)
    return Case(call_model(s, params=s.params | {key: np.zeros(shape)}), key, str(shape))


@bad_input("params with an array of a non-float dtype")
def _(draw, s):
    key = _key(draw, s)
    dtype = np.dtype(draw(st.sampled_from([np.int64, np.float16, complex, bool, object, "U1"])))
    return Case(call_model(s, params=s.params | {key: np.zeros(s.params[key].shape, dtype)}), key, str(dtype))


@bad_input("params with a value that is not an array")
def _(draw, s):
    key = _key(draw, s)
    value = draw(st.sampled_from([s.params[key].tolist(), None, 1.0, "w", np.float64(1.0)]))
    return Case(call_model(s, params=s.params | {key: value}), key, type(value).__name__)


@bad_input("params mixing float32 and float64")
def _(draw, s):
    key = _key(draw, s)
    return Case(call_model(s, params=s.params | {key: s.params[key].astype(np.float32)}), "params", "float32")


@bad_input("params not a dict")
def _(draw, s):
    value = draw(st.sampled_from([list(s.params.values()), None, tuple(s.params), np.zeros(3), "params"]))
    return Case(call_model(s, params=value), "params", type(value).__name__)


@bad_input("params with a key that is not a string")
def _(draw, s):
    return Case(call_model(s, params=s.params | {draw(st.sampled_from([0, None, ("w", 0)])): np.zeros(1)}), "params")


# -- model calls: initial state and the other keywords -------------------------
def _state_shapes(s):
    rows = s.model.num_layers * s.model.num_directions
    return [(rows, s.batch, size) for size in s.model.cells[0][0].state_sizes]


def _initial_state(shapes, make=np.zeros):
    arrays = tuple(make(shape) for shape in shapes)
    return arrays[0] if len(arrays) == 1 else arrays


@bad_input("initial_state misshaped")
def _(draw, s):
    shapes = _state_shapes(s)
    i = draw(st.integers(0, len(shapes) - 1))
    shapes[i] = _shape(draw, draw(st.sampled_from([1, 2, 3, 4])), 1, 5)
    if shapes[i] == _state_shapes(s)[i]:
        shapes[i] = shapes[i] + (1,)
    return Case(call_model(s, initial_state=_initial_state(shapes)), "initial_state", str(shapes[i]))


@bad_input("initial_state of the wrong structure")
def _(draw, s):
    shapes = _state_shapes(s)
    count = draw(st.integers(0, 3).filter(lambda n: n != len(shapes) or n == 1))
    value = tuple(np.zeros(shapes[0]) for _ in range(count)) if len(shapes) > 1 else [np.zeros(shapes[0])] * 2
    return Case(call_model(s, initial_state=value), "initial_state")


@bad_input("initial_state of a non-numeric dtype")
def _(draw, s):
    dtype = draw(st.sampled_from(ODD_DTYPES + [object]))
    state = _initial_state(_state_shapes(s), lambda shape: np.zeros(shape, dtype))
    return Case(call_model(s, initial_state=state), "initial_state")


@bad_input("impl unknown")
def _(draw, s):
    impl = draw(st.sampled_from(["fast", "", "FUSED", 1, ["fused"]]))
    return Case(call_model(s, impl=impl), "impl", repr(impl))


@bad_input("impl='fused' for a cell without a fused kernel", kinds=("LSTM",), peephole=True)
def _(draw, s):
    return Case(call_model(s, impl="fused"), "impl", "PeepholeLSTMCell")


@bad_input("rng not a numpy Generator")
def _(draw, s):
    rng = draw(st.sampled_from([0, np.random.RandomState(0), "seed", 1.5]))
    return Case(call_model(s, rng=rng, train=True), "rng", type(rng).__name__)


@bad_input("train not a boolean")
def _(draw, s):
    return Case(call_model(s, train=draw(st.sampled_from(NOT_BOOLS))), "train")


@bad_input("train with dropout but no generator", num_layers=2, dropout=0.5)
def _(draw, s):
    return Case(call_model(s, train=True), "rng", "None")


@bad_input("an unknown keyword to a model call")
def _(draw, s):
    name = draw(st.sampled_from(["hx", "length", "masks", "seed", "batch_first"]))
    return Case(call_model(s, **{name: None}), name)


# -- constructors and init -----------------------------------------------------
MODEL_CLASSES = st.sampled_from([rnngrad.RNN, rnngrad.LSTM, rnngrad.GRU])


def _build(model_class, **changes):
    return lambda: model_class(**({"input_size": 2, "hidden_size": 3} | changes))


@bad_input("a size that is not an integer")
def _(draw, s):
    name = draw(st.sampled_from(["input_size", "hidden_size", "num_layers"]))
    value = draw(st.sampled_from(NOT_INTS))
    return Case(_build(draw(MODEL_CLASSES), **{name: value}), name, repr(value))


@bad_input("a size that is zero or negative")
def _(draw, s):
    name = draw(st.sampled_from(["input_size", "hidden_size", "num_layers"]))
    value = draw(st.integers(-3, 0))
    return Case(_build(draw(MODEL_CLASSES), **{name: value}), name, str(value))


@bad_input("a flag that is not a boolean")
def _(draw, s):
    model_class = draw(MODEL_CLASSES)
    flags = ["batch_first", "bidirectional", "bias", "residual", "learn_initial_state"]
    flags += {rnngrad.LSTM: ["peephole", "layer_norm"], rnngrad.GRU: ["reset_after", "layer_norm"]}.get(model_class, [])
    name = draw(st.sampled_from(flags))
    return Case(_build(model_class, **{name: draw(st.sampled_from(NOT_BOOLS))}), name)


@bad_input("a dropout rate outside [0, 1)")
def _(draw, s):
    name = draw(st.sampled_from(["dropout", "weight_dropout", "variational_dropout"]))
    value = draw(st.sampled_from(BAD_RATES))
    return Case(_build(draw(MODEL_CLASSES), **{name: value}), name, repr(value))


@bad_input("a dropout rate that is not a number")
def _(draw, s):
    name = draw(st.sampled_from(["dropout", "weight_dropout", "variational_dropout"]))
    return Case(_build(draw(MODEL_CLASSES), **{name: draw(st.sampled_from(["0.1", None, [0.1], True]))}), name)


@bad_input("a choice that is not one of the options")
def _(draw, s):
    model_class, name = draw(st.sampled_from([(rnngrad.RNN, "nonlinearity"), (rnngrad.GRU, "merge_mode")]))
    value = draw(st.sampled_from(["sigmoid", "", None, ["tanh"], 1]))
    return Case(_build(model_class, **{name: value}), name, repr(value))


@bad_input("proj_size out of range")
def _(draw, s):
    value = draw(st.sampled_from([-1, 3, 4, 2.0]))
    return Case(_build(rnngrad.LSTM, proj_size=value), "proj_size", repr(value))


@bad_input("an unknown keyword to a constructor")
def _(draw, s):
    name = draw(st.sampled_from(["hiden_size", "proj", "peepholes", "nonlinearity_fn"]))
    return Case(_build(draw(MODEL_CLASSES), **{name: 1}), name)


@bad_input("options that exclude each other")
def _(draw, s):
    model_class, options = draw(
        st.sampled_from(
            [
                (rnngrad.LSTM, {"peephole": True, "layer_norm": True}),
                (rnngrad.GRU, {"layer_norm": True, "reset_after": False}),
            ]
        )
    )
    return Case(_build(model_class, **options), "layer_norm")


@bad_input("Recurrent with a cell function that is not one or returns no Cell")
def _(draw, s):
    cell = draw(st.sampled_from([3, None, lambda d: 3, lambda d: rnngrad.GRUCell(d + 1, 2)]))
    return Case(lambda: rnngrad.Recurrent(cell, 2), "cell")


@bad_input("init with a bad seed")
def _(draw, s):
    seed = draw(st.sampled_from([1.5, "0", -1, [0], np.random.RandomState(0)]))
    return Case(lambda: s.model.init(seed=seed), "seed")


@bad_input("init with a dtype other than float32 or float64")
def _(draw, s):
    dtype = draw(st.sampled_from([np.float16, np.int32, complex, "junk", object, np.longdouble]))
    return Case(lambda: s.model.init(seed=0, dtype=dtype), "dtype")


@bad_input("init with an unknown weight initializer")
def _(draw, s):
    name = draw(st.sampled_from(["input_init", "recurrent_init"]))
    value = draw(st.sampled_from(["he", None, ["glorot"], 0]))
    return Case(lambda: s.model.init(seed=0, **{name: value}), name, repr(value))


@bad_input("init with a bad forget_bias")
def _(draw, s):
    value = draw(st.sampled_from(["1", np.ones(3), float("nan"), float("inf"), [1.0], True]))
    return Case(lambda: s.model.init(seed=0, forget_bias=value), "forget_bias")


@bad_input("init with an unknown keyword")
def _(draw, s):
    name = draw(st.sampled_from(["dtpye", "scale", "rng"]))
    return Case(lambda: s.model.init(seed=0, **{name: 1}), name)


# -- cells ---------------------------------------------------------------------
CELLS = st.sampled_from([rnngrad.RNNCell(2, 3), rnngrad.LSTMCell(2, 3), rnngrad.GRUCell(2, 3)])


def _cell_call(cell, **changes):
    arguments = {"params": cell.init(0), "x": np.zeros((2, 2)), "hx": None} | changes
    return lambda: cell(arguments["params"], arguments["x"], arguments["hx"])


@bad_input("cell x of the wrong shape")
def _(draw, s):
    shape = _shape(draw, draw(st.sampled_from([0, 1, 2, 3])), 0, 4)
    if shape in ((2,), (2, 2)) or (len(shape) == 2 and shape[1] == 2) or shape == (2,):
        shape = shape + (5,)
    return Case(_cell_call(draw(CELLS), x=np.zeros(shape)), "x", str(shape))


@bad_input("cell x of a non-numeric dtype")
def _(draw, s):
    dtype = np.dtype(draw(st.sampled_from(ODD_DTYPES + [object])))
    return Case(_cell_call(draw(CELLS), x=np.zeros((2, 2), dtype)), "x", str(dtype))


@bad_input("cell hx misshaped")
def _(draw, s):
    cell = draw(CELLS)
    shapes = [(2, size) for size in cell.state_sizes]
    shapes[-1] = draw(st.sampled_from([(3, 3), (2, 4), (2,), (1, 2, 3)]))
    hx = tuple(np.zeros(shape) for shape in shapes)
    return Case(_cell_call(cell, hx=hx[0] if len(hx) == 1 else hx), "hx", str(shapes[-1]))


@bad_input("cell hx of the wrong structure")
def _(draw, s):
    cell = draw(CELLS)
    hx = (np.zeros((2, 3)),) * 3 if len(cell.state_sizes) == 1 else draw(st.sampled_from([np.zeros((2, 3)), "h"]))
    return Case(_cell_call(cell, hx=hx), "hx")


@bad_input("cell params missing, extra or misshaped")
def _(draw, s):
    cell = draw(CELLS)
    params = cell.init(0)
    key = draw(st.sampled_from(sorted(params)))
    change = draw(st.sampled_from(["missing", "extra", "misshaped"]))
    if change == "missing":
        del params[key]
    else:
        params[key if change == "misshaped" else key + "_extra"] = np.zeros(7)
    return Case(_cell_call(cell, params=params), "params" if change != "misshaped" else key)


@bad_input("a cell constructor with bad sizes or options")
def _(draw, s):
    cell_class, options, name = draw(
        st.sampled_from(
            [
                (rnngrad.LSTMCell, {"input_size": 0}, "input_size"),
                (rnngrad.GRUCell, {"hidden_size": 2.0}, "hidden_size"),
                (rnngrad.RNNCell, {"nonlinearity": "sigmoid"}, "nonlinearity"),
                (rnngrad.LSTMCell, {"proj_size": 3}, "proj_size"),
                (rnngrad.GRUCell, {"bias": "yes"}, "bias"),
                (rnngrad.GRUCell, {"reset_after": 1}, "reset_after"),
            ]
        )
    )
    return Case(lambda: cell_class(**({"input_size": 2, "hidden_size": 3} | options)), name)


# -- the sequence module -------------------------------------------------------
def _unroll_call(a_cell, **changes):
    arguments = {
        "cell": a_cell,
        "params": a_cell.init(0),
        "inputs": np.zeros((4, 2, 2)),
        "state": a_cell.initial_state(2),
    } | changes
    return lambda: rnngrad.unroll(**arguments)


@bad_input("unroll with something that is not a cell")
def _(draw, s):
    cell = draw(CELLS)
    return Case(_unroll_call(cell, cell=draw(st.sampled_from([None, 3, "LSTMCell", rnngrad.LSTM(2, 3)]))), "cell")


@bad_input("unroll inputs of the wrong shape")
def _(draw, s):
    shape = draw(st.sampled_from([(4, 2), (4, 2, 3), (4, 2, 2, 1), ()]))
    return Case(_unroll_call(draw(CELLS), inputs=np.zeros(shape)), "inputs", str(shape))


@bad_input("unroll state not a tuple of the cell's arrays")
def _(draw, s):
    cell = draw(CELLS)
    state = draw(st.sampled_from([np.zeros((2, 3)), None, (), (np.zeros((2, 3)),) * 3]))
    return Case(_unroll_call(cell, state=state), "state")


@bad_input("unroll state misshaped")
def _(draw, s):
    cell = draw(CELLS)
    state = tuple(np.zeros((3, size)) for size in cell.state_sizes)
    return Case(_unroll_call(cell, state=state), "state[0]", "(3, 3)")


@bad_input("unroll mask of the wrong shape or dtype")
def _(draw, s):
    mask = draw(st.sampled_from([np.ones((2, 4), bool), np.ones((4, 2), int), np.ones(4, bool), "mask"]))
    return Case(_unroll_call(draw(CELLS), mask=mask), "mask")


@bad_input("unroll reverse not a boolean")
def _(draw, s):
    return Case(_unroll_call(draw(CELLS), reverse=draw(st.sampled_from(NOT_BOOLS))), "reverse")


def _stack_call(**changes):
    cell = rnngrad.GRUCell(2, 3)
    arguments = {
        "cells": [[cell]],
        "params": [[cell.init(0)]],
        "inputs": np.zeros((4, 2, 2)),
        "states": [[cell.initial_state(2)]],
    } | changes
    return lambda: rnngrad.stack(**arguments)


@bad_input("stack with cells, params or states not nested [layer][direction]")
def _(draw, s):
    name = draw(st.sampled_from(["cells", "params", "states"]))
    value = draw(st.sampled_from([None, [], [[]], rnngrad.GRUCell(2, 3), [[1, 2, 3]]]))
    return Case(_stack_call(**{name: value}), name)


@bad_input("stack with a bad rate, merge mode, residual or rng")
def _(draw, s):
    name, value = draw(
        st.sampled_from(
            [("dropout", 1.0), ("weight_dropout", -1.0), ("variational_dropout", "x"), ("merge_mode", "max")]
            + [("residual", 1), ("rng", 3)]
        )
    )
    return Case(_stack_call(**{name: value}), name)


@bad_input("stack layers whose widths do not chain")
def _(draw, s):
    first, second = rnngrad.GRUCell(2, 3), rnngrad.GRUCell(draw(st.sampled_from([2, 4, 6])), 3)
    call = _stack_call(
        cells=[[first], [second]],
        params=[[first.init(0)], [second.init(0)]],
        states=[[first.initial_state(2)], [second.initial_state(2)]],
    )
    return Case(call, "cells[1][0]", "input_size=3")


@bad_input("lengths_to_mask with bad lengths or num_steps")
def _(draw, s):
    lengths, num_steps, name = draw(
        st.sampled_from(
            [([1, 2], -1, "num_steps"), ([1, 2], 2.5, "num_steps"), ("ab", 3, "lengths"), ([[1, 2]], 3, "lengths")]
            + [([1, 5], 3, "lengths"), ([1.0], 3, "lengths"), (None, 3, "lengths"), ([-1], 3, "lengths")]
        )
    )
    return Case(lambda: rnngrad.lengths_to_mask(lengths, num_steps), name)


# -- interop -------------------------------------------------------------------
KERAS_MODELS = st.sampled_from([rnngrad.LSTM(2, 3), rnngrad.GRU(2, 3, bidirectional=True), rnngrad.GRU(2, 3, 2)])


@bad_input("to_keras with something that is not a model")
def _(draw, s):
    return Case(lambda: interop.to_keras(draw(st.sampled_from([None, 3, rnngrad.LSTMCell(2, 3)])), {}), "model")


@bad_input("to_keras with params missing, extra or misshaped")
def _(draw, s):
    model = draw(KERAS_MODELS)
    params = model.init(0)
    key = draw(st.sampled_from(sorted(params)))
    change = draw(st.sampled_from(["missing", "extra", "misshaped", "not a dict"]))
    if change == "missing":
        del params[key]
    elif change == "not a dict":
        params = list(params.values())
    else:
        params[key if change == "misshaped" else key + "_extra"] = np.zeros((1, 1))
    return Case(lambda: interop.to_keras(model, params), "params" if change != "misshaped" else key)


@bad_input("to_keras for a cell Keras cannot hold")
def _(draw, s):
    model = draw(
        st.sampled_from([rnngrad.RNN(2, 3), rnngrad.LSTM(2, 3, proj_size=2), rnngrad.GRU(2, 3, layer_norm=True)])
    )
    return Case(lambda: interop.to_keras(model, model.init(0)), "cell")


@bad_input("from_keras weights not nested [layer][direction]")
def _(draw, s):
    model = draw(KERAS_MODELS)
    weights = draw(st.sampled_from([None, 3, [3], [[3]], [], [[[1.0]]]]))
    return Case(lambda: interop.from_keras(model, weights), "weights")


@bad_input("from_keras weights misshaped")
def _(draw, s):
    model = draw(KERAS_MODELS)
    weights = interop.to_keras(model, model.init(0))
    layer = weights[-1][-1]
    layer[draw(st.integers(0, len(layer) - 1))] = np.zeros((draw(st.integers(1, 3)), 1), np.float32)
    return Case(lambda: interop.from_keras(model, weights), "weights")


@bad_input("from_keras weights of a non-float dtype")
def _(draw, s):
    model = draw(KERAS_MODELS)
    weights = interop.to_keras(model, model.init(0))
    dtype = draw(st.sampled_from([np.int64, "U1", object, complex]))
    weights[0][0] = [np.zeros(w.shape, dtype) for w in weights[0][0]]
    return Case(lambda: interop.from_keras(model, weights), "weights[0][0]", str(np.dtype(dtype)))


# -- unbatched calls (x of shape (T, D)) ------------------------------------------
def _unbatched(s, **changes):
    return call_model(s, x=s.x[:, 0] if not s.model.batch_first else s.x[0], **changes)


@bad_input("unbatched x with lengths that are not one integer in [0, T]")
def _(draw, s):
    lengths = draw(st.sampled_from([[[1], [1, 2]], [1, 1], "a", 1.5, s.num_steps + 1, -1, {"a": 1}]))
    return Case(_unbatched(s, lengths=lengths), "lengths")


@bad_input("unbatched x with a mask of the wrong shape")
def _(draw, s):
    shape = draw(st.sampled_from([(s.num_steps, 1), (1, s.num_steps), (s.num_steps + 1,), ()]))
    return Case(_unbatched(s, mask=np.ones(shape, bool)), "mask", str(shape))


@bad_input("unbatched x with a batched initial_state")
def _(draw, s):
    shapes = [(rows, 1, size) for rows, _, size in _state_shapes(s)]
    return Case(_unbatched(s, initial_state=_initial_state(shapes)), "initial_state", str(shapes[0]))


# -- the contract ---------------------------------------------------------------
def test_the_guarantees_page_states_the_number_of_classes_fuzzed():
    """docs/guarantees.rst says how many classes of bad input are fuzzed; the figure must be this catalogue's."""
    page = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "guarantees.rst").read_text()
    stated = re.search(r"\*\*(\d+) distinct classes of bad input\*\*", page)
    assert stated is not None, "docs/guarantees.rst no longer states the number of classes of bad input"
    assert int(stated.group(1)) == len(BAD_INPUTS)


def _examples():
    # a few examples per class: the classes multiply the examples, the profile sets the base count
    return settings(max_examples=max(2, settings().max_examples // 5))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(BAD_INPUTS))
@_examples()
@given(data=st.data())
def test_a_bad_argument_gives_the_right_answer_or_a_named_value_or_type_error(name, data):
    make, setup_options = BAD_INPUTS[name]
    setup = data.draw(setups(**setup_options), label="setup")
    case = data.draw(st.composite(lambda draw: make(draw, setup))(), label="case")
    try:
        result = case.call()
    except (ValueError, TypeError) as error:
        message = str(error)
        assert case.check is None, f"{name}: this input has a meaning, but the call raised {error!r}"
        assert case.argument in message, f"{name}: the message does not name {case.argument!r}: {message}"
        if case.given is not None:
            assert case.given in message, f"{name}: the message does not show the given {case.given!r}: {message}"
    except Exception as error:  # the contract: nothing but ValueError and TypeError
        pytest.fail(f"{name}: {type(error).__name__} escaped: {error}")
    else:
        assert case.check is not None, f"{name}: a bad {case.argument} was accepted, giving {result!r:.200}"
        case.check(result)
