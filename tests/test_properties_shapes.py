"""Shapes and dtypes: what comes out has the shape and dtype the configuration promises."""

import numpy as np
import pytest
from autograd import grad
from hypothesis import given
from property_support import impl_for, impl_param, rebuild, with_edge_cases

from rnngrad.testing import probe_loss, problems

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

ANY_LAYOUT = problems(batch_first=None, batched=None)


def expected_shapes(problem):
    model = problem.model
    rows, width = model.num_layers * model.num_directions, model.output_size
    batch_axes = ()
    if problem.batched:
        batch_axes = (problem.batch,)
    if not problem.batched:
        output = (problem.num_steps, width)
    elif model.batch_first:
        output = (problem.batch, problem.num_steps, width)
    else:
        output = (problem.num_steps, problem.batch, width)
    finals = tuple((rows,) + batch_axes + (size,) for size in model.cells[0][0].state_sizes)
    return output, finals


@with_edge_cases()
@given(problem=ANY_LAYOUT)
def test_output_and_final_state_shapes_follow_the_configuration(problem):
    """output is (T, B, N*O) ((B, T, N*O) batch-first, (T, N*O) unbatched); h_n (L*N, B, O); c_n (L*N, B, H)."""
    output, final = problem.run()
    expected_output, expected_finals = expected_shapes(problem)
    finals = final if isinstance(final, tuple) else (final,)
    assert output.shape == expected_output
    assert tuple(f.shape for f in finals) == expected_finals


@impl_param()
@with_edge_cases()
@given(problem=ANY_LAYOUT)
def test_gradients_have_the_shapes_of_what_they_differentiate(problem, impl):
    """d loss / d params has each parameter's shape and key; d loss / d x has the shape of x."""
    impl = impl_for(problem.model, impl)
    grads = grad(lambda p, x: probe_loss(*problem.run(p, x, impl=impl)), (0, 1))(problem.params, problem.x)
    assert {k: v.shape for k, v in grads[0].items()} == {k: v.shape for k, v in problem.params.items()}
    assert grads[1].shape == problem.x.shape


@impl_param()
@with_edge_cases(dtype=np.float32, initial_state=True)
@given(problem=problems(dtype=np.float32, batch_first=None, batched=None, initial_state=True))
def test_float32_in_gives_float32_out_and_float32_gradients(problem, impl):
    """The parameters' dtype is the computation's: float32 values, states and every gradient stay float32."""
    impl = impl_for(problem.model, impl)
    output, final = problem.run(impl=impl)
    finals = final if isinstance(final, tuple) else (final,)
    assert output.dtype == np.float32 and all(f.dtype == np.float32 for f in finals)
    grads = grad(lambda p, x, s: probe_loss(*problem.run(p, x, s, impl=impl)), (0, 1, 2))(
        problem.params, problem.x, problem.initial_state
    )
    assert all(g.dtype == np.float32 for g in grads[0].values())
    assert grads[1].dtype == np.float32
    states = grads[2] if isinstance(grads[2], tuple) else (grads[2],)
    assert all(g.dtype == np.float32 for g in states)


@given(problem=problems(dtype=np.float32, initial_state=True))
def test_float32_run_agrees_with_float64_run_to_single_precision(problem):
    """Only the precision changes with the dtype, not the function: float32 and float64 agree to ~1e-5."""
    as64 = problem.replace(
        params={k: v.astype(np.float64) for k, v in problem.params.items()},
        x=problem.x.astype(np.float64),
        initial_state=_astype(problem.initial_state, np.float64),
    )
    single, double = problem.run(), as64.run()
    np.testing.assert_allclose(single[0], double[0], rtol=1e-4, atol=1e-5)
    for a, b in zip(_tuple(single[1]), _tuple(double[1])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@with_edge_cases(batch_first=True)
@given(problem=problems(batch_first=True, initial_state=None))
def test_batch_first_run_is_the_time_major_run_transposed(problem):
    """batch_first only changes the layout of x, mask and output, never the numbers (states stay (L*N, B, H))."""
    time_major = rebuild(problem.model, batch_first=False)
    mask = None if problem.mask is None else problem.mask.T
    output, final = problem.run()
    expected_output, expected_final = time_major(
        problem.params,
        np.swapaxes(problem.x, 0, 1),
        lengths=problem.lengths,
        mask=mask,
        initial_state=problem.initial_state,
    )
    np.testing.assert_array_equal(output, np.swapaxes(expected_output, 0, 1))
    for a, b in zip(_tuple(final), _tuple(expected_final)):
        np.testing.assert_array_equal(a, b)


@with_edge_cases(batched=False, lengths=None)
@given(problem=problems(batched=False, batch_first=None))
def test_unbatched_input_is_a_batch_of_one(problem):
    """An unbatched (T, D) input gives the batched run of that one sequence with the B axis dropped."""
    model = problem.model
    batch_axis = 0 if model.batch_first else 1
    mask = None if problem.mask is None else np.expand_dims(problem.mask, batch_axis)
    lengths = None if problem.lengths is None else [problem.lengths]
    state = problem.initial_state
    state = None if state is None else tuple(s[:, None] for s in _tuple(state))
    if state is not None and len(state) == 1:
        state = state[0]
    output, final = problem.run()
    batched_output, batched_final = model(
        problem.params, np.expand_dims(problem.x, batch_axis), lengths=lengths, mask=mask, initial_state=state
    )
    np.testing.assert_allclose(output, np.squeeze(batched_output, batch_axis), rtol=1e-13, atol=1e-15)
    for a, b in zip(_tuple(final), _tuple(batched_final)):
        np.testing.assert_allclose(a, b[:, 0], rtol=1e-13, atol=1e-15)


def _tuple(value):
    return value if isinstance(value, tuple) else (value,)


def _astype(state, dtype):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.astype(dtype) for s in state)
    return state.astype(dtype)
