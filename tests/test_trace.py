"""The trace: a model's every step by layer, direction and name, equal to the plain call."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnngrad
from rnngrad.testing import problems
from rnngrad.trace import trace

VARIANTS = [
    lambda: rnngrad.LSTM(3, 4, peephole=True),
    lambda: rnngrad.LSTM(3, 4, layer_norm=True, proj_size=2),
    lambda: rnngrad.GRU(3, 4, reset_after=False, bidirectional=True),
    lambda: rnngrad.GRU(3, 4, layer_norm=True),
    lambda: rnngrad.Recurrent(lambda width: rnngrad.MGUCell(width, 4), 3, num_layers=2),
    lambda: rnngrad.LSTM(3, 4, num_layers=2, bidirectional=True, merge_mode="sum", residual=True),
]
GATES = {
    rnngrad.LSTMCell: "ifgo",
    rnngrad.PeepholeLSTMCell: "ifgo",
    rnngrad.LayerNormLSTMCell: "ifgo",
    rnngrad.GRUCell: "rzn",
    rnngrad.LayerNormGRUCell: "rzn",
    rnngrad.MGUCell: "fn",
    rnngrad.RNNCell: "",
}


def _as_tuple(final):
    return final if isinstance(final, tuple) else (final,)


def _assert_trace_equals_the_call(record, output, final):
    np.testing.assert_allclose(record.output, output, rtol=1e-11, atol=1e-13)
    for got, expected in zip(_as_tuple(record.final), _as_tuple(final), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)


def _trace(problem):
    return trace(
        problem.model,
        problem.params,
        problem.x,
        lengths=problem.lengths,
        mask=problem.mask,
        initial_state=problem.initial_state,
    )


@settings(max_examples=30)
@given(problem=problems(), impl=st.sampled_from(["fused", "reference"]))
def test_trace_output_and_final_state_equal_the_plain_call(problem, impl):
    record = _trace(problem)
    output, final = problem.run(impl=impl)
    _assert_trace_equals_the_call(record, output, final)


@settings(max_examples=30)
@given(problem=problems())
def test_recorded_states_are_the_states_the_model_holds(problem):
    """The last layer's h after step t equals the output at t; at the last step of a forward direction, h_n."""
    record = _trace(problem)
    model = problem.model
    h = record.values("h", layer=-1, direction=0)
    if model.merge_mode == "concat" and not model.residual:
        width = model.cells[-1][0].output_size
        forward_output = record.output[..., :width]
        valid = record.mask[..., None]
        np.testing.assert_allclose(np.where(valid, h, 0.0), forward_output, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("build", VARIANTS)
def test_every_cell_shows_its_gates_in_range_and_nan_at_padding(build):
    model = build()
    params = model.init(0)
    x = np.random.default_rng(0).normal(size=(5, 3, 3))
    lengths = [5, 2, 0]
    record = trace(model, params, x, lengths=lengths)
    _assert_trace_equals_the_call(record, *model(params, x, lengths=lengths))
    for k, layer in enumerate(model.cells):
        for d, cell in enumerate(layer):
            names = set(record.records[k][d])
            assert names == set(cell.state_names) | set(GATES[type(cell)])
            for name in GATES[type(cell)]:
                values = record.values(name, layer=k, direction=d)
                assert np.isnan(values[~record.mask]).all()
                inside = values[record.mask]
                low = -1.0 if name in "gn" else 0.0
                assert ((inside >= low) & (inside <= 1.0)).all(), name


def test_states_hold_at_masked_steps():
    model = rnngrad.LSTM(2, 3, bidirectional=True)
    params = model.init(1)
    x = np.random.default_rng(1).normal(size=(6, 2, 2))
    mask = np.array([[1, 1], [0, 1], [1, 0], [0, 0], [1, 1], [1, 0]], dtype=bool)
    record = trace(model, params, x, mask=mask)
    for direction in (0, 1):
        c = record.values("c", layer=0, direction=direction)
        steps = range(1, 6) if direction == 0 else range(4, -1, -1)
        for t in steps:
            before = t - 1 if direction == 0 else t + 1
            held = ~mask[t]
            np.testing.assert_array_equal(c[t][held], c[before][held])


def test_a_cell_without_gates_shows_its_states_and_batch_first_layout_follows_the_call():
    model = rnngrad.RNN(2, 3, batch_first=True)
    params = model.init(0)
    x = np.random.default_rng(2).normal(size=(2, 4, 2))
    record = trace(model, params, x, lengths=[4, 1])
    assert set(record.records[0][0]) == {"h"}
    assert record.values("h").shape == (2, 4, 3)
    np.testing.assert_allclose(record.output, model(params, x, lengths=[4, 1])[0], rtol=1e-12)


def test_trace_names_a_missing_record_and_refuses_a_non_model():
    model = rnngrad.GRU(2, 3)
    record = trace(model, model.init(0), np.zeros((2, 1, 2)))
    with pytest.raises(KeyError, match="name: expected one of"):
        record.values("c")
    with pytest.raises(TypeError, match="model"):
        trace(rnngrad.GRUCell(2, 3), {}, np.zeros((2, 1, 2)))
