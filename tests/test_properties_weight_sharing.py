"""Weight sharing: one cell, the same weights at every step, every sequence on its own.

A recurrent network is one cell applied at every time step with the same
weights. Three consequences are checked here: the model equals an explicit
Python loop over its cells; the gradient for the shared weights is the sum,
over time, of the gradients for per-step untied copies (the chain rule for a
weight used T times); and the sequences of a batch never see each other.
"""

import numpy as np
import pytest
from autograd import grad
from hypothesis import given
from hypothesis import strategies as st
from property_support import assert_trees_close, impl_for, impl_param, scaled, with_edge_cases

from rnngrad.testing import loop_over_model, probe_loss, problems

pytestmark = pytest.mark.filterwarnings("ignore:Output seems independent of input")


def _mask(problem):
    return None if problem.lengths is None and problem.mask is None else problem.valid


@impl_param()
@with_edge_cases()
@given(problem=problems(initial_state=None))
def test_model_equals_an_explicit_loop_over_its_cells(problem, impl):
    """Stacking, both directions, masks and initial states: the model is literally the per-sequence loop."""
    expected = loop_over_model(
        problem.model, problem.params, problem.x, mask=_mask(problem), initial_state=problem.initial_state
    )
    assert_trees_close(problem.run(impl=impl_for(problem.model, impl)), expected)


@impl_param()
@with_edge_cases()
@scaled(0.6)
@given(problem=problems(initial_state=None, max_steps=4))
def test_shared_weight_gradient_is_the_sum_of_untied_per_step_gradients(problem, impl):
    """d loss / d W = sum_t d loss / d W_t, where W_t is a private copy of W used only at step t."""
    model, impl = problem.model, impl_for(problem.model, impl)
    mask = _mask(problem)

    def untied(copies):
        return probe_loss(*loop_over_model(model, copies, problem.x, mask=mask, initial_state=problem.initial_state))

    copies = [{k: v.copy() for k, v in problem.params.items()} for _ in range(problem.num_steps)]
    per_step = grad(untied)(copies) if problem.num_steps else []
    summed = {k: sum((g[k] for g in per_step), np.zeros_like(v)) for k, v in problem.params.items()}
    shared = grad(lambda p: probe_loss(*problem.run(p, impl=impl)))(problem.params)
    assert_trees_close(shared, summed, rtol=1e-9, atol=1e-12)


def _row(problem, b):
    """Problem b of the batch alone: its inputs, its length or mask, its initial state."""
    state = problem.initial_state
    if state is not None:
        state = tuple(s[:, b : b + 1] for s in state) if isinstance(state, tuple) else state[:, b : b + 1]
    return problem.replace(
        x=problem.x[:, b : b + 1],
        lengths=None if problem.lengths is None else problem.lengths[b : b + 1],
        mask=None if problem.mask is None else problem.mask[:, b : b + 1],
        initial_state=state,
    )


def _rows(final, index):
    return tuple(f[:, index] for f in final) if isinstance(final, tuple) else final[:, index]


@with_edge_cases()
@given(problem=problems(initial_state=None))
def test_each_sequence_of_a_batch_equals_that_sequence_run_alone(problem):
    """Batch independence: nothing flows between the rows of a batch (B = 1 and B > 1 agree)."""
    output, final = problem.run()
    for b in range(problem.batch):
        alone_output, alone_final = _row(problem, b).run()
        assert_trees_close((alone_output, alone_final), (output[:, b : b + 1], _rows(final, slice(b, b + 1))))


@with_edge_cases(extra={"seed": 1})
@given(problem=problems(initial_state=None), seed=st.integers(0, 2**16))
def test_permuting_the_batch_permutes_outputs_and_final_states(problem, seed):
    """Permutation equivariance: the model treats the batch as a set of independent sequences."""
    order = np.random.default_rng(seed).permutation(problem.batch)
    if np.array_equal(order, np.arange(problem.batch)):
        order = np.roll(order, 1)  # a permutation that moves something, whenever B > 1
    state = problem.initial_state
    if state is not None:
        state = tuple(s[:, order] for s in state) if isinstance(state, tuple) else state[:, order]
    permuted = problem.replace(
        x=problem.x[:, order],
        lengths=None if problem.lengths is None else problem.lengths[order],
        mask=None if problem.mask is None else problem.mask[:, order],
        initial_state=state,
    )
    output, final = problem.run()
    assert_trees_close(permuted.run(), (output[:, order], _rows(final, order)))
