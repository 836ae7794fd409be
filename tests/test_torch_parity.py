"""rnngrad gives torch.nn's numbers, given torch's weights: values and gradients to 1e-10."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import example, given

import rnngrad

pytest.importorskip("torch")
from property_support import parity_problems  # noqa: E402
from torch_reference import (
    torch,  # noqa: E402
    torch_run,  # noqa: E402
)

MODELS = {"rnn": rnngrad.RNN, "lstm": rnngrad.LSTM, "gru": rnngrad.GRU}
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _problem_arrays(kind, options, steps, batch, seed, with_state):
    model = MODELS[kind](**options)
    rng = np.random.default_rng(seed)
    params = model.init(rng)
    shape = (batch, steps, options["input_size"]) if options["batch_first"] else (steps, batch, options["input_size"])
    x = rng.normal(size=shape)
    rows = model.num_layers * model.num_directions
    sizes = model.cells[0][0].state_sizes
    state = tuple(rng.normal(size=(rows, batch, s)) for s in sizes) if with_state else None
    if state is not None and kind != "lstm":
        state = state[0]
    return model, rng, params, x, state


def _rnngrad_run(model, params, x, lengths, state, cotangents, impl=None):
    """Outputs, final states and the gradient of the cotangent loss w.r.t. (params, x[, state])."""

    def loss(args):
        out, final = model(
            args[0], args[1], lengths=lengths, initial_state=args[2] if len(args) > 2 else None, impl=impl
        )
        finals = final if isinstance(final, tuple) else (final,)
        total = anp.sum(out * cotangents[0])
        for f, w in zip(finals, cotangents[1:]):
            total = total + anp.sum(f * w)
        return total

    out, final = model(params, x, lengths=lengths, initial_state=state, impl=impl)
    grads = grad(loss)((params, x) if state is None else (params, x, state))
    return out, (final if isinstance(final, tuple) else (final,)), grads


def assert_parity(kind, options, steps, batch, lengths, seed, with_state, impl=None):
    """rnngrad (with ``impl``) and torch agree on outputs, final states and every gradient."""
    model, rng, params, x, state = _problem_arrays(kind, options, steps, batch, seed, with_state)
    cot = _cotangents(model, x, rng)
    out, finals, grads = _rnngrad_run(model, params, x, lengths, state, cot, impl)
    t_out, t_finals, t_grads = torch_run(kind, options, params, x, lengths, state, cot)
    np.testing.assert_allclose(out, t_out, **TOL, err_msg="output")
    for i, (mine, theirs) in enumerate(zip(finals, t_finals)):
        np.testing.assert_allclose(mine, theirs, **TOL, err_msg=f"final state {i}")
    for key in params:
        np.testing.assert_allclose(grads[0][key], t_grads[key], **TOL, err_msg=f"d loss / d {key}")
    np.testing.assert_allclose(grads[1], t_grads["x"], **TOL, err_msg="d loss / d x")
    if state is not None:
        g_state = grads[2] if isinstance(grads[2], tuple) else (grads[2],)
        for i, (mine, theirs) in enumerate(zip(g_state, t_grads["initial_state"])):
            np.testing.assert_allclose(mine, theirs, **TOL, err_msg=f"d loss / d initial_state[{i}]")


def _cotangents(model, x, rng):
    batch_first = model.batch_first
    steps, batch = (x.shape[1], x.shape[0]) if batch_first else x.shape[:2]
    out_shape = (batch, steps, model.output_size) if batch_first else (steps, batch, model.output_size)
    rows = model.num_layers * model.num_directions
    sizes = model.cells[-1][0].state_sizes
    return (rng.normal(size=out_shape),) + tuple(rng.normal(size=(rows, batch, s)) for s in sizes)


@pytest.mark.parametrize("impl", ["fused", "reference"])
@given(problem=parity_problems())
@example(
    problem=(
        "lstm",
        {
            "input_size": 3,
            "hidden_size": 4,
            "num_layers": 2,
            "bias": True,
            "batch_first": False,
            "bidirectional": True,
            "proj_size": 2,
        },
        5,
        3,
        [5, 1, 3],
        0,
        True,
    )
)
@example(
    problem=(
        "gru",
        {"input_size": 2, "hidden_size": 3, "num_layers": 3, "bias": False, "batch_first": True, "bidirectional": True},
        4,
        2,
        [1, 4],
        1,
        False,
    )
)
@example(
    problem=(
        "rnn",
        {
            "input_size": 1,
            "hidden_size": 1,
            "num_layers": 1,
            "bias": True,
            "batch_first": False,
            "bidirectional": False,
            "nonlinearity": "relu",
        },
        1,
        1,
        None,
        2,
        True,
    )
)
def test_model_matches_torch_values_and_gradients(problem, impl):
    assert_parity(*problem, impl=impl)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_zero_length_sequence_returns_initial_state_and_zero_outputs(kind):
    """torch refuses length 0; rnngrad returns h_0 and zeros, and the other rows still match torch."""
    options = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}
    model, rng, params, x, state = _problem_arrays(kind, options | {"batch_first": False}, 5, 3, 7, True)
    lengths = [5, 0, 2]
    out, final = model(params, x, lengths=lengths, initial_state=state)
    finals = final if isinstance(final, tuple) else (final,)
    states = state if isinstance(state, tuple) else (state,)
    assert np.all(out[:, 1] == 0)
    for f, s in zip(finals, states):
        np.testing.assert_array_equal(f[:, 1], s[:, 1])
    keep = [0, 2]
    kept_state = tuple(s[:, keep] for s in states)
    t_out, t_finals, _ = torch_run(
        kind, options, params, x[:, keep], [5, 2], kept_state if kind == "lstm" else kept_state[0]
    )
    np.testing.assert_allclose(out[:, keep], t_out, **TOL)
    for f, t in zip(finals, t_finals):
        np.testing.assert_allclose(f[:, keep], t, **TOL)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_unbatched_input_matches_torch(kind):
    options = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True}
    model = MODELS[kind](**options)
    rng = np.random.default_rng(3)
    params = model.init(rng)
    x = rng.normal(size=(6, 3))
    out, final = model(params, x)
    t_out, t_finals, _ = torch_run(kind, options, params, x)
    np.testing.assert_allclose(out, t_out, **TOL)
    finals = final if isinstance(final, tuple) else (final,)
    for f, t in zip(finals, t_finals):
        assert f.shape == t.shape
        np.testing.assert_allclose(f, t, **TOL)


CELLS = {
    "rnn": (rnngrad.RNNCell, "RNNCell"),
    "lstm": (rnngrad.LSTMCell, "LSTMCell"),
    "gru": (rnngrad.GRUCell, "GRUCell"),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch_cell(kind, bias):
    ours, theirs = CELLS[kind]
    cell = ours(3, 5, bias=bias)
    rng = np.random.default_rng(4)
    params = cell.init(rng)
    t_cell = getattr(torch.nn, theirs)(3, 5, bias=bias).double()
    assert list(t_cell.state_dict()) == list(params)
    t_cell.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    x = rng.normal(size=(2, 3))
    state = tuple(rng.normal(size=(2, s)) for s in cell.state_sizes)
    hx = state if kind == "lstm" else state[0]
    t_hx = tuple(torch.from_numpy(s) for s in state) if kind == "lstm" else torch.from_numpy(state[0])
    mine = cell(params, x, hx)
    expected = t_cell(torch.from_numpy(x), t_hx)
    mine = mine if isinstance(mine, tuple) else (mine,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    for m, e in zip(mine, expected):
        np.testing.assert_allclose(m, e.detach().numpy(), **TOL)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_param_keys_and_shapes_are_torch_state_dict(kind):
    options = {"input_size": 3, "hidden_size": 4, "num_layers": 3, "bidirectional": True, "bias": False}
    if kind == "lstm":
        options["proj_size"] = 2
    t_module = getattr(torch.nn, {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[kind])(**options)
    shapes = MODELS[kind](**options).param_shapes()
    assert list(shapes) == list(t_module.state_dict())
    assert all(tuple(t_module.state_dict()[k].shape) == shape for k, shape in shapes.items())
