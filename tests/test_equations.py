"""Every cell and every model computes its documented equations (rnngrad.testing.equations).

The reference is a second transcription of the docstrings' math in plain
NumPy, sharing no code with rnngrad.cells; so these properties hold each
variant to its equations, where the rest of the suite holds the fused and
the reference paths to each other. Parameters are drawn uniformly in
[-1, 1] for every entry, the layer-norm gains and shifts and the peephole
diagonals included: at their initial values (gains 1, shifts 0) a dropped
gain or shift would not show.
"""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from property_support import scaled

import rnngrad
from rnngrad.testing import random_params, variant_cells, variant_models
from rnngrad.testing.equations import (
    gru_step,
    layer_norm,
    lstm_step,
    reference_model,
    reference_sequence,
    reference_step,
    sigmoid,
)

RTOL, ATOL = 1e-11, 1e-12


@scaled(4)
@given(cell=variant_cells(), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 3))
def test_each_cell_step_equals_its_docstring_equations(cell, seed, batch):
    rng = np.random.default_rng(seed)
    params = random_params(cell.param_shapes(), rng)
    x = rng.uniform(-2, 2, (batch, cell.input_size))
    state = tuple(rng.uniform(-1, 1, (batch, size)) for size in cell.state_sizes)
    output, new_state = cell.step(params, x, state)
    expected_output, expected_state = reference_step(cell, params, x, state)
    np.testing.assert_allclose(output, expected_output, rtol=RTOL, atol=ATOL)
    assert len(new_state) == len(expected_state)
    for got, want in zip(new_state, expected_state):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    called = cell(params, x, state if len(state) > 1 else state[0])
    called = called if isinstance(called, tuple) else (called,)
    for got, want in zip(called, expected_state):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _model_call(draw, model, rng):
    """``(x, call keywords)`` in the model's layout: lengths, a mask or neither; an initial state or not."""
    num_steps = draw(st.integers(0, 4), label="num_steps")
    batched = draw(st.booleans(), label="batched")
    batch = draw(st.integers(1, 3), label="batch") if batched else 1
    shape = (num_steps, model.input_size)
    if batched:
        shape = (batch, num_steps, model.input_size) if model.batch_first else (num_steps, batch, model.input_size)
    x = rng.uniform(-2, 2, shape)
    keywords = {}
    masking = draw(st.sampled_from(["none", "lengths", "mask"]), label="masking")
    if masking == "lengths":
        lengths = rng.integers(0, num_steps + 1, batch)
        keywords["lengths"] = lengths if batched else int(lengths[0])
    elif masking == "mask":
        mask = rng.random((num_steps, batch)) < 0.6
        keywords["mask"] = mask[:, 0] if not batched else mask.T if model.batch_first else mask
    if draw(st.booleans(), label="initial_state"):
        rows = model.num_layers * model.num_directions
        sizes = model.cells[0][0].state_sizes
        parts = tuple(rng.uniform(-1, 1, (rows, batch, size) if batched else (rows, size)) for size in sizes)
        keywords["initial_state"] = parts[0] if len(parts) == 1 else parts
    return x, keywords


def assert_model_results_close(got, want):
    out, final = got
    want_out, want_final = want
    np.testing.assert_allclose(out, want_out, rtol=RTOL, atol=ATOL, err_msg="output")
    finals = final if isinstance(final, tuple) else (final,)
    want_finals = want_final if isinstance(want_final, tuple) else (want_final,)
    assert len(finals) == len(want_finals)
    for i, (a, b) in enumerate(zip(finals, want_finals)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"final state {i}")


@scaled(4)
@given(data=st.data(), impl=st.sampled_from([None, "reference"]))
def test_each_model_output_and_final_state_equal_the_equations(data, impl):
    model = data.draw(variant_models(), label="model")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    params = random_params(model.param_shapes(), rng, scale=0.8)
    x, keywords = _model_call(data.draw, model, rng)
    got = model(params, x, impl=impl, **keywords)
    assert_model_results_close(got, reference_model(model, params, x, **keywords))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_fused_models_equal_the_equations_bidirectional_with_ragged_lengths(kind):
    """The fused kernels (built-in RNN, LSTM, GRU) against the equations, both directions, every layer."""
    rng = np.random.default_rng(7)
    model = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}[kind](3, 4, num_layers=2, bidirectional=True)
    params = random_params(model.param_shapes(), rng)
    x = rng.uniform(-2, 2, (5, 4, 3))
    lengths = np.array([5, 2, 0, 4])
    got = model(params, x, lengths=lengths, impl="fused")
    assert_model_results_close(got, reference_model(model, params, x, lengths=lengths))


@scaled(2)
@given(cell=variant_cells(), seed=st.integers(0, 2**32 - 1), reverse=st.booleans())
def test_unroll_equals_the_equations_over_any_mask(cell, seed, reverse):
    rng = np.random.default_rng(seed)
    params = random_params(cell.param_shapes(), rng)
    x = rng.uniform(-2, 2, (4, 3, cell.input_size))
    state = tuple(rng.uniform(-1, 1, (3, size)) for size in cell.state_sizes)
    mask = rng.random((4, 3)) < 0.6
    outputs, final = rnngrad.unroll(cell, params, x, state, mask=mask, reverse=reverse)
    want_outputs, want_final = reference_sequence(cell, params, x, state, mask=mask, reverse=reverse)
    np.testing.assert_allclose(outputs, want_outputs, rtol=RTOL, atol=ATOL)
    for got, want in zip(final, want_final):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# -- the transcription itself, against values worked out by hand -----------------------------


