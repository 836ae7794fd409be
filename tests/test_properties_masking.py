"""Masking and direction: which steps count, in which order, and where a run may be cut.

One mechanism (a boolean mask over (T, B)) carries lengths, arbitrary masks,
the reverse direction and truncated backpropagation through time. Its theory:
a masked step does not exist for the sequence (padding is invisible, even to
gradients); a prefix mask is a shorter sequence; the reverse direction is the
forward one on each sequence flipped within its own length; and a run can be
cut anywhere and continued from the carried state.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import given
from hypothesis import strategies as st
from property_support import assert_trees_close, impl_for, impl_param, rebuild, scaled, with_edge_cases

from rnngrad.testing import flip_within_lengths, probe_loss, problems

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")

MASKED = ("lengths", "mask")


def _noise(problem, seed):
    return np.random.default_rng(seed).uniform(-5, 5, size=problem.x.shape)


def _repad(problem, seed):
    """x with every masked step replaced by noise."""
    return np.where(problem.valid[..., None], problem.x, _noise(problem, seed))


@impl_param()
@with_edge_cases(extra={"seed": 0})
@given(problem=problems(masking=MASKED, initial_state=None), seed=st.integers(0, 2**16))
def test_inputs_at_masked_steps_change_no_output_state_or_parameter_gradient(problem, seed, impl):
    """Padding invariance: what sits at a masked step is invisible to values and to parameter gradients."""
    impl = impl_for(problem.model, impl)
    padded = _repad(problem, seed)
    assert_trees_close(problem.run(x=padded, impl=impl), problem.run(impl=impl), rtol=1e-13, atol=1e-14)
    gradients = [grad(lambda p, x=x: probe_loss(*problem.run(p, x, impl=impl)))(problem.params) for x in (padded, None)]
    assert_trees_close(gradients[0], gradients[1], rtol=1e-12, atol=1e-14)


@impl_param()
@with_edge_cases()
@given(problem=problems(masking=MASKED, initial_state=None))
def test_gradient_of_inputs_at_masked_steps_is_exactly_zero(problem, impl):
    """No gradient leaks into padding: d loss / d x[t, b] is exactly 0 wherever the mask is false."""
    impl = impl_for(problem.model, impl)
    d_x = grad(lambda x: probe_loss(*problem.run(x=x, impl=impl)))(problem.x)
    assert np.all(d_x[~problem.valid] == 0.0)


@with_edge_cases()
@given(problem=problems(masking=MASKED, initial_state=None))
def test_outputs_at_masked_steps_are_exactly_zero(problem):
    """A masked step emits zeros (as torch's padded output does), in every direction and layer."""
    output, _ = problem.run()
    assert np.all(output[~problem.valid] == 0.0)


@with_edge_cases(initial_state=True)
@given(problem=problems(masking=("mask",), initial_state=True))
def test_sequence_with_every_step_masked_returns_its_initial_state(problem):
    """A sequence with no valid step (length 0) keeps its initial state in every layer and direction."""
    mask = problem.valid.copy()
    mask[:, 0] = False
    output, final = problem.replace(mask=mask, lengths=None).run()
    finals = final if isinstance(final, tuple) else (final,)
    initial = problem.initial_state if isinstance(problem.initial_state, tuple) else (problem.initial_state,)
    for got, start in zip(finals, initial):
        np.testing.assert_array_equal(got[:, 0], start[:, 0])
    assert not np.any(output[:, 0])


@with_edge_cases()
@given(problem=problems(masking=("lengths",), initial_state=None))
def test_lengths_equal_the_prefix_mask_they_describe(problem):
    """lengths=L and mask[t, b] = t < L[b] are one and the same call."""
    assert_trees_close(problem.replace(lengths=None, mask=problem.valid).run(), problem.run(), rtol=0, atol=0)


@with_edge_cases()
@given(problem=problems(masking=("lengths",), initial_state=None))
def test_prefix_mask_equals_truncating_each_sequence_to_its_length(problem):
    """Packed-sequence semantics: sequence b with length L_b is the run on x[:L_b, b] alone, zero-padded."""
    output, final = problem.run()
    for b, length in enumerate(_lengths(problem)):
        state = _state_rows(problem.initial_state, (slice(None), slice(b, b + 1)))
        alone_output, alone_final = problem.model(problem.params, problem.x[:length, b : b + 1], initial_state=state)
        assert_trees_close(alone_output[:, 0], output[:length, b])
        assert not np.any(output[length:, b])
        finals = final if isinstance(final, tuple) else (final,)
        alone_finals = alone_final if isinstance(alone_final, tuple) else (alone_final,)
        assert_trees_close([f[:, 0] for f in alone_finals], [f[:, b] for f in finals])


def _direction(problem, direction):
    """The single-layer unidirectional model with the weights of one direction of a bidirectional layer."""
    model = rebuild(problem.model, bidirectional=False)
    suffix = "_reverse" if direction else ""
    params = {key: problem.params[key + suffix] for key in model.param_shapes()}
    return model, params


def _state_rows(state, rows):
    if state is None:
        return None
    return tuple(s[rows] for s in state) if isinstance(state, tuple) else state[rows]


def _lengths(problem):
    return np.full(problem.batch, problem.num_steps) if problem.lengths is None else problem.lengths


@impl_param()
@with_edge_cases(bidirectional=True, num_layers=1)
@given(problem=problems(bidirectional=True, max_layers=1, masking=("none", "lengths")))
def test_reverse_direction_equals_flipping_within_lengths_running_forward_flipping_back(problem, impl):
    """reverse(x) = flip(forward(flip(x))), each sequence flipped within its own length (padding stays put)."""
    model, params = _direction(problem, 1)
    lengths, width = _lengths(problem), model.output_size
    output, final = problem.run(impl=impl_for(problem.model, impl))
    flipped_output, flipped_final = model(
        params,
        flip_within_lengths(problem.x, lengths),
        lengths=lengths,
        initial_state=_state_rows(problem.initial_state, slice(1, 2)),
    )
    assert_trees_close(output[..., width:], flip_within_lengths(flipped_output, lengths))
    finals = final if isinstance(final, tuple) else (final,)
    flipped = flipped_final if isinstance(flipped_final, tuple) else (flipped_final,)
    assert_trees_close([f[1] for f in finals], [f[0] for f in flipped])


@impl_param()
@with_edge_cases(bidirectional=True, num_layers=1)
@given(problem=problems(bidirectional=True, max_layers=1))
def test_forward_half_of_a_bidirectional_layer_equals_the_unidirectional_run(problem, impl):
    """A bidirectional layer is two independent runs side by side: [forward || backward], forward first."""
    model, params = _direction(problem, 0)
    output, final = problem.run(impl=impl_for(problem.model, impl))
    uni_output, uni_final = model(
        params,
        problem.x,
        lengths=problem.lengths,
        mask=problem.mask,
        initial_state=_state_rows(problem.initial_state, slice(0, 1)),
    )
    assert_trees_close(output[..., : model.output_size], uni_output)
    finals = final if isinstance(final, tuple) else (final,)
    uni_finals = uni_final if isinstance(uni_final, tuple) else (uni_final,)
    assert_trees_close([f[:1] for f in finals], list(uni_finals))


@with_edge_cases()
@given(problem=problems(min_steps=0))
def test_stacked_model_equals_its_layers_run_one_after_another(problem):
    """Layer k reads layer k-1's output (directions concatenated) and owns rows k*N..k*N+N-1 of the states."""
    model, directions = problem.model, problem.model.num_directions
    state = problem.initial_state
    layer_input, finals = problem.x, []
    for k in range(model.num_layers):
        layer = rebuild(model, input_size=layer_input.shape[-1], num_layers=1)
        params = {key: problem.params[key.replace("_l0", f"_l{k}")] for key in layer.param_shapes()}
        rows = slice(k * directions, (k + 1) * directions)
        layer_state = (
            None if state is None else tuple(s[rows] for s in state) if isinstance(state, tuple) else state[rows]
        )
        layer_input, final = layer(
            params, layer_input, lengths=problem.lengths, mask=problem.mask, initial_state=layer_state
        )
        finals.append(final if isinstance(final, tuple) else (final,))
    output, final = problem.run()
    assert_trees_close(output, layer_input)
    stacked = [np.concatenate([f[i] for f in finals]) for i in range(len(finals[0]))]
    assert_trees_close(list(final) if isinstance(final, tuple) else [final], stacked)


@impl_param()
@with_edge_cases(bidirectional=False, extra={"cut": 1})
@scaled(0.8)
@given(problem=problems(bidirectional=False, min_steps=0, initial_state=None), cut=st.integers(0, 8))
def test_split_anywhere_and_continue_from_the_carried_state_equals_one_run(problem, cut, impl):
    """Truncated BPTT's premise: run(x[:s]) then run(x[s:], from its final state) = run(x), values and gradients."""
    impl = impl_for(problem.model, impl)
    cut = min(cut, problem.num_steps)
    mask = problem.valid

    def whole(params, state):
        return problem.model(params, problem.x, mask=mask, initial_state=state, impl=impl)

    def in_two(params, state):
        first, carried = problem.model(params, problem.x[:cut], mask=mask[:cut], initial_state=state, impl=impl)
        second, final = problem.model(params, problem.x[cut:], mask=mask[cut:], initial_state=carried, impl=impl)
        return anp.concatenate([first, second]), final

    state = problem.initial_state
    if state is None:
        state = _zeros(problem)
    assert_trees_close(in_two(problem.params, state), whole(problem.params, state))
    gradients = [grad(lambda p, s, f=f: probe_loss(*f(p, s)), (0, 1))(problem.params, state) for f in (in_two, whole)]
    assert_trees_close(gradients[0], gradients[1])


def _zeros(problem):
    model = problem.model
    rows = model.num_layers * model.num_directions
    parts = tuple(np.zeros((rows, problem.batch, size)) for size in model.cells[0][0].state_sizes)
    return parts if len(parts) > 1 else parts[0]