def test_transcribed_sigmoid_and_layer_norm_match_their_definitions():
    a = np.array([-30.0, -1.0, 0.0, 2.0, 30.0])
    np.testing.assert_allclose(sigmoid(a), 1.0 / (1.0 + np.exp(-a)), rtol=1e-14, atol=1e-300)
    values = np.array([[1.0, 2.0, 3.0, 6.0]])
    normed = layer_norm(values, np.array(2.0), np.array(0.5))
    # mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
    np.testing.assert_allclose(normed, 2.0 * (values - 3.0) / np.sqrt(3.5 + 1e-5) + 0.5, rtol=1e-15)


def test_transcribed_lstm_and_gru_match_a_hand_computed_unit():
    """H = D = 1 with unit weights: every gate's value can be written down."""
    ones = {name: np.ones(shape) for name, shape in rnngrad.LSTMCell(1, 1).param_shapes().items()}
    x, h, c = np.array([[0.5]]), np.array([[0.25]]), np.array([[-1.0]])
    pre = 0.5 + 1 + 0.25 + 1  # x w + b_ih + h w + b_hh
    s = 1 / (1 + np.exp(-pre))
    c_new = s * -1.0 + s * np.tanh(pre)
    h_new, c_got = lstm_step(ones, x, h, c)
    np.testing.assert_allclose(c_got, [[c_new]], rtol=1e-14)
    np.testing.assert_allclose(h_new, [[s * np.tanh(c_new)]], rtol=1e-14)
    gru = {name: np.ones(shape) for name, shape in rnngrad.GRUCell(1, 1).param_shapes().items()}
    r = z = s
    n_after = np.tanh(0.5 + 1 + r * (0.25 + 1))
    n_before = np.tanh(0.5 + 1 + r * 0.25 + 1)
    np.testing.assert_allclose(gru_step(gru, x, h), [[(1 - z) * n_after + z * 0.25]], rtol=1e-14)
    np.testing.assert_allclose(gru_step(gru, x, h, reset_after=False), [[(1 - z) * n_before + z * 0.25]], rtol=1e-14)


def test_reference_step_refuses_a_cell_it_has_no_equations_for():
    class Custom(rnngrad.LSTMCell):
        pass

    with pytest.raises(NotImplementedError, match="Custom"):
        reference_step(Custom(1, 1), Custom(1, 1).init(0), np.zeros((1, 1)), (np.zeros((1, 1)),) * 2)


@pytest.mark.parametrize(
    "cls, options",
    [
        (rnngrad.RNNCell, {"nonlinearity": "relu", "bias": False}),
        (rnngrad.LSTMCell, {"proj_size": 1}),
        (rnngrad.PeepholeLSTMCell, {"proj_size": 1}),
        (rnngrad.LayerNormLSTMCell, {"proj_size": 1, "bias": False}),
        (rnngrad.GRUCell, {"reset_after": False, "bias": True}),
        (rnngrad.LayerNormGRUCell, {"bias": False}),
        (rnngrad.MGUCell, {"bias": False}),
    ],
)
def test_variant_cells_draws_every_variant_and_option(cls, options):
    found = find(
        variant_cells(),
        lambda cell: type(cell) is cls and all(getattr(cell, key) == value for key, value in options.items()),
        settings=settings(max_examples=2000, database=None),
    )
    assert type(found) is cls


@pytest.mark.parametrize(
    "options",
    [
        {"peephole": True},
        {"layer_norm": True, "cls": rnngrad.GRU},
        {"reset_after": False},
        {"merge_mode": "mean", "bidirectional": True, "residual": True, "num_layers": 3},
        {"merge_mode": "sum", "learn_initial_state": True, "batch_first": True},
    ],
)
def test_variant_models_draws_every_variant_and_option(options):
    options = dict(options)
    cls = options.pop("cls", None)
    found = find(
        variant_models(),
        lambda model: (
            (cls is None or type(model) is cls)
            and all(getattr(model, key, None) == value for key, value in options.items())
        ),
        settings=settings(max_examples=2000, database=None),
    )
    assert all(getattr(found, key) == value for key, value in options.items())


@scaled(1)
@given(cell=variant_cells(), seed=st.integers(0, 2**32 - 1))
def test_an_unbatched_cell_call_from_zeros_equals_the_equations(cell, seed):
    """torch's cell interface: ``cell(params, x)`` with x (D,) and no state starts from zeros, returns (S,) arrays."""
    rng = np.random.default_rng(seed)
    params = random_params(cell.param_shapes(), rng)
    x = rng.uniform(-2, 2, cell.input_size)
    zeros = tuple(np.zeros((1, size)) for size in cell.state_sizes)
    _, expected = reference_step(cell, params, x[None], zeros)
    got = cell(params, x)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for part, want in zip(got, expected):
        assert part.shape == want.shape[1:]
        np.testing.assert_allclose(part, want[0], rtol=RTOL, atol=ATOL)
